"""MQLs: leads whose engagement and fit cross the bar, claimed by one SDR."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlmodel import Session

from bot.config import Config
from bot.db import insert_ignoring_conflicts
from bot.domain import sla
from bot.domain.engagement import EngagementAssessment, assess_leads
from bot.domain.fit import assess_fit
from bot.models import Lead, LeadMoment, Mql

logger = logging.getLogger(__name__)

OPEN_STATUSES = ("new", "posting", "posted", "claimed")


class MqlNotFound(LookupError):
    """No MQL with this ID (a click on a message of a forgotten lead)."""


@dataclass(frozen=True)
class ClaimResult:
    mql: Mql
    lead: Lead
    # False: someone else claimed it first; mql.claimed_by says who.
    is_won: bool


def is_hand_raiser(
    engagement: EngagementAssessment, config: Config, now: datetime
) -> bool:
    """A high-intent signal recent enough to skip the score bar."""
    recent = now - timedelta(days=config.mql.hand_raiser_days)
    at = engagement.high_intent_at
    return at is not None and at >= recent


def mql_candidates(lead_ids, *, session: Session) -> list[Lead]:
    """The leads among `lead_ids` that could become MQLs: no SDR, no open MQL."""
    return list(
        session.scalars(
            select(Lead)
            .where(
                Lead.id.in_(set(lead_ids)),
                Lead.sdr_user_id.is_(None),
                ~select(Mql.id)
                .where(Mql.lead_id == Lead.id, Mql.status.in_(OPEN_STATUSES))
                .exists(),
            )
            .order_by(Lead.id)
        )
    )


def detect_mqls(
    lead_ids,
    *,
    session: Session,
    config: Config,
    now: datetime,
    engagement: dict[int, EngagementAssessment] | None = None,
) -> list[Mql]:
    """Record the leads among `lead_ids` that just became MQLs.

    A lead already claimed by an SDR, or with an MQL still open, is skipped;
    the partial unique index on open MQLs makes concurrent detections of one
    lead record it once. `engagement` may hold assessments made already.
    """
    leads = mql_candidates(lead_ids, session=session)
    engagement = dict(engagement or {})
    missing = [lead.id for lead in leads if lead.id not in engagement]
    if missing:
        engagement |= assess_leads(
            missing, session=session, config=config.engagement, now=now
        )

    created = []
    for lead in leads:
        mql = _mql_for(lead, engagement[lead.id], config, now)
        if mql is not None and _record(mql, session, config):
            created.append(mql)
    return created


def _mql_for(
    lead: Lead, engagement: EngagementAssessment, config: Config, now: datetime
) -> Mql | None:
    fit = assess_fit(config.icp, lead.industry, lead.employees, lead.country)
    fit_ok = config.mql.min_fit == 0 or (
        fit.level is not None and fit.level >= config.mql.min_fit
    )
    if engagement.level >= config.mql.min_engagement and fit_ok:
        reason = "score"
    elif is_hand_raiser(engagement, config, now):
        reason = "hand_raiser"
    else:
        return None
    return Mql(
        lead_id=lead.id,
        reached_at=now,
        reason=reason,
        engagement_level=engagement.level,
        fit_level=fit.level,
        signals=[signal.describe(now) for signal in engagement.signals[:4]],
    )


def _record(mql: Mql, session: Session, config: Config) -> bool:
    values = mql.model_dump(exclude={"id"})
    mql_id = insert_ignoring_conflicts(session, Mql, values)
    if mql_id is None:
        return False
    mql.id = mql_id
    session.add(
        LeadMoment(
            lead_id=mql.lead_id,
            kind="mql",
            at=mql.reached_at,
            detail={"mql_id": mql_id, "reason": mql.reason},
        )
    )
    sla.start_clock(
        "mql_claim",
        lead_id=mql.lead_id,
        subject_id=mql_id,
        owner_user_id=None,
        at=mql.reached_at,
        session=session,
        config=config,
    )
    logger.info(
        "mql reached mql_id=%s lead_id=%s reason=%s engagement=%s fit=%s",
        mql_id,
        mql.lead_id,
        mql.reason,
        mql.engagement_level,
        mql.fit_level,
    )
    return True


def take_unposted(*, session: Session) -> list[Mql]:
    """MQLs not yet posted, marked as being posted so no one else posts them."""
    taken = session.scalars(
        update(Mql)
        .where(Mql.status == "new")
        .values(status="posting")
        .returning(Mql.id)
    ).all()
    if not taken:
        return []
    statement = select(Mql).where(Mql.id.in_(taken)).order_by(Mql.id)
    return list(session.scalars(statement))


def release_unposted(mql_id: int, *, session: Session) -> None:
    """Make an MQL wait for the next post again (the post surely failed)."""
    session.execute(
        update(Mql)
        .where(Mql.id == mql_id, Mql.status == "posting")
        .values(status="new")
    )


def count_unposted(*, session: Session) -> int:
    """MQLs waiting to be posted to the queue."""
    statement = select(func.count()).select_from(Mql).where(Mql.status == "new")
    return session.scalars(statement).one()


def mark_posted(
    mql_id: int, *, channel_id: str, message_ts: str, session: Session
) -> None:
    """Remember where an MQL was posted (its Claim button lives there)."""
    # A claim can land between the post and this update; it keeps "claimed".
    status = case((Mql.status == "posting", "posted"), else_=Mql.status)
    session.execute(
        update(Mql)
        .where(Mql.id == mql_id)
        .values(status=status, channel_id=channel_id, message_ts=message_ts)
    )


def claim(
    mql_id: int, *, user_id: str, session: Session, config: Config, now: datetime
) -> ClaimResult:
    """Give the MQL's lead to the first SDR who claims it; later claims lose.

    The claim stops the MQL's claim clock and starts the one for booking a
    meeting; the lead's clocks nobody owned yet become the claimer's.
    """
    won = session.scalars(
        update(Mql)
        .where(
            Mql.id == mql_id,
            Mql.claimed_by.is_(None),
            Mql.status.in_(("new", "posting", "posted")),
        )
        .values(claimed_by=user_id, claimed_at=now, status="claimed")
        .returning(Mql.id)
    ).first()
    mql = session.get(Mql, mql_id, populate_existing=True)
    if mql is None:
        raise MqlNotFound(mql_id)
    lead = session.get(Lead, mql.lead_id)
    if won is not None:
        lead.sdr_user_id = user_id
        lead.updated_at = now
        session.add(
            LeadMoment(
                lead_id=lead.id,
                kind="claimed",
                at=now,
                user_id=user_id,
                detail={"mql_id": mql_id},
            )
        )
        sla.stop_clocks(
            "mql_claim",
            lead_id=lead.id,
            subject_id=mql_id,
            at=now,
            user_id=user_id,
            session=session,
        )
        sla.adopt_clocks(lead.id, user_id=user_id, at=now, session=session)
        sla.start_clock(
            "sql_meeting",
            lead_id=lead.id,
            subject_id=None,
            owner_user_id=user_id,
            at=now,
            session=session,
            config=config,
        )
        logger.info("mql claimed mql_id=%s lead_id=%s", mql_id, lead.id)
    return ClaimResult(mql=mql, lead=lead, is_won=won is not None)
