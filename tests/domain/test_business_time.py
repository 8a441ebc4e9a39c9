from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.business_time import (
    Schedule,
    add_business_time,
    business_time_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))


def schedule(zone=BERLIN, opens=time(9), closes=time(17), **fields) -> Schedule:
    return Schedule(
        zone=zone,
        opens=opens,
        closes=closes,
        weekdays=fields.pop("weekdays", WEEKDAYS),
        **fields,
    )


def local(zone, *parts) -> datetime:
    return datetime(*parts, tzinfo=zone)


def test_time_within_one_business_day_is_added_as_is():
    start = local(BERLIN, 2026, 12, 7, 10, 0)

    due = add_business_time(start, timedelta(hours=4), schedule())

    assert due == local(BERLIN, 2026, 12, 7, 14, 0)
    assert due.tzinfo is UTC


def test_time_past_closing_continues_the_next_morning():
    start = local(BERLIN, 2026, 12, 7, 15, 0)

    due = add_business_time(start, timedelta(hours=4), schedule())

    assert due == local(BERLIN, 2026, 12, 8, 11, 0)


def test_a_friday_afternoon_clock_skips_the_weekend():
    start = local(BERLIN, 2026, 12, 4, 16, 0)

    due = add_business_time(start, timedelta(hours=4), schedule())

    assert due == local(BERLIN, 2026, 12, 7, 12, 0)


def test_a_clock_started_on_saturday_night_starts_counting_monday_at_opening():
    start = local(BERLIN, 2026, 12, 5, 22, 0)

    due = add_business_time(start, timedelta(minutes=15), schedule())

    assert due == local(BERLIN, 2026, 12, 7, 9, 15)


def test_a_clock_started_at_closing_time_starts_the_next_morning():
    start = local(BERLIN, 2026, 12, 7, 17, 0)

    due = add_business_time(start, timedelta(minutes=30), schedule())

    assert due == local(BERLIN, 2026, 12, 8, 9, 30)


def test_holidays_are_skipped_like_weekends():
    hours = schedule(holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25)}))
    start = local(BERLIN, 2026, 12, 23, 16, 0)

    due = add_business_time(start, timedelta(hours=2), hours)

    assert due == local(BERLIN, 2026, 12, 28, 10, 0)


def test_berlin_spring_change_over_the_weekend_keeps_the_local_opening_time():
    # Clocks go forward on Sunday 29 March 2026: CET (UTC+1) to CEST (UTC+2).
    start = local(BERLIN, 2026, 3, 27, 15, 0)

    due = add_business_time(start, timedelta(hours=4), schedule())

    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 30, 11, 0)
    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_berlin_autumn_change_over_the_weekend_keeps_the_local_opening_time():
    # Clocks go back on Sunday 25 October 2026: CEST (UTC+2) to CET (UTC+1).
    start = local(BERLIN, 2026, 10, 23, 15, 0)

    due = add_business_time(start, timedelta(hours=4), schedule())

    assert due == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 11


def test_new_york_spring_change_keeps_the_local_opening_time():
    # Clocks go forward on Sunday 8 March 2026: EST (UTC-5) to EDT (UTC-4).
    start = local(NEW_YORK, 2026, 3, 6, 16, 0)

    due = add_business_time(start, timedelta(hours=2), schedule(zone=NEW_YORK))

    assert due == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    assert due.astimezone(NEW_YORK).hour == 10


def test_hours_that_span_the_change_last_as_long_as_they_really_do():
    # 01:00-05:00 on the night clocks go forward is three real hours.
    night = schedule(opens=time(1), closes=time(5), weekdays=frozenset(range(7)))
    start = local(BERLIN, 2026, 3, 29, 1, 0)

    due = add_business_time(start, timedelta(hours=3), night)

    assert due == local(BERLIN, 2026, 3, 29, 5, 0)
    assert business_time_between(start, due, night) == timedelta(hours=3)


def test_business_time_between_counts_only_open_hours():
    start = local(BERLIN, 2026, 12, 4, 16, 0)
    end = local(BERLIN, 2026, 12, 7, 10, 30)

    between = business_time_between(start, end, schedule())

    assert between == timedelta(hours=2, minutes=30)


def test_one_business_day_is_the_length_of_the_opening_hours():
    assert schedule(opens=time(8, 30), closes=time(17)).day_length == timedelta(
        hours=8, minutes=30
    )


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        add_business_time(datetime(2026, 12, 7, 10), timedelta(hours=1), schedule())
