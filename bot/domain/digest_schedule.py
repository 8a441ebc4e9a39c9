"""When each channel's digest is due: its local time, on business days.

The time is a wall-clock time in the channel's zone, so a daylight-saving
change moves nothing: an 08:30 digest is at 08:30 local the day after, too.
Which days were already sent comes from the caller (the outbox keys), so this
module is pure and the same `now` always gives the same answer.
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

# A digest sent this long after its time is marked late: a worker's pass is
# seconds apart, so anything later means the worker was down at the time.
LATE_AFTER = timedelta(minutes=15)
# How far back a worker that was down looks for a missed digest; only the
# latest one found is sent, since older ones are stale by then.
LOOKBACK_DAYS = 14


class DueDigest(NamedTuple):
    channel: str
    # The local day the digest is sent on (its outbox key), not the day it
    # reports on.
    local_date: date
    is_late: bool
    # When it was due, in the channel's zone.
    due_at: datetime


def due_digests(
    targets: Iterable[tuple[str, str | time, ZoneInfo]],
    now: datetime,
    last_sent: Callable[[str], date | None],
    *,
    is_working_day: Callable[[date], bool],
) -> list[DueDigest]:
    """The digests to send at `now`: per channel, its latest due day not sent.

    `last_sent(channel)` is the latest local date already recorded for the
    channel, or None. A worker back after days sends only the latest day.
    """
    due = []
    for channel, at, zone in targets:
        due_at = latest_due(now, _clock_time(at), zone, is_working_day)
        if due_at is None:
            continue
        sent = last_sent(channel)
        if sent is not None and sent >= due_at.date():
            continue
        is_late = now - due_at > LATE_AFTER
        due.append(DueDigest(channel, due_at.date(), is_late, due_at))
    return due


def latest_due(
    now: datetime,
    at: time,
    zone: ZoneInfo,
    is_working_day: Callable[[date], bool],
) -> datetime | None:
    """The latest business day's `at` (local, in `zone`) at or before `now`."""
    today = now.astimezone(zone).date()
    for back in range(LOOKBACK_DAYS + 1):
        day = today - timedelta(days=back)
        due_at = datetime.combine(day, at, tzinfo=zone)
        if is_working_day(day) and due_at <= now:
            return due_at
    return None


def outbox_key(channel: str, local_date: date) -> str:
    """The digest's idempotency key: one per channel and local day."""
    return f"{key_prefix(channel)}{local_date.isoformat()}"


def key_prefix(channel: str) -> str:
    """What every digest key of `channel` starts with (ISO dates sort)."""
    return f"digest:{channel}:"


def _clock_time(at: str | time) -> time:
    return at if isinstance(at, time) else time.fromisoformat(at)
