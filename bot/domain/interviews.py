"""The interview: which question is asked, what was answered, where it stands.

Every step is one transaction that first locks the interview row, so two
clicks arriving together are applied one after the other and only one of
them moves the interview on.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.config import MAX_LEVEL, Config
from bot.db import insert_ignoring_conflicts
from bot.domain import sla
from bot.domain.fit import FitAssessment, assess_fit
from bot.models import Answer, Interview, Lead, MatrixVersion, Mql

logger = logging.getLogger(__name__)

ACTIVE = "active"
REVIEW = "review"
SUBMITTED = "submitted"
CANCELLED = "cancelled"
OPEN_STATUSES = (ACTIVE, REVIEW)


class InterviewError(Exception):
    """A step the interview cannot take; the Slack side words it for the user."""


class LeadTaken(InterviewError):
    def __init__(self, holder_user_id: str, since: datetime) -> None:
        super().__init__(f"lead is being qualified by {holder_user_id}")
        self.holder_user_id = holder_user_id
        self.since = since


class SdrBusy(InterviewError):
    def __init__(self, lead_id: int, lead_name: str) -> None:
        super().__init__(f"SDR is already qualifying lead {lead_id}")
        self.lead_id = lead_id
        self.lead_name = lead_name


class NotYourInterview(InterviewError):
    def __init__(self, owner_user_id: str) -> None:
        super().__init__(f"interview belongs to {owner_user_id}")
        self.owner_user_id = owner_user_id


class InterviewClosed(InterviewError):
    def __init__(self, status: str) -> None:
        super().__init__(f"interview is {status}")
        self.status = status


@dataclass
class InterviewState:
    interview: Interview
    lead: Lead
    answers: dict[str, Answer]

    @property
    def id(self) -> int:
        return self.interview.id

    def levels(self) -> dict[str, int]:
        return {
            key: answer.level
            for key, answer in self.answers.items()
            if answer.level is not None
        }

    def notes(self) -> dict[str, str]:
        return {key: answer.note for key, answer in self.answers.items() if answer.note}

    def step_of(self, criterion: str) -> tuple[int, int]:
        questions = self.interview.questions
        return questions.index(criterion) + 1, len(questions)


@dataclass(frozen=True)
class Progress:
    """What an answer changed: whether a new question or the review is due."""

    state: InterviewState
    advanced: bool

    @property
    def next_criterion(self) -> str | None:
        return self.state.interview.current_criterion if self.advanced else None

    @property
    def needs_review(self) -> bool:
        return self.advanced and self.state.interview.status == REVIEW


def start_interview(
    lead_id: int,
    sdr_user_id: str,
    dm_channel_id: str,
    *,
    session: Session,
    config: Config,
    now: datetime,
) -> InterviewState:
    """Open an interview, or say who already has this lead or this SDR busy."""
    lead = session.get(Lead, lead_id)
    _refuse_if_taken(lead, sdr_user_id, session=session)
    store_matrix_version(config, session=session, now=now)

    fit = fit_from_data(lead, config)
    questions = [
        key
        for key, criterion in config.matrix.criteria.items()
        if criterion.source == "interview"
        or (criterion.source == "icp" and not fit.is_known)
    ]
    interview = Interview(
        lead_id=lead.id,
        sdr_user_id=sdr_user_id,
        dm_channel_id=dm_channel_id,
        status=ACTIVE if questions else REVIEW,
        questions=questions,
        current_criterion=questions[0] if questions else None,
        matrix_version=config.matrix.version,
        started_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(interview)
            session.flush()
    except IntegrityError:
        # Another /qualify for this lead or by this SDR got in first.
        _refuse_if_taken(lead, sdr_user_id, session=session)
        raise

    answers = {
        key: Answer(interview_id=interview.id, criterion=key) for key in questions
    }
    fit_key = config.matrix.criterion_for("icp")
    if fit_key and fit.is_known:
        answers[fit_key] = Answer(
            interview_id=interview.id,
            criterion=fit_key,
            level=fit.level,
            note=f"From stored data: {fit.explain()}",
            source="data",
            answered_at=now,
        )
    session.add_all(answers.values())
    session.flush()
    _touch_clocks(lead, sdr_user_id, session=session, config=config, now=now)
    logger.info(
        "interview started interview_id=%s lead_id=%s sdr=%s questions=%s",
        interview.id,
        lead.id,
        sdr_user_id,
        len(questions),
    )
    return InterviewState(interview, lead, answers)


def _touch_clocks(
    lead: Lead, sdr_user_id: str, *, session: Session, config: Config, now: datetime
) -> None:
    """Starting /qualify is a first touch; for a lead that never was an MQL it
    also starts the clock for booking a meeting (a claim starts it otherwise).
    """
    sla.stop_clocks(
        "first_touch", lead_id=lead.id, at=now, user_id=sdr_user_id, session=session
    )
    was_mql = session.scalar(select(Mql.id).where(Mql.lead_id == lead.id).limit(1))
    if was_mql is None:
        sla.start_clock(
            "sql_meeting",
            lead_id=lead.id,
            subject_id=None,
            owner_user_id=sdr_user_id,
            at=now,
            session=session,
            config=config,
        )


def fit_from_data(lead: Lead, config: Config) -> FitAssessment:
    return assess_fit(config.icp, lead.industry, lead.employees, lead.country)


def load_interview(
    interview_id: int, *, session: Session, lock: bool = False
) -> InterviewState:
    interview = session.get(Interview, interview_id, with_for_update=lock)
    if interview is None:
        raise InterviewClosed("missing")
    lead = session.get(Lead, interview.lead_id)
    rows = session.scalars(select(Answer).where(Answer.interview_id == interview_id))
    return InterviewState(
        interview, lead, {answer.criterion: answer for answer in rows}
    )


def open_interview_of(sdr_user_id: str, *, session: Session) -> int | None:
    """The ID of the SDR's interview in progress, if any."""
    statement = select(Interview.id).where(
        Interview.sdr_user_id == sdr_user_id, Interview.status.in_(OPEN_STATUSES)
    )
    return session.scalar(statement)


def record_asked(
    interview_id: int, criterion: str, question_ts: str, *, session: Session
) -> None:
    """Remember which Slack message asks a question, to update it later."""
    answer = _answer(interview_id, criterion, session=session)
    answer.question_ts = question_ts


def record_review_posted(
    interview_id: int, review_ts: str, *, session: Session
) -> None:
    session.get(Interview, interview_id).review_ts = review_ts


def record_level(
    interview_id: int,
    criterion: str,
    level: int,
    *,
    user_id: str,
    session: Session,
    now: datetime,
) -> Progress:
    """Store a level chosen with a button; move on if it answered the open question."""
    state = _lock_open(interview_id, user_id, session=session)
    answer = state.answers.get(criterion)
    if answer is None or level not in range(MAX_LEVEL + 1):
        raise InterviewError(f"criterion {criterion!r} level {level!r} is not asked")

    answer.level = level
    answer.source = "accepted" if level == answer.proposed_level else "button"
    answer.answered_at = now
    state.interview.updated_at = now
    advanced = criterion == state.interview.current_criterion
    if advanced:
        _advance(state)
    session.flush()
    logger.info(
        "answer recorded interview_id=%s criterion=%s level=%s",
        interview_id,
        criterion,
        level,
    )
    return Progress(state, advanced)


def record_note(
    interview_id: int,
    text: str,
    *,
    user_id: str,
    session: Session,
    now: datetime,
) -> tuple[InterviewState, str | None]:
    """Keep typed text as the note of the open question.

    Returns the state and the criterion the note went to, or None when no
    question is open (the interview is at its review).
    """
    state = _lock_open(interview_id, user_id, session=session)
    criterion = state.interview.current_criterion
    if criterion is None:
        return state, None
    answer = state.answers[criterion]
    answer.note = f"{answer.note}\n{text}".strip() if answer.note else text.strip()
    state.interview.updated_at = now
    session.flush()
    logger.info("note recorded interview_id=%s criterion=%s", interview_id, criterion)
    return state, criterion


def record_proposals(
    interview_id: int,
    proposals: list,
    *,
    user_id: str,
    session: Session,
    note_prefix: str = "",
) -> list:
    """Keep confident proposals for questions not answered yet; those kept.

    With `note_prefix` (pasted call notes), the evidence also becomes part of
    the question's note, so the breakdown and the AE see where it came from.
    """
    state = _lock_open(interview_id, user_id, session=session)
    kept = []
    for proposal in proposals:
        answer = state.answers.get(proposal.criterion)
        if answer is None or answer.level is not None or not proposal.is_confident:
            continue
        if note_prefix:
            line = f"{note_prefix}{proposal.evidence}"
            answer.note = f"{answer.note}\n{line}".strip()
        answer.proposed_level = proposal.level
        answer.proposal_evidence = proposal.evidence
        answer.proposal_confidence = proposal.confidence
        answer.interpreter = proposal.interpreter
        kept.append(proposal)
    session.flush()
    return kept


def change_answers(
    interview_id: int,
    changes: dict[str, tuple[int | None, str | None]],
    *,
    user_id: str,
    session: Session,
    now: datetime,
) -> InterviewState:
    """Apply edits made from the review: criterion -> (level, note).

    A note of None was not editable (too long for a form) and stays as it is.
    """
    state = _lock_open(interview_id, user_id, session=session)
    for criterion, (level, note) in changes.items():
        answer = state.answers.get(criterion)
        if answer is None or criterion not in state.interview.questions:
            raise InterviewError(f"criterion {criterion!r} is not asked")
        if level is not None and level != answer.level:
            answer.level = level
            answer.source = "changed"
            answer.answered_at = now
        if note is not None:
            answer.note = note.strip()
    _advance(state)
    state.interview.updated_at = now
    session.flush()
    logger.info("answers changed interview_id=%s count=%s", interview_id, len(changes))
    return state


def finish_interview(
    interview_id: int, status: str, *, user_id: str, session: Session, now: datetime
) -> InterviewState:
    """Move an open interview to submitted or cancelled; only one caller wins."""
    state = _lock_open(interview_id, user_id, session=session)
    if status == SUBMITTED and state.interview.status != REVIEW:
        raise InterviewError("not every question is answered yet")
    state.interview.status = status
    state.interview.current_criterion = None
    state.interview.updated_at = now
    session.flush()
    logger.info("interview %s interview_id=%s", status, interview_id)
    return state


def _lock_open(interview_id: int, user_id: str, *, session: Session) -> InterviewState:
    state = load_interview(interview_id, session=session, lock=True)
    if state.interview.sdr_user_id != user_id:
        raise NotYourInterview(state.interview.sdr_user_id)
    if state.interview.status not in OPEN_STATUSES:
        raise InterviewClosed(state.interview.status)
    return state


def _advance(state: InterviewState) -> None:
    """Point at the first unanswered question, or move to review."""
    unanswered = [
        key for key in state.interview.questions if state.answers[key].level is None
    ]
    state.interview.current_criterion = unanswered[0] if unanswered else None
    state.interview.status = ACTIVE if unanswered else REVIEW


def _answer(interview_id: int, criterion: str, *, session: Session) -> Answer:
    statement = select(Answer).where(
        Answer.interview_id == interview_id, Answer.criterion == criterion
    )
    return session.scalars(statement).one()


def _refuse_if_taken(lead: Lead, sdr_user_id: str, *, session: Session) -> None:
    statement = select(Interview).where(
        Interview.status.in_(OPEN_STATUSES),
        (Interview.lead_id == lead.id) | (Interview.sdr_user_id == sdr_user_id),
    )
    for interview in session.scalars(statement):
        if interview.lead_id == lead.id and interview.sdr_user_id != sdr_user_id:
            raise LeadTaken(interview.sdr_user_id, interview.started_at)
        if interview.sdr_user_id == sdr_user_id:
            busy_with = session.get(Lead, interview.lead_id)
            raise SdrBusy(busy_with.id, busy_with.display_name)


def store_matrix_version(config: Config, *, session: Session, now: datetime) -> None:
    """Keep a snapshot of the matrix so decisions scored with it stay explainable."""
    matrix = config.matrix
    insert_ignoring_conflicts(
        session,
        MatrixVersion,
        {
            "version": matrix.version,
            "name": matrix.name,
            "content": matrix.model_dump(),
            "created_at": now,
        },
    )
