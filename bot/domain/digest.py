"""The manager's daily digest: the funnel, the SLAs and the people, for one day.

Every figure is counted by the database (COUNT over CASE, GROUP BY), for the
day and for the seven days before it, so the cost does not grow with the
rows Python sees. Python only folds the grouped rows into lines and takes the
medians of the day's few durations (statistics.median, the same on SQLite and
PostgreSQL, where percentile_cont would need a second code path).

The day is a local day in the digest's zone. The rates are bounded shares:
- MQL → SQL: of the qualifications whose lead came through the MQL queue,
  the share that were SQLs;
- SQL → accepted: of the handoffs answered (accepted or rejected), the share
  accepted;
- accepted → meeting: of the handoffs accepted, the share with a meeting
  booked by the end of the window.
Aging lists and untouched leads use the rows' current status: a preview of
an old day shows what is still waiting now, not what was waiting then.
"""

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from bot.config import Config
from bot.db import UTCDateTime
from bot.domain.business_time import Schedule
from bot.domain.engagement import assess_leads
from bot.models import (
    Decision,
    Event,
    Handoff,
    HandoffAnswer,
    Interview,
    Lead,
    LeadMoment,
    Mql,
    SlaClock,
)

TREND_DAYS = 7
CLOCK_KINDS = ("first_touch", "mql_claim", "sql_meeting", "handoff_answer")
# Rows fetched per aging list; the total is counted apart.
AGING_LIMIT = 10
# Leads whose engagement is assessed, picked by their week's event count.
UNTOUCHED_CANDIDATES = 50
UNTOUCHED_LIMIT = 5
UNCLAIMED_MQL = ("new", "posting", "posted")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Funnel:
    """The qualification funnel's counts over one window."""

    qualified: int = 0
    sql: int = 0
    nurture: int = 0
    mqls_reached: int = 0
    # Qualifications of leads that came through the MQL queue.
    from_mql: int = 0
    from_mql_sql: int = 0
    handoffs: int = 0
    accepted: int = 0
    rejected: int = 0
    # Handoffs accepted in the window, and those of them with a meeting.
    accepted_cohort: int = 0
    meetings: int = 0

    @property
    def mql_to_sql(self) -> float | None:
        return _share(self.from_mql_sql, self.from_mql)

    @property
    def sql_to_accepted(self) -> float | None:
        return _share(self.accepted, self.accepted + self.rejected)

    @property
    def accepted_to_meeting(self) -> float | None:
        return _share(self.meetings, self.accepted_cohort)


@dataclass(frozen=True)
class Compliance:
    """One clock kind's SLA outcomes: met and late among the clocks stopped
    in the window, open past due at its end."""

    kind: str
    met: int = 0
    late: int = 0
    open_past_due: int = 0

    @property
    def total(self) -> int:
        return self.met + self.late + self.open_past_due

    @property
    def rate(self) -> float | None:
        return _share(self.met, self.total)


@dataclass(frozen=True)
class Breach:
    """An owner's breached clocks of one kind, and the worst lateness."""

    owner_user_id: str | None
    kind: str
    count: int
    worst: timedelta


@dataclass(frozen=True)
class SdrLine:
    user_id: str
    qualified: int = 0
    sql: int = 0
    median_first_touch: timedelta | None = None

    @property
    def sql_rate(self) -> float | None:
        return _share(self.sql, self.qualified)


@dataclass(frozen=True)
class AeLine:
    user_id: str
    handoffs: int = 0
    accepted: int = 0
    rejected: int = 0
    median_to_accept: timedelta | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    count: int
    trend_count: int


@dataclass(frozen=True)
class Waiting:
    """An SQL not accepted or an MQL not claimed, and where it was posted."""

    lead_id: int
    lead: str
    since: datetime
    user_id: str | None = None
    channel_id: str | None = None
    ts: str | None = None
    permalink: str | None = None


@dataclass(frozen=True)
class EngagedLead:
    lead_id: int
    lead: str
    level: int
    score: float
    signals: str


@dataclass(frozen=True)
class Digest:
    day: date
    zone: ZoneInfo
    window: Window
    funnel: Funnel
    # The same figures over the TREND_DAYS days before `day`.
    trend: Funnel
    compliance: list[Compliance]
    trend_compliance: list[Compliance]
    breaches: list[Breach]
    sdrs: list[SdrLine]
    aes: list[AeLine]
    reasons: list[Reason]
    unaccepted_sqls: list[Waiting] = field(default_factory=list)
    unaccepted_total: int = 0
    unclaimed_mqls: list[Waiting] = field(default_factory=list)
    unclaimed_total: int = 0
    untouched: list[EngagedLead] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing happened on the day: no MQL, decision, answer or SLA stop."""
        funnel = self.funnel
        clocks = sum(c.met + c.late for c in self.compliance)
        return not (
            funnel.qualified
            or funnel.mqls_reached
            or funnel.handoffs
            or funnel.accepted
            or funnel.rejected
            or funnel.meetings
            or clocks
        )


def local_window(first: date, days: int, zone: ZoneInfo) -> Window:
    """From local midnight of `first` to local midnight `days` days later."""
    start = datetime.combine(first, time(), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=days), time(), tzinfo=zone)
    return Window(start.astimezone(UTC), end.astimezone(UTC))


def previous_business_day(today: date, schedule: Schedule) -> date:
    """The last working day before `today` (weekends and holidays skipped)."""
    day = today - timedelta(days=1)
    for _ in range(366):
        if schedule.is_working_day(day):
            return day
        day -= timedelta(days=1)
    return today - timedelta(days=1)


def build_digest(
    *, session: Session, config: Config, day: date, zone: ZoneInfo
) -> Digest:
    """The digest of `day` (a local day in `zone`) with its 7-day trend."""
    window = local_window(day, 1, zone)
    trend = local_window(day - timedelta(days=TREND_DAYS), TREND_DAYS, zone)
    seconds = _seconds_between(session.connection().dialect.name)

    unaccepted, unaccepted_total = _unaccepted_sqls(session, window)
    unclaimed, unclaimed_total = _unclaimed_mqls(session, window)
    return Digest(
        day=day,
        zone=zone,
        window=window,
        funnel=_funnel(session, window),
        trend=_funnel(session, trend),
        compliance=_compliance(session, window),
        trend_compliance=_compliance(session, trend),
        breaches=_breaches(session, window, seconds),
        sdrs=_sdr_lines(session, window, seconds),
        aes=_ae_lines(session, window, seconds),
        reasons=_reasons(session, config, window, trend),
        unaccepted_sqls=unaccepted,
        unaccepted_total=unaccepted_total,
        unclaimed_mqls=unclaimed,
        unclaimed_total=unclaimed_total,
        untouched=_untouched(session, config, window),
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _count(condition) -> object:
    return func.count(case((condition, 1)))


def _at(moment: datetime):
    return bindparam(None, moment, type_=UTCDateTime())


def _within(column, window: Window):
    return and_(column >= _at(window.start), column < _at(window.end))


def _seconds_between(dialect: str):
    """A SQL expression for (later - earlier) in seconds, on either backend."""
    if dialect == "sqlite":
        return lambda later, earlier: (
            (func.julianday(later) - func.julianday(earlier)) * 86400.0
        )
    return lambda later, earlier: func.extract("epoch", later - earlier)


def _funnel(session: Session, window: Window) -> Funnel:
    came_from_mql = exists().where(
        Mql.lead_id == Decision.lead_id, Mql.reached_at <= Decision.decided_at
    )
    decisions = session.execute(
        select(
            func.count(),
            _count(Decision.outcome == "sql"),
            _count(Decision.outcome == "nurture"),
            _count(came_from_mql),
            _count(and_(came_from_mql, Decision.outcome == "sql")),
        ).where(_within(Decision.decided_at, window))
    ).one()

    answers = session.execute(
        select(
            _count(HandoffAnswer.action == "accepted"),
            _count(HandoffAnswer.action == "rejected"),
        ).where(_within(HandoffAnswer.at, window))
    ).one()

    meeting = aliased(HandoffAnswer)
    booked = exists().where(
        meeting.handoff_id == HandoffAnswer.handoff_id,
        meeting.action == "meeting_booked",
        meeting.at < _at(window.end),
    )
    cohort = session.execute(
        select(
            func.count(func.distinct(HandoffAnswer.handoff_id)),
            func.count(func.distinct(case((booked, HandoffAnswer.handoff_id)))),
        ).where(HandoffAnswer.action == "accepted", _within(HandoffAnswer.at, window))
    ).one()

    mqls = session.scalar(
        select(func.count()).select_from(Mql).where(_within(Mql.reached_at, window))
    )
    handoffs = session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(_within(Handoff.created_at, window))
    )
    return Funnel(
        qualified=decisions[0],
        sql=decisions[1],
        nurture=decisions[2],
        from_mql=decisions[3],
        from_mql_sql=decisions[4],
        mqls_reached=mqls,
        handoffs=handoffs,
        accepted=answers[0],
        rejected=answers[1],
        accepted_cohort=cohort[0],
        meetings=cohort[1],
    )


def _open_past_due(window: Window):
    """Clocks running at the window's end whose deadline had passed."""
    return and_(
        SlaClock.started_at < _at(window.end),
        SlaClock.due_at < _at(window.end),
        or_(SlaClock.stopped_at.is_(None), SlaClock.stopped_at >= _at(window.end)),
    )


def _stopped_late(window: Window):
    return and_(SlaClock.status == "late", _within(SlaClock.stopped_at, window))


def _compliance(session: Session, window: Window) -> list[Compliance]:
    met = and_(SlaClock.status == "met", _within(SlaClock.stopped_at, window))
    late = _stopped_late(window)
    overdue = _open_past_due(window)
    rows = session.execute(
        select(SlaClock.kind, _count(met), _count(late), _count(overdue))
        .where(or_(met, late, overdue))
        .group_by(SlaClock.kind)
    ).all()
    counted = {kind: Compliance(kind, *counts) for kind, *counts in rows}
    kinds = list(CLOCK_KINDS) + sorted(set(counted) - set(CLOCK_KINDS))
    return [counted.get(kind, Compliance(kind)) for kind in kinds]


def _breaches(session: Session, window: Window, seconds) -> list[Breach]:
    late = _stopped_late(window)
    until = case((late, SlaClock.stopped_at), else_=_at(window.end))
    lateness = func.max(seconds(until, SlaClock.due_at))
    rows = session.execute(
        select(SlaClock.owner_user_id, SlaClock.kind, func.count(), lateness)
        .where(or_(late, _open_past_due(window)))
        .group_by(SlaClock.owner_user_id, SlaClock.kind)
        .order_by(lateness.desc())
    ).all()
    return [
        Breach(owner, kind, count, timedelta(seconds=round(worst or 0)))
        for owner, kind, count, worst in rows
    ]


def _sdr_lines(session: Session, window: Window, seconds) -> list[SdrLine]:
    counts = session.execute(
        select(Decision.sdr_user_id, func.count(), _count(Decision.outcome == "sql"))
        .where(_within(Decision.decided_at, window))
        .group_by(Decision.sdr_user_id)
    ).all()
    # Time to first touch: the first-touch clocks stopped on the day, from
    # the high-intent moment that started them to the touch.
    touches = session.execute(
        select(
            SlaClock.owner_user_id, seconds(SlaClock.stopped_at, SlaClock.started_at)
        ).where(
            SlaClock.kind == "first_touch",
            SlaClock.status.in_(("met", "late")),
            SlaClock.owner_user_id.is_not(None),
            _within(SlaClock.stopped_at, window),
        )
    ).all()

    lines = {user: [qualified, sql] for user, qualified, sql in counts}
    for user, _ in touches:
        lines.setdefault(user, [0, 0])
    return [
        SdrLine(user, qualified, sql, _median(touches, user))
        for user, (qualified, sql) in sorted(
            lines.items(), key=lambda item: (-item[1][0], item[0])
        )
    ]


def _ae_lines(session: Session, window: Window, seconds) -> list[AeLine]:
    handed = session.execute(
        select(Handoff.ae_user_id, func.count())
        .where(_within(Handoff.created_at, window))
        .group_by(Handoff.ae_user_id)
    ).all()
    answered = session.execute(
        select(
            HandoffAnswer.ae_user_id,
            _count(HandoffAnswer.action == "accepted"),
            _count(HandoffAnswer.action == "rejected"),
        )
        .where(
            HandoffAnswer.action.in_(("accepted", "rejected")),
            _within(HandoffAnswer.at, window),
        )
        .group_by(HandoffAnswer.ae_user_id)
    ).all()
    waits = session.execute(
        select(HandoffAnswer.ae_user_id, seconds(HandoffAnswer.at, Handoff.created_at))
        .join(Handoff, Handoff.id == HandoffAnswer.handoff_id)
        .where(HandoffAnswer.action == "accepted", _within(HandoffAnswer.at, window))
    ).all()

    lines: dict[str, list[int]] = {user: [count, 0, 0] for user, count in handed}
    for user, accepted, rejected in answered:
        lines.setdefault(user, [0, 0, 0])[1:] = [accepted, rejected]
    return [
        AeLine(user, handoffs, accepted, rejected, _median(waits, user))
        for user, (handoffs, accepted, rejected) in sorted(
            lines.items(), key=lambda item: (-item[1][0], item[0])
        )
    ]


def _median(rows, user_id: str) -> timedelta | None:
    values = [value for user, value in rows if user == user_id and value is not None]
    if not values:
        return None
    return timedelta(seconds=round(statistics.median(values)))


def _reasons(
    session: Session, config: Config, window: Window, trend: Window
) -> list[Reason]:
    day_count = _count(HandoffAnswer.at >= _at(window.start))
    trend_count = _count(HandoffAnswer.at < _at(trend.end))
    rows = session.execute(
        select(HandoffAnswer.reason_code, day_count, trend_count)
        .where(
            HandoffAnswer.action == "rejected",
            HandoffAnswer.at >= _at(trend.start),
            HandoffAnswer.at < _at(window.end),
        )
        .group_by(HandoffAnswer.reason_code)
        .order_by(day_count.desc(), trend_count.desc(), HandoffAnswer.reason_code)
    ).all()
    labels = config.handoff.reject_reasons
    return [
        Reason(code or "", labels.get(code or "", code or "no reason"), day, week)
        for code, day, week in rows
        if day
    ]


def _unaccepted_sqls(session: Session, window: Window) -> tuple[list[Waiting], int]:
    waiting = and_(Handoff.status == "pending", Handoff.created_at < _at(window.end))
    total = session.scalar(select(func.count()).select_from(Handoff).where(waiting))
    rows = session.execute(
        select(Handoff, Lead, Decision.permalink)
        .join(Lead, Lead.id == Handoff.lead_id)
        .join(Decision, Decision.id == Handoff.decision_id)
        .where(waiting)
        .order_by(Handoff.created_at, Handoff.id)
        .limit(AGING_LIMIT)
    ).all()
    return [
        Waiting(
            lead_id=lead.id,
            lead=lead.display_name,
            since=handoff.created_at,
            user_id=handoff.ae_user_id,
            channel_id=handoff.channel_id,
            ts=handoff.channel_ts,
            permalink=permalink,
        )
        for handoff, lead, permalink in rows
    ], total


def _unclaimed_mqls(session: Session, window: Window) -> tuple[list[Waiting], int]:
    waiting = and_(
        Mql.status.in_(UNCLAIMED_MQL),
        Mql.claimed_at.is_(None),
        Mql.reached_at < _at(window.end),
    )
    total = session.scalar(select(func.count()).select_from(Mql).where(waiting))
    rows = session.execute(
        select(Mql, Lead)
        .join(Lead, Lead.id == Mql.lead_id)
        .where(waiting)
        .order_by(Mql.reached_at, Mql.id)
        .limit(AGING_LIMIT)
    ).all()
    return [
        Waiting(
            lead_id=lead.id,
            lead=lead.display_name,
            since=mql.reached_at,
            channel_id=mql.channel_id,
            ts=mql.message_ts,
        )
        for mql, lead in rows
    ], total


def _untouched(session: Session, config: Config, window: Window) -> list[EngagedLead]:
    """The most engaged leads of the last week that no SDR has taken up."""
    week = Window(window.end - timedelta(days=TREND_DAYS), window.end)
    touched = exists().where(
        LeadMoment.lead_id == Lead.id, LeadMoment.kind == "touched"
    )
    interviewed = exists().where(Interview.lead_id == Lead.id)
    candidates = session.scalars(
        select(Lead.id)
        .join(Event, Event.lead_id == Lead.id)
        .where(
            Lead.sdr_user_id.is_(None),
            _within(Event.occurred_at, week),
            ~touched,
            ~interviewed,
        )
        .group_by(Lead.id)
        .order_by(func.count().desc(), Lead.id)
        .limit(UNTOUCHED_CANDIDATES)
    ).all()
    if not candidates:
        return []

    assessed = assess_leads(
        candidates, session=session, config=config.engagement, now=window.end
    )
    ranked = sorted(
        (item for item in assessed.items() if item[1].score > 0),
        key=lambda item: (-item[1].score, item[0]),
    )[:UNTOUCHED_LIMIT]
    leads = {
        lead.id: lead
        for lead in session.scalars(
            select(Lead).where(Lead.id.in_([lead_id for lead_id, _ in ranked]))
        )
    }
    return [
        EngagedLead(
            lead_id=lead_id,
            lead=leads[lead_id].display_name,
            level=assessment.level,
            score=assessment.score,
            signals=assessment.explain(window.end, limit=3),
        )
        for lead_id, assessment in ranked
    ]
