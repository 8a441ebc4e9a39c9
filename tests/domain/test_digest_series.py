"""The chart's daily series: local days, DST-safe, counted in SQL."""

import tomllib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from bot.config import DEFAULTS_PATH, merge, parse_config
from bot.db import session_scope
from bot.domain.decisions import record_decision
from bot.domain.digest_series import daily_series
from bot.domain.interviews import (
    SUBMITTED,
    finish_interview,
    record_level,
    start_interview,
)
from bot.models import ClockEvent, HandoffAnswer, Mql, SlaClock
from tests.domain.handoff_rows import add_handoff
from tests.factories import add_lead

BERLIN = ZoneInfo("Europe/Berlin")
# The 14 days from Wednesday 18 to Tuesday 31 March 2026; Berlin moves to
# summer time on Sunday 29 March, a 23-hour day.
END_DAY = date(2026, 3, 31)
FIRST_DAY = date(2026, 3, 18)
SDR, AE = "U0SDR1", "U0AE1"


@pytest.fixture
def config():
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    team = {"sdrs": [SDR], "aes": [AE], "managers": ["U0MGR1"]}
    return parse_config(merge(defaults, {"team": team}))


def utc(month, day, hour, minute=0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def series(engine, config, zone=BERLIN, end_day=END_DAY):
    with session_scope(engine) as session:
        return daily_series(session=session, config=config, end_day=end_day, zone=zone)


def on(result, day: date, values: list[int]) -> int:
    return values[result.days.index(day)]


def add_mqls(engine, *moments: datetime) -> None:
    with session_scope(engine) as session:
        for number, at in enumerate(moments):
            lead_id = add_lead(
                engine, email=f"mql{number}@initech.example", domain="initech.example"
            )
            session.add(Mql(lead_id=lead_id, reached_at=at, reason="score", **_mql()))


def _mql() -> dict:
    return {"engagement_level": 3, "fit_level": 3, "status": "posted"}


def add_nurture(engine, config, number: int, *, now: datetime) -> None:
    lead_id = add_lead(
        engine, email=f"nurture{number}@globex.example", domain="globex.example"
    )
    with session_scope(engine) as session:
        interview_id = start_interview(
            lead_id, SDR, "D0SDR1", session=session, config=config, now=now
        ).id
        for criterion in ("pain", "budget", "authority", "timeline"):
            record_level(
                interview_id, criterion, 0, user_id=SDR, session=session, now=now
            )
        state = finish_interview(
            interview_id, SUBMITTED, user_id=SDR, session=session, now=now
        )
        record_decision(state, session=session, config=config, now=now)


def add_answer(engine, handoff_id: int, action: str, at: datetime) -> None:
    with session_scope(engine) as session:
        session.add(
            HandoffAnswer(
                handoff_id=handoff_id, action=action, user_id=AE, ae_user_id=AE, at=at
            )
        )


def clear_clocks(engine) -> None:
    """Drop the clocks the SQLs started, so that only the test's own count."""
    with session_scope(engine) as session:
        session.execute(delete(ClockEvent))
        session.execute(delete(SlaClock))


def add_clock(engine, status: str, *, due_at: datetime, stopped_at=None) -> None:
    lead_id = add_lead(
        engine, email=f"clock{due_at:%d%H%M}{status}@hooli.example", domain="hooli"
    )
    with session_scope(engine) as session:
        session.add(
            SlaClock(
                lead_id=lead_id,
                kind="first_touch",
                owner_user_id=SDR,
                started_at=due_at - timedelta(hours=4),
                due_at=due_at,
                stopped_at=stopped_at,
                status=status,
            )
        )


def test_an_empty_database_gives_fourteen_zero_days(engine, config):
    result = series(engine, config)

    assert result.days[0] == FIRST_DAY
    assert result.days[-1] == END_DAY
    assert len(result.days) == 14
    assert result.mqls == [0] * 14
    assert result.compliance == [None] * 14
    assert result.is_empty


def test_mqls_count_on_their_berlin_day_across_the_dst_change(engine, config):
    add_mqls(
        engine,
        utc(3, 17, 22, 30),  # 23:30 on the 17th: before the window
        utc(3, 17, 23, 30),  # 00:30 on the 18th, the first day
        utc(3, 28, 23, 30),  # 00:30 CET on the 29th, the short day
        utc(3, 29, 21, 30),  # 23:30 CEST on the 29th
        utc(3, 29, 22, 30),  # 00:30 CEST on the 30th
        utc(3, 31, 21, 59),  # 23:59 on the 31st, the last day
        utc(3, 31, 22, 0),  # midnight on 1 April: after the window
    )

    result = series(engine, config)

    assert on(result, FIRST_DAY, result.mqls) == 1
    assert on(result, date(2026, 3, 28), result.mqls) == 0
    assert on(result, date(2026, 3, 29), result.mqls) == 2
    assert on(result, date(2026, 3, 30), result.mqls) == 1
    assert on(result, END_DAY, result.mqls) == 1
    assert sum(result.mqls) == 5
    assert not result.is_empty


def test_the_same_rows_fall_on_other_days_in_another_zone(engine, config):
    add_mqls(engine, utc(3, 29, 22, 30), utc(3, 30, 3, 0))

    berlin = series(engine, config)
    new_york = series(engine, config, zone=ZoneInfo("America/New_York"))

    assert on(berlin, date(2026, 3, 30), berlin.mqls) == 2
    assert on(new_york, date(2026, 3, 29), new_york.mqls) == 2
    assert on(new_york, date(2026, 3, 30), new_york.mqls) == 0


def test_sqls_accepted_and_meetings_count_per_day_and_nurture_does_not(engine, config):
    first = add_handoff(engine, config, 1, now=utc(3, 20, 9), sdr=SDR)
    second = add_handoff(engine, config, 2, now=utc(3, 20, 15), sdr=SDR)
    add_handoff(engine, config, 3, now=utc(3, 30, 8), sdr=SDR)
    add_nurture(engine, config, 1, now=utc(3, 20, 10))
    add_answer(engine, first, "accepted", utc(3, 20, 11))
    add_answer(engine, second, "accepted", utc(3, 21, 9))
    add_answer(engine, second, "rejected", utc(3, 21, 9))
    add_answer(engine, first, "meeting_booked", utc(3, 29, 22, 15))

    result = series(engine, config)

    assert on(result, date(2026, 3, 20), result.sqls) == 2
    assert on(result, date(2026, 3, 30), result.sqls) == 1
    assert sum(result.sqls) == 3
    assert on(result, date(2026, 3, 20), result.accepted) == 1
    assert on(result, date(2026, 3, 21), result.accepted) == 1
    assert sum(result.accepted) == 2
    # 22:15 UTC on the 29th is 00:15 CEST on the 30th.
    assert on(result, date(2026, 3, 30), result.meetings) == 1
    assert sum(result.meetings) == 1


def test_clocks_count_met_or_late_when_stopped_and_open_ones_when_due(engine, config):
    clear_clocks(engine)
    add_clock(engine, "met", due_at=utc(3, 25, 12), stopped_at=utc(3, 24, 10))
    add_clock(engine, "met", due_at=utc(3, 24, 16), stopped_at=utc(3, 24, 15))
    add_clock(engine, "late", due_at=utc(3, 23, 12), stopped_at=utc(3, 24, 9))
    add_clock(engine, "open", due_at=utc(3, 24, 18))
    add_clock(engine, "cancelled", due_at=utc(3, 24, 11), stopped_at=utc(3, 24, 11))
    add_clock(engine, "open", due_at=utc(4, 2, 9))

    result = series(engine, config)

    day = date(2026, 3, 24)
    assert on(result, day, result.sla_met) == 2
    assert on(result, day, result.sla_late) == 1
    assert on(result, day, result.sla_open_past_due) == 1
    assert on(result, day, result.compliance) == 50.0
    assert on(result, date(2026, 3, 23), result.compliance) is None
    assert sum(result.sla_open_past_due) == 1
