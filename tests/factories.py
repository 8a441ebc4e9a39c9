"""Rows for tests to start from, written straight to the database."""

from datetime import datetime, timedelta

from bot.db import session_scope, utcnow
from bot.models import Event, Lead


def add_lead(engine, **fields) -> int:
    values = {
        "email": "dana@northwind.example",
        "name": "Dana Lee",
        "title": "VP Operations",
        "company": "Northwind",
        "domain": "northwind.example",
        "industry": "Software",
        "employees": 400,
        "country": "US",
    }
    values.update(fields)
    with session_scope(engine) as session:
        lead = Lead(**values)
        session.add(lead)
        session.flush()
        return lead.id


def add_events(
    engine, lead_id: int, *named: tuple[str, float], now: datetime | None = None
) -> None:
    """Events given as (name, days ago)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        for index, (name, days_ago) in enumerate(named):
            session.add(
                Event(
                    lead_id=lead_id,
                    name=name,
                    occurred_at=now - timedelta(days=days_ago),
                    dedupe_key=f"{lead_id}-{index}-{name}-{days_ago}",
                )
            )
