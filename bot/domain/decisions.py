"""Turning a finished interview into a decision, and an SQL into a handoff."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.config import Config
from bot.db import insert_ignoring_conflicts
from bot.domain.engagement import EngagementAssessment, assess_lead
from bot.domain.interviews import InterviewState, store_matrix_version
from bot.domain.scoring import Scorecard, score_levels
from bot.models import Decision, Handoff, Lead, RoutingCursor

logger = logging.getLogger(__name__)

AE_POOL = "ae"


@dataclass(frozen=True)
class Assessment:
    """A scorecard together with the engagement behind one of its criteria."""

    scorecard: Scorecard
    engagement: EngagementAssessment


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    handoff: Handoff | None
    assessment: Assessment


def assess_interview(
    state: InterviewState, *, session: Session, config: Config, now: datetime
) -> Assessment:
    """Score the recorded answers with the lead's engagement as of now."""
    engagement = assess_lead(
        state.lead.id, session=session, config=config.engagement, now=now
    )
    levels = state.levels()
    notes = state.notes()
    engagement_key = config.matrix.criterion_for("engagement")
    if engagement_key:
        levels[engagement_key] = engagement.level
        notes[engagement_key] = engagement.explain(now)
    return Assessment(score_levels(config.matrix, levels, notes), engagement)


def record_decision(
    state: InterviewState, *, session: Session, config: Config, now: datetime
) -> DecisionResult:
    """Store the decision and, for an SQL, the handoff to the chosen AE."""
    assessment = assess_interview(state, session=session, config=config, now=now)
    scorecard = assessment.scorecard
    store_matrix_version(config, session=session, now=now)
    decision = Decision(
        interview_id=state.id,
        lead_id=state.lead.id,
        sdr_user_id=state.interview.sdr_user_id,
        outcome=scorecard.outcome,
        total=scorecard.total,
        max_total=scorecard.max_total,
        threshold=scorecard.threshold,
        breakdown=scorecard.breakdown(),
        reasons=scorecard.reasons,
        signals=[
            {
                "kind": s.kind,
                "label": s.label,
                "count": s.count,
                "score": round(s.score, 2),
            }
            for s in assessment.engagement.signals
        ],
        matrix_version=scorecard.matrix_version,
        decided_at=now,
    )
    session.add(decision)
    session.flush()

    handoff = None
    if scorecard.is_sql:
        ae_user_id = pick_ae(state.lead, session=session, config=config)
        handoff = Handoff(
            decision_id=decision.id,
            lead_id=state.lead.id,
            ae_user_id=ae_user_id,
            created_at=now,
        )
        session.add(handoff)
        session.flush()
    logger.info(
        "decision recorded decision_id=%s lead_id=%s outcome=%s total=%s ae=%s",
        decision.id,
        state.lead.id,
        scorecard.outcome,
        scorecard.total,
        handoff.ae_user_id if handoff else "-",
    )
    return DecisionResult(decision, handoff, assessment)


def pick_ae(lead: Lead, *, session: Session, config: Config) -> str:
    """The lead's owner when they are an AE, else the next AE in rotation."""
    aes = config.team.aes
    if lead.owner_user_id in aes:
        return lead.owner_user_id
    if not aes:
        raise ValueError("team.aes is empty: no AE can receive the SQL")

    insert_ignoring_conflicts(session, RoutingCursor, {"pool": AE_POOL, "position": 0})
    cursor = session.get(RoutingCursor, AE_POOL, with_for_update=True)
    ae_user_id = aes[cursor.position % len(aes)]
    cursor.position = (cursor.position + 1) % len(aes)
    return ae_user_id


def record_posts(
    decision_id: int,
    *,
    session: Session,
    channel_id: str | None,
    message_ts: str | None,
    permalink: str | None,
) -> None:
    decision = session.get(Decision, decision_id)
    decision.channel_id = channel_id
    decision.message_ts = message_ts
    decision.permalink = permalink


def record_handoff_posts(
    handoff_id: int,
    *,
    session: Session,
    dm_channel_id: str | None,
    dm_ts: str | None,
    channel_id: str | None,
    channel_ts: str | None,
) -> None:
    handoff = session.get(Handoff, handoff_id)
    handoff.dm_channel_id = dm_channel_id
    handoff.dm_ts = dm_ts
    handoff.channel_id = channel_id
    handoff.channel_ts = channel_ts
