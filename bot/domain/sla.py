"""SLA clocks: started by a moment, reminded, breached, reassigned, stopped.

A clock's `due_at` has business hours counted in when its config pauses it
outside them. `next_check_at` is the next instant the worker has something
to do for the clock (a reminder, the breach); `take_due` does it and moves
`next_check_at` on, in the caller's transaction, so a notice is decided once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlmodel import Session

from bot.config import Clock, Config, Sla
from bot.db import insert_ignoring_conflicts
from bot.domain import routing
from bot.domain.business_time import Schedule, add_business_time
from bot.models import ClockEvent, SlaClock

logger = logging.getLogger(__name__)

# Who moved a handoff when its clock, not a person, did.
SLA_ACTOR = "sla"

KINDS = ("first_touch", "mql_claim", "sql_meeting", "handoff_answer")
OPEN = "open"


@dataclass(frozen=True)
class Notice:
    """Something to tell one person or channel about one clock.

    `kind` is reminder, breach, reassigned_away or reassigned_to; the
    rendering to Slack happens outside the domain. `key` is unique per
    clock, notice and recipient, for the outbox's idempotency.
    """

    kind: str
    clock_id: int
    clock_kind: str
    lead_id: int
    subject_id: int | None
    recipient: str
    key: str
    due_at: datetime
    owner_user_id: str | None = None
    new_owner_user_id: str | None = None
    fraction: float | None = None


def schedule_of(sla: Sla) -> Schedule:
    """The business hours of the team's config."""
    return Schedule(
        zone=ZoneInfo(sla.time_zone),
        opens=sla.opens,
        closes=sla.closes,
        weekdays=sla.weekday_numbers,
        holidays=frozenset(sla.holidays),
    )


def clock_length(clock: Clock, schedule: Schedule) -> timedelta:
    """The configured duration: business time if the clock pauses, else real."""
    duration = clock.duration
    if duration.minutes is not None:
        return timedelta(minutes=duration.minutes)
    if duration.hours is not None:
        return timedelta(hours=duration.hours)
    return schedule.day_length * duration.business_days


def point_in_clock(
    started_at: datetime, fraction: float, clock: Clock, schedule: Schedule
) -> datetime:
    """The instant a fraction of the clock's duration has run out."""
    amount = clock_length(clock, schedule) * fraction
    if clock.pause_outside_hours:
        return add_business_time(started_at, amount, schedule)
    return started_at + amount


def start_clock(
    kind: str,
    *,
    lead_id: int,
    subject_id: int | None,
    owner_user_id: str | None,
    at: datetime,
    session: Session,
    config: Config,
) -> SlaClock | None:
    """Start a clock, unless one of this kind is open for the lead and subject.

    Returns the new clock, or None when one was already running.
    """
    settings = config.sla.clock(kind)
    schedule = schedule_of(config.sla)
    due_at = point_in_clock(at, 1, settings, schedule)
    reminders = [
        point_in_clock(at, fraction, settings, schedule)
        for fraction in settings.reminders
    ]
    values = {
        "lead_id": lead_id,
        "kind": kind,
        "subject_id": subject_id,
        "owner_user_id": owner_user_id,
        "started_at": at,
        "due_at": due_at,
        "next_check_at": min([*reminders, due_at]),
        "reminders_sent": [],
        "status": OPEN,
    }
    # The partial unique index on open clocks settles concurrent starts.
    clock_id = insert_ignoring_conflicts(session, SlaClock, values)
    if clock_id is None:
        return None

    _record(session, clock_id, "start", at, owner_user_id, {"due_at": _iso(due_at)})
    logger.info(
        "sla clock started clock_id=%s kind=%s lead_id=%s owner=%s due_at=%s",
        clock_id,
        kind,
        lead_id,
        owner_user_id or "-",
        _iso(due_at),
    )
    return session.get(SlaClock, clock_id)


def stop_clocks(
    kind: str,
    *,
    lead_id: int,
    subject_id: int | None = None,
    at: datetime,
    user_id: str | None,
    session: Session,
) -> list[SlaClock]:
    """Stop the lead's open clocks of a kind (of one subject, when given).

    A clock stopped by its due time is met; after it, or once its breach
    was recorded, late.
    """
    statement = select(SlaClock).where(
        SlaClock.lead_id == lead_id,
        SlaClock.kind == kind,
        SlaClock.status == OPEN,
    )
    if subject_id is not None:
        statement = statement.where(SlaClock.subject_id == subject_id)
    clocks = list(session.scalars(statement.with_for_update()))

    for clock in clocks:
        is_met = at <= clock.due_at and clock.breached_at is None
        clock.status = "met" if is_met else "late"
        clock.stopped_at = at
        clock.next_check_at = None
        _record(session, clock.id, "stop", at, user_id, {"status": clock.status})
        logger.info(
            "sla clock stopped clock_id=%s kind=%s lead_id=%s status=%s",
            clock.id,
            kind,
            lead_id,
            clock.status,
        )
    return clocks


def cancel_clocks(
    kind: str, *, lead_id: int, at: datetime, user_id: str | None, session: Session
) -> list[SlaClock]:
    """End the lead's open clocks of a kind that can no longer be met, say a
    meeting for a lead the AE rejected: neither met nor late, not reminded."""
    clocks = list(
        session.scalars(
            select(SlaClock)
            .where(
                SlaClock.lead_id == lead_id,
                SlaClock.kind == kind,
                SlaClock.status == OPEN,
            )
            .with_for_update()
        )
    )
    for clock in clocks:
        clock.status = "cancelled"
        clock.stopped_at = at
        clock.next_check_at = None
        _record(session, clock.id, "cancel", at, user_id, {})
        logger.info(
            "sla clock cancelled clock_id=%s kind=%s lead_id=%s",
            clock.id,
            kind,
            lead_id,
        )
    return clocks


def adopt_clocks(lead_id: int, *, user_id: str, at: datetime, session: Session) -> None:
    """Give the lead's open clocks that have no owner to `user_id`."""
    clocks = session.scalars(
        select(SlaClock)
        .where(
            SlaClock.lead_id == lead_id,
            SlaClock.status == OPEN,
            SlaClock.owner_user_id.is_(None),
        )
        .with_for_update()
    ).all()
    for clock in clocks:
        reassign(clock, user_id, at, session)


def reassign(clock: SlaClock, new_owner: str, at: datetime, session: Session) -> None:
    """Make `new_owner` the clock's owner; the deadline stays where it was."""
    old_owner = clock.owner_user_id
    clock.owner_user_id = new_owner
    _record(session, clock.id, "reassign", at, new_owner, {"from": old_owner})
    logger.info(
        "sla clock reassigned clock_id=%s kind=%s from=%s to=%s",
        clock.id,
        clock.kind,
        old_owner or "-",
        new_owner,
    )


@dataclass
class DueWork:
    """What one pass over due clocks did: how many it took, what to send."""

    clocks: int
    notices: list["Notice"]


def take_due(*, session: Session, config: Config, now: datetime, limit: int) -> DueWork:
    """Do what is due on clocks whose next check has come, and say what to send.

    On PostgreSQL the clocks are locked with SKIP LOCKED, so concurrent
    workers share them out; SQLite's BEGIN IMMEDIATE serialises the workers.
    A clock can be due with nothing to send (a reminder nobody owns), so
    callers loop while clocks were taken, not while notices came out.
    """
    clocks = list(session.scalars(due_clocks(now, limit, session=session)))
    schedule = schedule_of(config.sla)

    notices = []
    for clock in clocks:
        settings = config.sla.clock(clock.kind)
        if now >= clock.due_at:
            notices += _breach(clock, settings, session, config, now)
        else:
            notices += _remind(clock, settings, schedule, session, config, now)
        clock.next_check_at = _next_check(clock, settings, schedule)
    return DueWork(clocks=len(clocks), notices=notices)


def due_clocks(now: datetime, limit: int, *, session: Session) -> Select:
    """The query for clocks whose next check has come, earliest first.

    It reads the partial index on next_check_at alone; on PostgreSQL it locks
    what it returns, skipping rows another worker holds.
    """
    statement = (
        select(SlaClock)
        .where(SlaClock.next_check_at <= now)
        .order_by(SlaClock.next_check_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return statement


def _remind(
    clock: SlaClock,
    settings: Clock,
    schedule: Schedule,
    session: Session,
    config: Config,
    now: datetime,
) -> list[Notice]:
    due = [
        fraction
        for fraction in settings.reminders
        if fraction not in clock.reminders_sent
        and point_in_clock(clock.started_at, fraction, settings, schedule) <= now
    ]
    if not due:
        return []

    # A worker that was down sends the latest reminder only, not each one.
    fraction = due[-1]
    clock.reminders_sent = sorted({*clock.reminders_sent, *due})
    _record(session, clock.id, "reminder", now, clock.owner_user_id, {"at": fraction})
    # An MQL nobody owns yet is the queue's to hear about.
    recipient = clock.owner_user_id
    if recipient is None and clock.kind == "mql_claim":
        recipient = config.channels.queue or None
    if recipient is None:
        return []
    suffix = f"reminder:{fraction}"
    return [_notice(clock, "reminder", recipient, suffix, fraction=fraction)]


def _breach(
    clock: SlaClock,
    settings: Clock,
    session: Session,
    config: Config,
    now: datetime,
) -> list[Notice]:
    if clock.breached_at is not None:
        return []
    clock.breached_at = clock.due_at
    owner = clock.owner_user_id
    _record(session, clock.id, "breach", now, owner, {"due_at": _iso(clock.due_at)})
    logger.info(
        "sla clock breached clock_id=%s kind=%s lead_id=%s owner=%s",
        clock.id,
        clock.kind,
        clock.lead_id,
        owner or "-",
    )

    notices = []
    if config.channels.sla:
        notices.append(_notice(clock, "breach", config.channels.sla, "breach:channel"))
    manager = manager_of(owner, config)
    if manager is not None and manager != owner:
        notices.append(_notice(clock, "breach", manager, "breach:manager"))
    if settings.reassign:
        notices += _reassign_on_breach(clock, session, config, now)
    return notices


def _reassign_on_breach(
    clock: SlaClock, session: Session, config: Config, now: datetime
) -> list[Notice]:
    old_owner = clock.owner_user_id
    if clock.kind == "handoff_answer" and clock.subject_id is not None:
        new_owner = _move_handoff(clock, session, config, now)
    else:
        exclude = {old_owner} if old_owner else set()
        new_owner = routing.pick_sdr(config, session=session, now=now, exclude=exclude)
        if new_owner is not None:
            reassign(clock, new_owner, now, session)
            if clock.kind == "mql_claim" and clock.subject_id is not None:
                new_owner = _claim_for(clock, new_owner, session, config, now)
    if new_owner is None:
        logger.warning(
            "sla clock not reassigned clock_id=%s kind=%s: nobody available",
            clock.id,
            clock.kind,
        )
        return []

    people = {"owner_user_id": old_owner, "new_owner_user_id": new_owner}
    notices = [_notice(clock, "reassigned_to", new_owner, "reassigned", **people)]
    if old_owner is not None:
        notices.append(
            _notice(clock, "reassigned_away", old_owner, "reassigned", **people)
        )
    return notices


def _claim_for(
    clock: SlaClock, user_id: str, session: Session, config: Config, now: datetime
) -> str | None:
    """Claim the unclaimed MQL for the SDR it now goes to, as a click would
    (which also ends its claim clock, late). None if someone else won it."""
    from bot.domain import mql  # it imports this module

    try:
        result = mql.claim(
            clock.subject_id, user_id=user_id, session=session, config=config, now=now
        )
    except mql.MqlNotFound:
        # Forgotten with its lead, or a clock with no MQL row: the clock
        # alone moves.
        return user_id
    return user_id if result.is_won else None


def _move_handoff(clock: SlaClock, session: Session, config: Config, now: datetime):
    """The breached handoff, and its clock, to the next AE: the same move as a
    click on Reassign, recorded among the handoff's answers as an SLA breach."""
    from bot.domain import handoffs  # it imports this module

    try:
        change = handoffs.move_to_next_ae(
            clock.subject_id,
            by=SLA_ACTOR,
            session=session,
            config=config,
            now=now,
            reason_code="sla_breach",
        )
    except handoffs.HandoffError:
        return None
    return change.answer.to_user_id


def manager_of(user_id: str | None, config: Config) -> str | None:
    """Who hears of this person's breaches: their mapped manager, or the first."""
    if user_id is not None and user_id in config.sla.managers:
        return config.sla.managers[user_id]
    return config.team.managers[0] if config.team.managers else None


def _next_check(
    clock: SlaClock, settings: Clock, schedule: Schedule
) -> datetime | None:
    if clock.breached_at is not None:
        return None
    pending = [
        point_in_clock(clock.started_at, fraction, settings, schedule)
        for fraction in settings.reminders
        if fraction not in clock.reminders_sent
    ]
    return min([*pending, clock.due_at])


def _notice(
    clock: SlaClock, kind: str, recipient: str, suffix: str, **fields
) -> Notice:
    return Notice(
        kind=kind,
        clock_id=clock.id,
        clock_kind=clock.kind,
        lead_id=clock.lead_id,
        subject_id=clock.subject_id,
        recipient=recipient,
        key=f"sla:{clock.id}:{suffix}:{recipient}",
        due_at=clock.due_at,
        **({"owner_user_id": clock.owner_user_id} | fields),
    )


def _record(
    session: Session,
    clock_id: int,
    kind: str,
    at: datetime,
    user_id: str | None,
    detail: dict,
) -> None:
    session.add(
        ClockEvent(clock_id=clock_id, kind=kind, at=at, user_id=user_id, detail=detail)
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat()
