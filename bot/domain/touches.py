"""An SDR's touch of a lead: recorded, and the first-touch clock stopped."""

import logging
from datetime import datetime

from sqlmodel import Session

from bot.domain import sla
from bot.models import Lead, LeadMoment

logger = logging.getLogger(__name__)

TOUCHED = "touched"


class LeadGone(LookupError):
    """No lead with this ID (a click on an alert about a forgotten lead)."""


def record_touch(
    lead_id: int, *, user_id: str, session: Session, now: datetime
) -> Lead:
    """Store who touched the lead and when; its first-touch clocks stop."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise LeadGone(lead_id)
    session.add(LeadMoment(lead_id=lead_id, kind=TOUCHED, at=now, user_id=user_id))
    stopped = sla.stop_clocks(
        "first_touch", lead_id=lead_id, at=now, user_id=user_id, session=session
    )
    logger.info(
        "lead touched lead_id=%s user_id=%s clocks_stopped=%s",
        lead_id,
        user_id,
        len(stopped),
    )
    return lead
