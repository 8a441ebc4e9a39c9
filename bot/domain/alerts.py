"""High-intent alerts: the moments a lead's SDR must hear of at once, sent once."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from bot.models import Lead, LeadMoment


@dataclass(frozen=True)
class Alert:
    """One pending high-intent moment with the lead it is about."""

    moment: LeadMoment
    lead: Lead

    @property
    def user_id(self) -> str:
        return self.moment.user_id


def _pending():
    return (
        LeadMoment.kind == "high_intent",
        LeadMoment.user_id.is_not(None),
        LeadMoment.notified_at.is_(None),
    )


def take_pending(*, session: Session, now: datetime) -> list[Alert]:
    """Pending alerts, marked as sent so that no other run sends them too."""
    taken = session.scalars(
        update(LeadMoment)
        .where(*_pending())
        .values(notified_at=now)
        .returning(LeadMoment.id)
    ).all()
    if not taken:
        return []
    statement = (
        select(LeadMoment, Lead)
        .join(Lead, Lead.id == LeadMoment.lead_id)
        .where(LeadMoment.id.in_(taken))
        .order_by(LeadMoment.user_id, LeadMoment.at, LeadMoment.id)
    )
    return [Alert(moment, lead) for moment, lead in session.execute(statement)]


def release(moment_ids: list[int], *, session: Session) -> None:
    """Make alerts pending again after a send that surely did not happen."""
    session.execute(
        update(LeadMoment).where(LeadMoment.id.in_(moment_ids)).values(notified_at=None)
    )
