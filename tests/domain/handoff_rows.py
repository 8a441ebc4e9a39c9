"""SQL handoffs for domain tests, made the way an SDR makes them."""

from datetime import datetime

from bot.config import Config
from bot.db import session_scope
from bot.domain.decisions import record_decision
from bot.domain.interviews import (
    SUBMITTED,
    finish_interview,
    record_level,
    start_interview,
)
from tests.factories import add_lead

STRONG = {"pain": 3, "budget": 3, "authority": 3, "timeline": 3}


def add_handoff(
    engine, config: Config, number: int, *, now: datetime, sdr: str, **lead
) -> int:
    """Qualify a new lead as an SQL; the handoff's ID comes back."""
    lead_id = add_lead(
        engine,
        email=f"lead{number}@northwind.example",
        company=f"Northwind {number}",
        domain=f"northwind{number}.example",
        **lead,
    )
    with session_scope(engine) as session:
        interview_id = start_interview(
            lead_id, sdr, "D0SDR1", session=session, config=config, now=now
        ).id
        for criterion, level in STRONG.items():
            record_level(
                interview_id, criterion, level, user_id=sdr, session=session, now=now
            )
        state = finish_interview(
            interview_id, SUBMITTED, user_id=sdr, session=session, now=now
        )
        result = record_decision(state, session=session, config=config, now=now)
        return result.handoff.id
