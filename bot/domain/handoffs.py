"""The AE's answer to a handoff: accept, reject, reassign, meeting booked.

Each answer is a compare-and-set on the handoff's status (and on the AE it
is with), so a double click, or two people clicking at once, changes it once;
the loser is told how the handoff stands. The SLA clocks the answer stops or
moves are changed in the same transaction.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select, update
from sqlmodel import Session

from bot.config import Config
from bot.domain import routing, sla
from bot.domain.scoring import CriterionScore, Scorecard
from bot.models import Decision, Handoff, HandoffAnswer, Interview, Lead, SlaClock

logger = logging.getLogger(__name__)

PENDING = "pending"
ACCEPTED = "accepted"
REJECTED = "rejected"
MEETING_BOOKED = "meeting_booked"
# An answer that moves the handoff; its status stays pending.
REASSIGNED = "reassigned"
# What each answer may follow.
ANSWERABLE = {
    ACCEPTED: (PENDING,),
    REJECTED: (PENDING, ACCEPTED),
    REASSIGNED: (PENDING,),
    MEETING_BOOKED: (ACCEPTED,),
}


class HandoffError(Exception):
    """An answer the handoff cannot take; the Slack side words it for the user."""


class HandoffNotFound(HandoffError):
    def __init__(self, handoff_id: int) -> None:
        super().__init__(f"no handoff {handoff_id}")


class NotYourHandoff(HandoffError):
    def __init__(self, ae_user_id: str) -> None:
        super().__init__(f"handoff belongs to {ae_user_id}")
        self.ae_user_id = ae_user_id


class HandoffAnswered(HandoffError):
    """The handoff moved on before this answer (a double click, a race)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"handoff is {status}")
        self.status = status


class NoAeAvailable(HandoffError):
    def __init__(self, ae_user_id: str) -> None:
        super().__init__("no other AE is available")
        self.ae_user_id = ae_user_id


class BadRejection(HandoffError):
    """An unknown reason code, or a reason that needs a note given none."""


@dataclass(frozen=True)
class HandoffCard:
    """A handoff with everything its DM and channel post show, from storage."""

    handoff: Handoff
    lead: Lead
    decision: Decision
    questions: list[str]
    answers: list[HandoffAnswer]

    @property
    def status(self) -> str:
        return self.handoff.status

    @property
    def sdr_user_id(self) -> str:
        return self.decision.sdr_user_id

    @property
    def scorecard(self) -> Scorecard:
        decision = self.decision
        return Scorecard(
            scores=[CriterionScore(**row) for row in decision.breakdown],
            total=decision.total,
            max_total=decision.max_total,
            threshold=decision.threshold,
            outcome=decision.outcome,
            reasons=list(decision.reasons),
            matrix_version=decision.matrix_version,
        )


@dataclass(frozen=True)
class HandoffChange:
    card: HandoffCard
    answer: HandoffAnswer
    # reassigned: the AE who had it.
    previous_ae: str | None = None


def load_card(handoff_id: int, *, session: Session) -> HandoffCard:
    """The handoff as stored, with its lead, decision and answers so far."""
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise HandoffNotFound(handoff_id)
    decision = session.get(Decision, handoff.decision_id)
    interview = session.get(Interview, decision.interview_id)
    answers = session.scalars(
        select(HandoffAnswer)
        .where(HandoffAnswer.handoff_id == handoff_id)
        .order_by(HandoffAnswer.at, HandoffAnswer.id)
    ).all()
    return HandoffCard(
        handoff=handoff,
        lead=session.get(Lead, handoff.lead_id),
        decision=decision,
        questions=list(interview.questions) if interview else [],
        answers=list(answers),
    )


def record_brief(handoff_id: int, brief: str | None, *, session: Session) -> None:
    """Keep the call summary the AE is sent, for redrawing their DM."""
    handoff = session.get(Handoff, handoff_id)
    handoff.brief = brief


def record_dm(
    handoff_id: int, dm_channel_id: str, dm_ts: str, *, session: Session
) -> None:
    """Where the AE's DM is now (a reassigned handoff gets a new one)."""
    handoff = session.get(Handoff, handoff_id)
    handoff.dm_channel_id, handoff.dm_ts = dm_channel_id, dm_ts


def may_answer(handoff: Handoff, user_id: str, config: Config) -> bool:
    """Only the AE the handoff is with, or a manager."""
    return user_id == handoff.ae_user_id or user_id in config.team.managers


def check_answerable(
    handoff_id: int, action: str, *, user_id: str, session: Session, config: Config
) -> HandoffCard:
    """The card, if `user_id` may give this answer now (before a modal opens)."""
    card = load_card(handoff_id, session=session)
    if not may_answer(card.handoff, user_id, config):
        raise NotYourHandoff(card.handoff.ae_user_id)
    if card.status not in ANSWERABLE[action]:
        raise HandoffAnswered(card.status)
    return card


def accept(
    handoff_id: int, *, user_id: str, session: Session, config: Config, now: datetime
) -> HandoffChange:
    """The AE takes the SQL; the handoff clock stops."""
    handoff = _take(handoff_id, ACCEPTED, user_id, session, config)
    answer = _answer(session, handoff, ACCEPTED, user_id, now)
    sla.stop_clocks(
        "handoff_answer",
        lead_id=handoff.lead_id,
        subject_id=handoff.id,
        at=now,
        user_id=user_id,
        session=session,
    )
    return _changed(session, handoff, answer)


def reject(
    handoff_id: int,
    *,
    user_id: str,
    reason_code: str,
    note: str,
    session: Session,
    config: Config,
    now: datetime,
) -> HandoffChange:
    """The AE sends the lead back: to its SDR, with the reason stored."""
    check_rejection(reason_code, note, config)
    handoff = _take(handoff_id, REJECTED, user_id, session, config)
    answer = _answer(
        session, handoff, REJECTED, user_id, now, reason_code=reason_code, note=note
    )
    decision = session.get(Decision, handoff.decision_id)
    lead = session.get(Lead, handoff.lead_id)
    lead.sdr_user_id = decision.sdr_user_id
    lead.updated_at = now
    sla.stop_clocks(
        "handoff_answer",
        lead_id=handoff.lead_id,
        subject_id=handoff.id,
        at=now,
        user_id=user_id,
        session=session,
    )
    # Back to nurture: no meeting is coming, so its clock must not breach.
    sla.cancel_clocks(
        "sql_meeting", lead_id=handoff.lead_id, at=now, user_id=user_id, session=session
    )
    return _changed(session, handoff, answer)


def check_rejection(reason_code: str, note: str, config: Config) -> None:
    reasons = config.handoff.reject_reasons
    if reason_code not in reasons:
        raise BadRejection(f"{reason_code!r} is not a reject reason")
    if reason_code in config.handoff.note_required and not note.strip():
        raise BadRejection(f"{reason_code!r} needs a note")


def reassign(
    handoff_id: int, *, user_id: str, session: Session, config: Config, now: datetime
) -> HandoffChange:
    """Move the handoff to the next AE in rotation (not away, not at capacity)."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise HandoffNotFound(handoff_id)
    if not may_answer(handoff, user_id, config):
        raise NotYourHandoff(handoff.ae_user_id)
    return move_to_next_ae(
        handoff_id, by=user_id, session=session, config=config, now=now
    )


def move_to_next_ae(
    handoff_id: int,
    *,
    by: str,
    session: Session,
    config: Config,
    now: datetime,
    reason_code: str | None = None,
) -> HandoffChange:
    """Give a pending handoff to the next AE in rotation, its clock with it.

    For a click on Reassign, and for the SLA worker when the clock breaches
    (`reason_code` says why, e.g. "sla_breach").
    """
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise HandoffNotFound(handoff_id)
    if handoff.status != PENDING:
        raise HandoffAnswered(_status_of(handoff_id, session))
    previous = handoff.ae_user_id
    lead = session.get(Lead, handoff.lead_id)
    chosen = routing.pick_ae(
        lead, session=session, config=config, now=now, exclude={previous}
    )
    if chosen is None:
        raise NoAeAvailable(previous)

    moved = session.execute(
        update(Handoff)
        .where(
            Handoff.id == handoff_id,
            Handoff.status == PENDING,
            Handoff.ae_user_id == previous,
        )
        .values(ae_user_id=chosen)
        .returning(Handoff.id)
    ).first()
    if moved is None:
        raise HandoffAnswered(_status_of(handoff_id, session))
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    answer = _answer(
        session,
        handoff,
        REASSIGNED,
        by,
        now,
        ae_user_id=previous,
        to_user_id=chosen,
        reason_code=reason_code,
    )
    _move_clock(handoff, chosen, now, session)
    return _changed(session, handoff, answer, previous_ae=previous)


def _move_clock(handoff: Handoff, ae_user_id: str, now: datetime, session: Session):
    clocks = session.scalars(
        select(SlaClock)
        .where(
            SlaClock.lead_id == handoff.lead_id,
            SlaClock.kind == "handoff_answer",
            SlaClock.subject_id == handoff.id,
            SlaClock.status == sla.OPEN,
        )
        .with_for_update()
    ).all()
    for clock in clocks:
        sla.reassign(clock, ae_user_id, now, session)


def book_meeting(
    handoff_id: int,
    *,
    user_id: str,
    meeting_on: date,
    note: str,
    session: Session,
    config: Config,
    now: datetime,
) -> HandoffChange:
    """The AE booked the meeting: the SQL-scheduled clock stops."""
    handoff = _take(handoff_id, MEETING_BOOKED, user_id, session, config)
    # Stored as midnight UTC of the day picked: a date, not a time of day.
    meeting_at = datetime.combine(meeting_on, time(0), tzinfo=UTC)
    answer = _answer(
        session, handoff, MEETING_BOOKED, user_id, now, note=note, meeting_on=meeting_at
    )
    sla.stop_clocks(
        "sql_meeting", lead_id=handoff.lead_id, at=now, user_id=user_id, session=session
    )
    return _changed(session, handoff, answer)


def _take(
    handoff_id: int, action: str, user_id: str, session: Session, config: Config
) -> Handoff:
    """Move the handoff to the answer's status, if it still stands where it did."""
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise HandoffNotFound(handoff_id)
    if not may_answer(handoff, user_id, config):
        raise NotYourHandoff(handoff.ae_user_id)
    taken = session.execute(
        update(Handoff)
        .where(
            Handoff.id == handoff_id,
            Handoff.status.in_(ANSWERABLE[action]),
            Handoff.ae_user_id == handoff.ae_user_id,
        )
        .values(status=action)
        .returning(Handoff.id)
    ).first()
    if taken is None:
        raise HandoffAnswered(_status_of(handoff_id, session))
    return session.get(Handoff, handoff_id, populate_existing=True)


def _status_of(handoff_id: int, session: Session) -> str:
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    return handoff.status if handoff else "missing"


def _answer(
    session: Session,
    handoff: Handoff,
    action: str,
    user_id: str,
    now: datetime,
    **fields,
) -> HandoffAnswer:
    fields.setdefault("ae_user_id", handoff.ae_user_id)
    answer = HandoffAnswer(
        handoff_id=handoff.id, action=action, user_id=user_id, at=now, **fields
    )
    session.add(answer)
    session.flush()
    logger.info(
        "handoff answered handoff_id=%s action=%s user_id=%s ae=%s reason=%s",
        handoff.id,
        action,
        user_id,
        answer.ae_user_id,
        answer.reason_code or "-",
    )
    return answer


def _changed(
    session: Session,
    handoff: Handoff,
    answer: HandoffAnswer,
    previous_ae: str | None = None,
) -> HandoffChange:
    return HandoffChange(load_card(handoff.id, session=session), answer, previous_ae)
