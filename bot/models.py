"""Database tables. Every change here comes with an Alembic revision."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow

OPEN_INTERVIEW = text("status IN ('active', 'review')")


def _when(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


class MatrixVersion(SQLModel, table=True):
    """A snapshot of the matrix a decision was scored with."""

    __tablename__ = "matrix_versions"

    version: str = Field(primary_key=True, max_length=12)
    name: str
    content: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _when(nullable=False)


class Lead(SQLModel, table=True):
    __tablename__ = "leads"

    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, unique=True, max_length=320)
    name: str = ""
    title: str = ""
    company: str = ""
    domain: str = Field(default="", index=True, max_length=253)
    industry: str = ""
    employees: int | None = None
    country: str = ""
    attributes: dict = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    owner_user_id: str | None = None
    # The SDR who claimed the lead from the queue (the owner above comes from
    # the CRM and may be an AE).
    sdr_user_id: str | None = None
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)

    @property
    def display_name(self) -> str:
        company = self.company or self.domain or "unknown company"
        return f"{self.name} ({company})" if self.name else company


class Event(SQLModel, table=True):
    """One engagement event of a lead (a page view, an email click, ...)."""

    __tablename__ = "events"
    # lead, name, time: the engagement sums scan one lead's window, and the
    # intent sequences seek the first event of a kind after a time.
    __table_args__ = (
        Index("ix_events_lead_name_occurred", "lead_id", "name", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    name: str
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    source: str = "csv"
    dedupe_key: str = Field(unique=True, max_length=64)
    properties: dict = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )


class Interview(SQLModel, table=True):
    """An SDR's qualification of one lead, from /qualify to the decision."""

    __tablename__ = "interviews"
    __table_args__ = (
        Index(
            "uq_interviews_open_lead",
            "lead_id",
            unique=True,
            sqlite_where=OPEN_INTERVIEW,
            postgresql_where=OPEN_INTERVIEW,
        ),
        Index(
            "uq_interviews_open_sdr",
            "sdr_user_id",
            unique=True,
            sqlite_where=OPEN_INTERVIEW,
            postgresql_where=OPEN_INTERVIEW,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    sdr_user_id: str
    dm_channel_id: str
    # active: questions being asked; review: all answered; then submitted or
    # cancelled.
    status: str = Field(default="active", max_length=16)
    questions: list = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    current_criterion: str | None = None
    review_ts: str | None = None
    matrix_version: str = Field(foreign_key="matrix_versions.version")
    started_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class Answer(SQLModel, table=True):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("interview_id", "criterion"),)

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interviews.id", ondelete="CASCADE")
    criterion: str
    level: int | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # button, changed (from the review), or data (computed from stored data).
    source: str = ""
    question_ts: str | None = None
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What an interpreter proposed from typed text, kept beside what the SDR
    # confirmed, so that a manager can see how often the proposal was taken.
    proposed_level: int | None = None
    proposal_evidence: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default="")
    )
    proposal_confidence: float | None = None
    interpreter: str | None = None


class Decision(SQLModel, table=True):
    __tablename__ = "decisions"

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interviews.id", unique=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    sdr_user_id: str
    outcome: str = Field(max_length=16)
    total: int
    max_total: int
    threshold: int
    breakdown: list = Field(sa_column=Column(JSON, nullable=False))
    reasons: list = Field(sa_column=Column(JSON, nullable=False))
    signals: list = Field(sa_column=Column(JSON, nullable=False))
    matrix_version: str = Field(foreign_key="matrix_versions.version")
    decided_at: datetime = _when(nullable=False, index=True)
    channel_id: str | None = None
    message_ts: str | None = None
    permalink: str | None = None


class Handoff(SQLModel, table=True):
    """An SQL handed to an AE."""

    __tablename__ = "handoffs"

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decisions.id", unique=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    ae_user_id: str
    status: str = Field(default="pending", max_length=16)
    dm_channel_id: str | None = None
    dm_ts: str | None = None
    channel_id: str | None = None
    channel_ts: str | None = None
    # The call summary the AE was sent (a model's, or None for the template),
    # kept so that the DM can be redrawn as it was after every answer.
    brief: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _when(nullable=False)


class SlackEvent(SQLModel, table=True):
    """Event IDs already applied, so that Slack's retries change nothing."""

    __tablename__ = "slack_events"

    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = _when(nullable=False)


class RoutingCursor(SQLModel, table=True):
    """Where the round-robin of a pool of people stands."""

    __tablename__ = "routing_cursors"

    pool: str = Field(primary_key=True, max_length=32)
    position: int = 0


class LeadIdentity(SQLModel, table=True):
    """An ID another tool knows a lead by (Segment's userId or anonymousId)."""

    __tablename__ = "lead_identities"

    kind: str = Field(primary_key=True, max_length=32)
    value: str = Field(primary_key=True, max_length=200)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    created_at: datetime = _when(nullable=False)


OPEN_MQL = text("status <> 'closed'")


class Mql(SQLModel, table=True):
    """A lead that crossed the MQL bar, from the queue post to its claim."""

    __tablename__ = "mqls"
    __table_args__ = (
        Index(
            "uq_mqls_open_lead",
            "lead_id",
            unique=True,
            sqlite_where=OPEN_MQL,
            postgresql_where=OPEN_MQL,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    reached_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # score: both levels reached the bar; hand_raiser: a high-intent event.
    reason: str = Field(max_length=16)
    engagement_level: int
    fit_level: int | None = None
    signals: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # new -> posting -> posted -> claimed; closed frees the lead for a new MQL.
    status: str = Field(default="new", max_length=16)
    channel_id: str | None = None
    message_ts: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LeadMoment(SQLModel, table=True):
    """A moment an SLA clock can start from: MQL reached, claimed, high intent."""

    __tablename__ = "lead_moments"
    __table_args__ = (Index("ix_lead_moments_lead_at", "lead_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    user_id: str | None = None
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # For high-intent moments: when the SDR's alert went out (None: pending).
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_at: datetime = _when(nullable=False)


OPEN_CLOCK = text("status = 'open'")


class SlaClock(SQLModel, table=True):
    """One SLA clock of one lead: started by a moment, stopped when met.

    `due_at` is when it breaches, with business hours already counted in;
    `next_check_at` is when the worker next has something to do for it (a
    reminder, the breach), None once nothing is left to do. The worker finds
    due clocks by that column alone, through a partial index.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        Index(
            "ix_sla_clocks_next_check",
            "next_check_at",
            sqlite_where=text("next_check_at IS NOT NULL"),
            postgresql_where=text("next_check_at IS NOT NULL"),
        ),
        # At most one open clock per lead, kind and subject (no subject: 0).
        Index(
            "uq_sla_clocks_open",
            "lead_id",
            "kind",
            text("coalesce(subject_id, 0)"),
            unique=True,
            sqlite_where=OPEN_CLOCK,
            postgresql_where=OPEN_CLOCK,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    # first_touch, mql_claim, sql_meeting, handoff_answer
    kind: str = Field(max_length=16)
    # What the clock is about: the MQL, the handoff... (by kind)
    subject_id: int | None = None
    owner_user_id: str | None = None
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Reminder fractions already sent (e.g. [0.5]).
    reminders_sent: list = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # open, met, late (stopped after the breach), cancelled
    status: str = Field(default="open", max_length=16)


class ClockEvent(SQLModel, table=True):
    """Every start, reminder, breach, reassignment and stop, with its time."""

    __tablename__ = "clock_events"
    __table_args__ = (Index("ix_clock_events_clock", "clock_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="sla_clocks.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    user_id: str | None = None
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OutboxMessage(SQLModel, table=True):
    """A Slack message recorded before it is sent, marked sent after.

    The idempotency key makes recording it twice a no-op; a crash between
    record and send leaves it pending, and it is sent on the next pass.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=200)
    # A channel ID, or a user ID to DM.
    target: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    blocks: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # pending, sent, failed (permanent error, reported)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = _when(nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel_id: str | None = None
    message_ts: str | None = None
    error: str | None = None


class Absence(SQLModel, table=True):
    """Someone away until a day: routing and reminders skip them."""

    __tablename__ = "absences"

    user_id: str = Field(primary_key=True, max_length=32)
    until: datetime = Field(sa_type=UTCDateTime, nullable=False)
    set_by: str
    created_at: datetime = _when(nullable=False)


class HandoffAnswer(SQLModel, table=True):
    """The AE's answer to a handoff: accepted or rejected with a reason."""

    __tablename__ = "handoff_answers"

    id: int | None = Field(default=None, primary_key=True)
    handoff_id: int = Field(foreign_key="handoffs.id", ondelete="CASCADE", index=True)
    # accepted, rejected, reassigned, meeting_booked
    action: str = Field(max_length=16)
    # Who clicked (an AE or a manager), and the AE who held the handoff then.
    user_id: str
    ae_user_id: str
    # reassigned: the AE it went to.
    to_user_id: str | None = None
    reason_code: str | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    meeting_on: datetime | None = Field(default=None, sa_type=UTCDateTime)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
