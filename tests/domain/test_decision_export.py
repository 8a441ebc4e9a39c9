"""The decisions export: one row per decision, with what followed it."""

import csv
import io
import json
import tomllib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import DEFAULTS_PATH, merge, parse_config
from bot.db import session_scope
from bot.domain import decision_export, handoffs
from bot.domain.decision_export import Window, parse_moment
from bot.domain.decisions import record_decision
from bot.domain.interviews import (
    SUBMITTED,
    finish_interview,
    record_level,
    start_interview,
)
from tests.domain.handoff_rows import add_handoff
from tests.factories import add_lead

NOV_2 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SDR, AE = "U0SDR1", "U0AE1"
BERLIN = ZoneInfo("Europe/Berlin")
NOVEMBER = Window(since=NOV_2 - timedelta(days=1))


def team_config():
    """The default config with one SDR, one AE and a manager."""
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    team = {"sdrs": [SDR], "aes": [AE], "managers": ["U0MGR1"]}
    return parse_config(merge(defaults, {"team": team}))


@pytest.fixture
def config():
    return team_config()


def add_nurture(engine, config, number: int, *, now: datetime) -> int:
    """Qualify a new lead with weak answers; the decision's ID comes back."""
    lead_id = add_lead(
        engine,
        email=f"weak{number}@initech.example",
        company=f"Initech {number}",
        domain=f"initech{number}.example",
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
        return record_decision(
            state, session=session, config=config, now=now
        ).decision.id


def answer(engine, config, step, handoff_id: int, at: datetime, **kwargs):
    with session_scope(engine) as session:
        step(handoff_id, user_id=AE, session=session, config=config, now=at, **kwargs)


def exported(engine, window=NOVEMBER, **options):
    return list(decision_export.iter_decisions(engine, window, **options))


def test_an_accepted_sql_carries_its_meeting_and_stopped_handoff_clock(engine, config):
    handoff_id = add_handoff(engine, config, 1, now=NOV_2, sdr=SDR)
    answer(engine, config, handoffs.accept, handoff_id, NOV_2 + timedelta(hours=1))
    answer(
        engine,
        config,
        handoffs.book_meeting,
        handoff_id,
        NOV_2 + timedelta(hours=2),
        meeting_on=date(2026, 11, 9),
        note="",
    )

    (row,) = exported(engine)

    assert row["lead_email"] == "lead1@northwind.example"
    assert row["lead_company"] == "Northwind 1"
    assert row["lead_domain"] == "northwind1.example"
    assert (row["outcome"], row["total"], row["threshold"]) == ("sql", 30, 20)
    assert row["max_total"] == 33
    assert row["matrix_version"] == config.matrix.version
    assert (row["sdr_user_id"], row["ae_user_id"]) == (SDR, AE)
    assert row["handoff_outcome"] == "accepted"
    assert row["handoff_answered_at"] == "2026-11-02T11:00:00+00:00"
    assert row["reject_reason_code"] is None
    assert row["meeting_on"] == "2026-11-09"
    assert row["handoff_clock_started_at"] == "2026-11-02T10:00:00+00:00"
    assert row["handoff_clock_stopped_at"] == "2026-11-02T11:00:00+00:00"
    assert row["handoff_clock_status"] == "met"
    assert row["meeting_clock_status"] == "met"
    pain = next(s for s in row["breakdown"] if s["criterion"] == "pain")
    assert (pain["level"], pain["weight"], pain["points"]) == (3, 3, 9)


def test_a_rejected_sql_carries_the_reason_code_and_a_cancelled_meeting_clock(
    engine, config
):
    handoff_id = add_handoff(engine, config, 1, now=NOV_2, sdr=SDR)
    answer(
        engine,
        config,
        handoffs.reject,
        handoff_id,
        NOV_2 + timedelta(hours=3),
        reason_code="no_budget",
        note="",
    )

    (row,) = exported(engine)

    assert row["handoff_status"] == row["handoff_outcome"] == "rejected"
    assert row["reject_reason_code"] == "no_budget"
    assert row["meeting_on"] is None
    assert row["meeting_clock_status"] == "cancelled"


def test_a_nurture_decision_has_reasons_and_no_handoff(engine, config):
    add_nurture(engine, config, 1, now=NOV_2)

    (row,) = exported(engine)

    assert row["outcome"] == "nurture"
    assert row["reasons"]
    assert row["ae_user_id"] is row["handoff_outcome"] is None
    assert row["handoff_clock_status"] is None
    assert row["meeting_clock_status"] == "open"


def test_decisions_outside_the_window_are_left_out(engine, config):
    for number, day in enumerate((1, 2, 30), start=1):
        add_nurture(engine, config, number, now=NOV_2.replace(day=day))

    rows = exported(
        engine,
        Window(
            since=parse_moment("2026-11-02", BERLIN),
            until=parse_moment("2026-11-29", BERLIN, is_end=True),
        ),
    )

    assert [row["lead_company"] for row in rows] == ["Initech 2"]


def test_small_pages_still_export_every_decision_once_in_order(engine, config):
    for number in range(1, 6):
        add_nurture(engine, config, number, now=NOV_2 + timedelta(minutes=number))

    rows = exported(engine, page=2)

    assert [row["lead_company"] for row in rows] == [
        f"Initech {number}" for number in range(1, 6)
    ]


def test_csv_has_a_level_column_per_criterion_and_the_breakdown_as_json(engine, config):
    add_handoff(engine, config, 1, now=NOV_2, sdr=SDR)
    window = Window(since=NOV_2 - timedelta(days=1))
    file = io.StringIO()

    count = decision_export.write_csv(
        exported(engine, window), file, decision_export.criteria_in(engine, window)
    )

    (row,) = list(csv.DictReader(io.StringIO(file.getvalue())))
    assert count == 1
    assert [name for name in row if name.endswith("_level")] == [
        f"{criterion}_level" for criterion in config.matrix.criteria
    ]
    assert row["pain_level"] == "3"
    assert row["handoff_outcome"] == ""
    assert json.loads(row["reasons"]) == exported(engine, window)[0]["reasons"]
    assert {s["criterion"] for s in json.loads(row["breakdown_json"])} >= {"pain"}


def test_a_date_is_a_whole_day_in_the_team_zone():
    assert parse_moment("2026-11-01", BERLIN) == datetime(
        2026, 10, 31, 23, 0, tzinfo=UTC
    )
    assert parse_moment("2026-11-01", BERLIN, is_end=True) == datetime(
        2026, 11, 1, 23, 0, tzinfo=UTC
    )


def test_a_time_without_an_offset_is_read_in_the_team_zone():
    assert parse_moment("2026-11-01T09:30", BERLIN) == datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC
    )
    assert parse_moment("2026-11-01T09:30Z", BERLIN) == datetime(
        2026, 11, 1, 9, 30, tzinfo=UTC
    )


def test_a_bad_date_says_how_to_write_one():
    with pytest.raises(ValueError) as error:
        parse_moment("November 1st", BERLIN)

    assert str(error.value) == (
        "'November 1st' is not a date or an ISO 8601 time; write it like "
        "2026-11-01 or 2026-11-01T09:00:00+01:00"
    )
