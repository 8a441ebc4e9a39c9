"""Deadlines that count only the team's business hours.

The arithmetic walks the team's working days on the wall clock of its own
zone (zoneinfo), so a clock started on the Friday before a daylight-saving
change still lands at the right local time on Monday. The length of each
day's window is measured in real time between its local opening and closing,
so a window that spans a change is as long as it really was.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Holidays and weekdays are finite, so ten years always find the hours.
MAX_DAYS = 3660


@dataclass(frozen=True)
class Schedule:
    """When the team works: a zone, daily hours, weekdays, holidays."""

    zone: ZoneInfo
    opens: time
    closes: time
    # 0 is Monday, as in date.weekday().
    weekdays: frozenset[int]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def hours_of(self, day: date) -> tuple[datetime, datetime]:
        """The day's opening and closing as UTC instants."""
        opens = datetime.combine(day, self.opens, tzinfo=self.zone)
        closes = datetime.combine(day, self.closes, tzinfo=self.zone)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    @property
    def day_length(self) -> timedelta:
        """One working day's business time, as the wall clock counts it."""
        today = date(2000, 1, 3)
        return datetime.combine(today, self.closes) - datetime.combine(
            today, self.opens
        )


def add_business_time(
    start: datetime, amount: timedelta, schedule: Schedule
) -> datetime:
    """The instant `amount` of business time after `start` (UTC, aware)."""
    if start.tzinfo is None:
        raise ValueError(f"naive datetime {start!r}: give it a time zone")
    cursor = start.astimezone(UTC)
    remaining = amount
    day = cursor.astimezone(schedule.zone).date()
    for _ in range(MAX_DAYS):
        if schedule.is_working_day(day):
            opens, closes = schedule.hours_of(day)
            cursor = max(cursor, opens)
            if cursor < closes:
                if remaining <= closes - cursor:
                    return cursor + remaining
                remaining -= closes - cursor
        day += timedelta(days=1)
    raise ValueError("no business hours in the next ten years: check the schedule")


def business_time_between(
    start: datetime, end: datetime, schedule: Schedule
) -> timedelta:
    """How much business time lies between two instants (zero if end < start)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta()
    day = start.astimezone(schedule.zone).date()
    last = end.astimezone(schedule.zone).date()
    while day <= last:
        if schedule.is_working_day(day):
            opens, closes = schedule.hours_of(day)
            low, high = max(opens, start), min(closes, end)
            if low < high:
                total += high - low
        day += timedelta(days=1)
    return total
