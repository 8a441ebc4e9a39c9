"""The daily figures behind the digest's chart: the funnel and SLA compliance.

Days are the manager's local days. Each day's bounds are worked out here in
its time zone and turned into a UTC range, so a 23- or 25-hour day around a
daylight-saving change counts as one day; the database then groups rows by
range with one CASE expression, the same SQL on SQLite and PostgreSQL.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from bot.config import Config
from bot.domain.handoffs import ACCEPTED, MEETING_BOOKED
from bot.domain.scoring import SQL
from bot.models import Decision, HandoffAnswer, Mql, SlaClock

MET = "met"
LATE = "late"
OPEN = "open"


@dataclass(frozen=True)
class Series:
    """Per local day, oldest first: funnel counts and SLA clock outcomes.

    A clock counts once: met or late on the day it stopped, open past due on
    the day it fell due (while still open and due before the series ends).
    """

    days: list[date]
    mqls: list[int]
    sqls: list[int]
    accepted: list[int]
    meetings: list[int]
    sla_met: list[int]
    sla_late: list[int]
    sla_open_past_due: list[int]

    @property
    def compliance(self) -> list[float | None]:
        """Met clocks as a percentage of the day's clocks; None with no clocks."""
        return [
            100 * met / total if (total := met + late + overdue) else None
            for met, late, overdue in zip(
                self.sla_met, self.sla_late, self.sla_open_past_due, strict=True
            )
        ]

    @property
    def is_empty(self) -> bool:
        return not any(
            sum(values)
            for values in (
                self.mqls,
                self.sqls,
                self.accepted,
                self.meetings,
                self.sla_met,
                self.sla_late,
                self.sla_open_past_due,
            )
        )


def daily_series(
    *,
    session: Session,
    config: Config,
    end_day: date,
    zone: ZoneInfo,
    days: int = 14,
) -> Series:
    """The funnel and SLA outcomes for the `days` local days ending `end_day`."""
    # config is taken like every digest function's, though every figure here
    # is team-wide: nothing in it changes what a day counts yet.
    day_list = [end_day - timedelta(days=back) for back in range(days - 1, -1, -1)]
    bounds = [_local_midnight(day, zone) for day in day_list]
    bounds.append(_local_midnight(end_day + timedelta(days=1), zone))

    mqls = _count(session, bounds, Mql.reached_at)
    sqls = _count(session, bounds, Decision.decided_at, Decision.outcome == SQL)
    accepted = _count(
        session, bounds, HandoffAnswer.at, HandoffAnswer.action == ACCEPTED
    )
    meetings = _count(
        session, bounds, HandoffAnswer.at, HandoffAnswer.action == MEETING_BOOKED
    )
    met = _count(session, bounds, SlaClock.stopped_at, SlaClock.status == MET)
    late = _count(session, bounds, SlaClock.stopped_at, SlaClock.status == LATE)
    overdue = _count(session, bounds, SlaClock.due_at, SlaClock.status == OPEN)

    return Series(day_list, mqls, sqls, accepted, meetings, met, late, overdue)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _count(session: Session, bounds: list[datetime], column, *where) -> list[int]:
    """Rows per day range, by `column`'s time; days without rows are zero."""
    day_index = case(
        *[
            (and_(column >= start, column < end), index)
            for index, (start, end) in enumerate(pairwise(bounds))
        ]
    ).label("day_index")
    # Grouped in an outer query: PostgreSQL would see the CASE's parameters
    # in GROUP BY as different from those in the SELECT list.
    rows = (
        select(day_index)
        .where(column >= bounds[0], column < bounds[-1], *where)
        .subquery()
    )
    statement = select(rows.c.day_index, func.count()).group_by(rows.c.day_index)

    counts = [0] * (len(bounds) - 1)
    for index, count in session.execute(statement):
        counts[index] = count
    return counts
