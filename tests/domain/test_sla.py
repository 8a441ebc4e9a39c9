"""SLA clocks: deadlines, reminders once each, breaches once, reassignment."""

import itertools
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.config import DEFAULTS_PATH, merge, parse_config
from bot.db import session_scope
from bot.domain import interviews, routing, sla
from bot.domain import mql as mqls
from bot.domain.ingest import Person, TrackedEvent, ingest
from bot.models import ClockEvent, OutboxMessage, SlaClock
from bot.sla_service import enqueue_due
from tests.factories import add_events, add_lead

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 7 December 2026, 10:00 in Berlin.
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)
TEAM = {
    "channels": {"sla": "CSLA1", "queue": "CQUEUE1"},
    "team": {
        "sdrs": ["USDR1", "USDR2", "USDR3"],
        "aes": ["UAE1", "UAE2"],
        "managers": ["UMGR1", "UMGR2"],
    },
    "sla": {"time_zone": "Europe/Berlin", "managers": {"USDR3": "UMGR2"}},
}
EMAILS = itertools.count()


@pytest.fixture
def config():
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    return parse_config(merge(defaults, TEAM))


def start(engine, config, kind="first_touch", at=MONDAY_10, **fields):
    values = {"subject_id": None, "owner_user_id": "USDR1"} | fields
    lead_id = values.pop("lead_id", None) or add_lead(
        engine, email=f"dana{next(EMAILS)}@northwind.example"
    )
    with session_scope(engine) as session:
        clock = sla.start_clock(
            kind, lead_id=lead_id, at=at, session=session, config=config, **values
        )
    return clock


def take(engine, config, now, limit=500) -> list[sla.Notice]:
    with session_scope(engine) as session:
        work = sla.take_due(session=session, config=config, now=now, limit=limit)
        return work.notices


def load(engine, clock_id: int) -> SlaClock:
    with session_scope(engine) as session:
        return session.get(SlaClock, clock_id)


def events(engine, clock_id: int) -> list[str]:
    with session_scope(engine) as session:
        statement = select(ClockEvent.kind).where(ClockEvent.clock_id == clock_id)
        return list(session.scalars(statement.order_by(ClockEvent.id)))


def test_starting_a_clock_sets_its_deadline_and_first_check(engine, config):
    clock = start(engine, config)

    assert clock.due_at == MONDAY_10 + timedelta(minutes=15)
    assert clock.next_check_at == MONDAY_10 + timedelta(minutes=7, seconds=30)
    assert (clock.status, clock.reminders_sent) == ("open", [])
    assert events(engine, clock.id) == ["start"]


def test_starting_a_clock_already_open_for_the_lead_changes_nothing(engine, config):
    first = start(engine, config)

    second = start(engine, config, lead_id=first.lead_id, at=MONDAY_10 + timedelta(1))

    assert second is None
    assert load(engine, first.id).due_at == first.due_at
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(SlaClock)) == 1


def test_an_mql_reached_on_friday_afternoon_is_due_on_monday(engine, config):
    friday_15 = datetime(2026, 12, 4, 15, 0, tzinfo=BERLIN)

    clock = start(engine, config, "mql_claim", at=friday_15, owner_user_id=None)

    assert clock.due_at == datetime(2026, 12, 7, 11, 0, tzinfo=BERLIN)
    # Half of four business hours: two, all on Friday.
    assert clock.next_check_at == datetime(2026, 12, 4, 17, 0, tzinfo=BERLIN)


def test_a_meeting_clock_runs_three_business_days(engine, config):
    clock = start(engine, config, "sql_meeting")

    assert clock.due_at == datetime(2026, 12, 10, 10, 0, tzinfo=BERLIN)


def test_a_clock_over_the_spring_change_is_due_at_the_local_time(engine, config):
    friday_15 = datetime(2026, 3, 27, 15, 0, tzinfo=BERLIN)

    clock = start(engine, config, "handoff_answer", at=friday_15, owner_user_id="UAE1")

    assert clock.due_at == datetime(2026, 3, 30, 11, 0, tzinfo=BERLIN)
    assert clock.due_at == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_reminders_at_half_and_four_fifths_are_sent_once_each(engine, config):
    clock = start(engine, config)
    half = MONDAY_10 + timedelta(minutes=7, seconds=30)
    four_fifths = MONDAY_10 + timedelta(minutes=12)

    before = take(engine, config, half - timedelta(seconds=1))
    first = take(engine, config, half)
    again = take(engine, config, half + timedelta(seconds=30))
    second = take(engine, config, four_fifths)
    again_later = take(engine, config, four_fifths + timedelta(seconds=30))

    assert before == []
    assert [(n.kind, n.recipient, n.fraction) for n in first] == [
        ("reminder", "USDR1", 0.5)
    ]
    assert again == [] and again_later == []
    assert [(n.kind, n.fraction) for n in second] == [("reminder", 0.8)]
    assert first[0].key == f"sla:{clock.id}:reminder:0.5:USDR1"
    stored = load(engine, clock.id)
    assert stored.reminders_sent == [0.5, 0.8]
    assert stored.next_check_at == clock.due_at
    assert events(engine, clock.id) == ["start", "reminder", "reminder"]


def test_a_worker_that_was_down_sends_only_the_latest_reminder(engine, config):
    clock = start(engine, config)

    notices = take(engine, config, MONDAY_10 + timedelta(minutes=13))

    assert [(n.kind, n.fraction) for n in notices] == [("reminder", 0.8)]
    assert load(engine, clock.id).reminders_sent == [0.5, 0.8]


def test_a_breach_is_announced_once_to_the_channel_and_the_manager(engine, config):
    clock = start(engine, config)
    due = clock.due_at

    notices = take(engine, config, due)
    again = take(engine, config, due + timedelta(hours=1))

    assert sorted((n.kind, n.recipient) for n in notices) == [
        ("breach", "CSLA1"),
        ("breach", "UMGR1"),
    ]
    assert again == []
    stored = load(engine, clock.id)
    assert (stored.status, stored.breached_at, stored.next_check_at) == (
        "open",
        due,
        None,
    )
    assert events(engine, clock.id) == ["start", "breach"]


def test_a_breach_goes_to_the_manager_the_config_names_for_the_owner(engine, config):
    clock = start(engine, config, owner_user_id="USDR3")

    notices = take(engine, config, clock.due_at)

    assert {n.recipient for n in notices} == {"CSLA1", "UMGR2"}


def test_a_clock_paused_overnight_resumes_in_the_morning(engine, config):
    monday_16 = datetime(2026, 12, 7, 16, 0, tzinfo=BERLIN)
    clock = start(engine, config, "handoff_answer", at=monday_16, owner_user_id="UAE1")
    night = datetime(2026, 12, 7, 23, 0, tzinfo=BERLIN)
    tuesday_10 = datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN)

    at_night = take(engine, config, night)
    in_the_morning = take(engine, config, tuesday_10)

    assert clock.due_at == datetime(2026, 12, 8, 12, 0, tzinfo=BERLIN)
    assert at_night == []
    assert [(n.kind, n.fraction) for n in in_the_morning] == [("reminder", 0.5)]


def test_an_unclaimed_mql_past_its_clock_goes_to_the_next_sdr_not_away(engine, config):
    clock = start(engine, config, "mql_claim", owner_user_id=None, subject_id=7)
    with session_scope(engine) as session:
        routing.set_away(
            "USDR1",
            clock.due_at + timedelta(days=1),
            set_by="UMGR1",
            session=session,
            now=MONDAY_10,
        )

    notices = take(engine, config, clock.due_at)

    assert sorted((n.kind, n.recipient) for n in notices) == [
        ("breach", "CSLA1"),
        ("breach", "UMGR1"),
        ("reassigned_to", "USDR2"),
    ]
    assert load(engine, clock.id).owner_user_id == "USDR2"
    assert events(engine, clock.id) == ["start", "breach", "reassign"]


def test_a_reassignment_tells_the_old_owner_and_skips_them(engine, config):
    clock = start(engine, config, "mql_claim", owner_user_id="USDR2", subject_id=7)

    notices = take(engine, config, clock.due_at)

    moved = [(n.kind, n.recipient, n.new_owner_user_id) for n in notices]
    assert ("reassigned_to", "USDR1", "USDR1") in moved
    assert ("reassigned_away", "USDR2", "USDR1") in moved


def test_an_unowned_mql_reminds_the_queue(engine, config):
    clock = start(engine, config, "mql_claim", owner_user_id=None, subject_id=7)

    notices = take(engine, config, clock.next_check_at)

    assert [(n.kind, n.recipient) for n in notices] == [("reminder", "CQUEUE1")]


def test_a_clock_stopped_in_time_is_met_and_never_checked_again(engine, config):
    clock = start(engine, config)
    stopped_at = MONDAY_10 + timedelta(minutes=5)

    with session_scope(engine) as session:
        stopped = sla.stop_clocks(
            "first_touch",
            lead_id=clock.lead_id,
            at=stopped_at,
            user_id="USDR1",
            session=session,
        )

    assert [c.id for c in stopped] == [clock.id]
    stored = load(engine, clock.id)
    assert (stored.status, stored.stopped_at, stored.next_check_at) == (
        "met",
        stopped_at,
        None,
    )
    assert take(engine, config, clock.due_at) == []
    assert events(engine, clock.id) == ["start", "stop"]


def test_a_clock_stopped_after_its_breach_is_late(engine, config):
    clock = start(engine, config)
    take(engine, config, clock.due_at)

    with session_scope(engine) as session:
        sla.stop_clocks(
            "first_touch",
            lead_id=clock.lead_id,
            at=clock.due_at + timedelta(minutes=1),
            user_id="USDR1",
            session=session,
        )

    assert load(engine, clock.id).status == "late"


def test_stopping_one_subject_leaves_the_other_running(engine, config):
    first = start(engine, config, "handoff_answer", subject_id=1)
    second = start(
        engine, config, "handoff_answer", subject_id=2, lead_id=first.lead_id
    )

    with session_scope(engine) as session:
        sla.stop_clocks(
            "handoff_answer",
            lead_id=first.lead_id,
            subject_id=1,
            at=MONDAY_10,
            user_id="UAE1",
            session=session,
        )

    assert (load(engine, first.id).status, load(engine, second.id).status) == (
        "met",
        "open",
    )


def test_a_claim_stops_the_mql_clock_and_starts_the_meeting_clock(engine, config):
    lead_id = add_lead(engine)
    add_events(engine, lead_id, ("demo_request", 0.01), now=MONDAY_10)
    with session_scope(engine) as session:
        (mql,) = mqls.detect_mqls(
            [lead_id], session=session, config=config, now=MONDAY_10
        )
    claimed_at = MONDAY_10 + timedelta(hours=1)

    with session_scope(engine) as session:
        mqls.claim(
            mql.id, user_id="USDR2", session=session, config=config, now=claimed_at
        )

    with session_scope(engine) as session:
        clocks = session.scalars(select(SlaClock).order_by(SlaClock.id)).all()
    assert [(c.kind, c.status, c.owner_user_id) for c in clocks] == [
        ("mql_claim", "met", None),
        ("sql_meeting", "open", "USDR2"),
    ]
    assert clocks[0].subject_id == mql.id


def test_a_demo_request_starts_the_first_touch_clock_of_the_leads_sdr(engine, config):
    add_lead(engine, sdr_user_id="USDR1")
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    person = Person(email="dana@northwind.example")
    item = TrackedEvent(person, "demo_request", now, source="segment", source_id="e1")

    with session_scope(engine) as session:
        ingest([(0, item)], session=session, config=config, now=now)

    with session_scope(engine) as session:
        (clock,) = session.scalars(select(SlaClock)).all()
    assert (clock.kind, clock.owner_user_id, clock.started_at) == (
        "first_touch",
        "USDR1",
        now,
    )


def test_reminders_for_one_person_become_one_outbox_message(engine, config):
    clocks = [start(engine, config) for _ in range(3)]
    start(engine, config, owner_user_id="USDR2")
    half = clocks[0].next_check_at

    taken = enqueue_due(engine, config, half)
    again = enqueue_due(engine, config, half)

    assert (taken, again) == (4, 0)
    with session_scope(engine) as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.target))
        messages = {row.target: row for row in rows}
    assert set(messages) == {"USDR1", "USDR2"}
    grouped = messages["USDR1"]
    assert len(grouped.blocks) == 4
    assert grouped.text.startswith("3 SLA updates: Dana Lee (Northwind)")
    assert "reach out to them by <!date^" in grouped.blocks[1]["text"]["text"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_over_the_same_due_clocks_send_each_notice_once(engine, config):
    lead_id = add_lead(engine)
    with session_scope(engine) as session:
        for subject_id in range(1, 201):
            sla.start_clock(
                "handoff_answer",
                lead_id=lead_id,
                subject_id=subject_id,
                owner_user_id="UAE1",
                at=MONDAY_10,
                session=session,
                config=config,
            )
    half = MONDAY_10 + timedelta(hours=2)
    barrier = threading.Barrier(2)
    taken: list[list[sla.Notice]] = [[], []]

    def worker(index: int) -> None:
        barrier.wait()
        for _ in range(10):
            taken[index] += take(engine, config, half, limit=25)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    keys = [notice.key for notice in taken[0] + taken[1]]
    assert len(keys) == 200
    assert len(set(keys)) == 200


def test_qualifying_a_lead_is_its_first_touch_and_starts_the_meeting_clock(
    engine, config
):
    clock = start(engine, config)
    touched_at = MONDAY_10 + timedelta(minutes=20)

    with session_scope(engine) as session:
        interviews.start_interview(
            clock.lead_id,
            "USDR1",
            "D0DM1",
            session=session,
            config=config,
            now=touched_at,
        )

    with session_scope(engine) as session:
        clocks = session.scalars(select(SlaClock).order_by(SlaClock.id)).all()
    assert [(c.kind, c.status, c.owner_user_id) for c in clocks] == [
        ("first_touch", "late", "USDR1"),
        ("sql_meeting", "open", "USDR1"),
    ]
    assert clocks[1].started_at == touched_at
