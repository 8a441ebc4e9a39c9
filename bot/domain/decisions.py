"""Turning a finished interview into a decision, and an SQL into a handoff."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.config import Config
from bot.domain import routing, sla
from bot.domain.engagement import EngagementAssessment, assess_lead
from bot.domain.interviews import InterviewState, store_matrix_version
from bot.domain.scoring import Scorecard, score_levels
from bot.models import Decision, Handoff

logger = logging.getLogger(__name__)


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
        ae_user_id = routing.pick_ae_anyway(
            state.lead, session=session, config=config, now=now
        )
        handoff = Handoff(
            decision_id=decision.id,
            lead_id=state.lead.id,
            ae_user_id=ae_user_id,
            created_at=now,
        )
        session.add(handoff)
        session.flush()
        sla.start_clock(
            "handoff_answer",
            lead_id=state.lead.id,
            subject_id=handoff.id,
            owner_user_id=ae_user_id,
            at=now,
            session=session,
            config=config,
        )
    logger.info(
        "decision recorded decision_id=%s lead_id=%s outcome=%s total=%s ae=%s",
        decision.id,
        state.lead.id,
        scorecard.outcome,
        scorecard.total,
        handoff.ae_user_id if handoff else "-",
    )
    return DecisionResult(decision, handoff, assessment)


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
