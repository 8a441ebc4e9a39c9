"""The digest schedule: local time, business days, once per channel and day."""

import threading
import tomllib
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import DEFAULTS_PATH, merge, parse_config
from bot.db import session_scope
from bot.digest_service import enqueue_digests
from bot.domain.digest_schedule import DueDigest, due_digests
from bot.models import OutboxMessage

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
CHANNEL = "C0DIGEST"


def weekdays(day: date) -> bool:
    return day.weekday() < 5


def due(targets, now, sent=None):
    sent = sent or {}
    return due_digests(targets, now, sent.get, is_working_day=weekdays)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_nothing_is_due_before_the_local_time():
    sent = {CHANNEL: date(2026, 12, 2)}

    # Thursday 3 December 2026, 08:29 in Berlin.
    assert due([(CHANNEL, "08:30", BERLIN)], utc(2026, 12, 3, 7, 29), sent) == []


def test_the_digest_is_due_at_the_local_time_and_not_late():
    (digest,) = due([(CHANNEL, "08:30", BERLIN)], utc(2026, 12, 3, 7, 30))

    assert digest == DueDigest(
        CHANNEL,
        date(2026, 12, 3),
        False,
        datetime(2026, 12, 3, 8, 30, tzinfo=BERLIN),
    )


def test_a_digest_already_sent_today_is_not_due_again():
    sent = {CHANNEL: date(2026, 12, 3)}

    assert due([(CHANNEL, "08:30", BERLIN)], utc(2026, 12, 3, 12, 0), sent) == []


def test_the_weekend_is_skipped():
    sent = {CHANNEL: date(2026, 12, 4)}  # Friday's went out.

    assert due([(CHANNEL, "08:30", BERLIN)], utc(2026, 12, 5, 9, 0), sent) == []
    assert due([(CHANNEL, "08:30", BERLIN)], utc(2026, 12, 6, 9, 0), sent) == []
    (monday,) = due([(CHANNEL, "08:30", BERLIN)], utc(2026, 12, 7, 7, 30), sent)
    assert monday.local_date == date(2026, 12, 7)


@pytest.mark.parametrize(
    ("before", "at"),
    [
        # Summer time ended on Sunday 25 October: 08:30 is 07:30 UTC again.
        (utc(2026, 10, 26, 7, 29), utc(2026, 10, 26, 7, 30)),
        # Summer time began on Sunday 29 March: 08:30 is 06:30 UTC.
        (utc(2026, 3, 30, 6, 29), utc(2026, 3, 30, 6, 30)),
    ],
)
def test_a_daylight_saving_change_keeps_the_digest_at_0830_local(before, at):
    sent = {CHANNEL: date(2026, 10, 23) if at.month == 10 else date(2026, 3, 27)}

    assert due([(CHANNEL, "08:30", BERLIN)], before, sent) == []
    (digest,) = due([(CHANNEL, "08:30", BERLIN)], at, sent)
    assert digest.due_at.astimezone(BERLIN).strftime("%H:%M") == "08:30"
    assert not digest.is_late


def test_two_time_zones_each_get_their_own_0830():
    targets = [("C0BERLIN", "08:30", BERLIN), ("C0NEWYORK", "08:30", NEW_YORK)]
    sent = {"C0BERLIN": date(2026, 12, 2), "C0NEWYORK": date(2026, 12, 2)}

    berlin_morning = due(targets, utc(2026, 12, 3, 7, 30), sent)
    new_york_morning = due(
        targets, utc(2026, 12, 3, 13, 30), {**sent, "C0BERLIN": date(2026, 12, 3)}
    )

    assert [d.channel for d in berlin_morning] == ["C0BERLIN"]
    assert [(d.channel, d.is_late) for d in new_york_morning] == [("C0NEWYORK", False)]


def test_a_worker_back_days_later_sends_only_the_latest_missed_day_late():
    sent = {CHANNEL: date(2026, 11, 30)}  # Monday's; then the worker was down.

    (digest,) = due([(CHANNEL, "08:30", BERLIN)], utc(2026, 12, 3, 6, 0), sent)

    assert (digest.local_date, digest.is_late) == (date(2026, 12, 2), True)


@pytest.fixture
def config():
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    digest = {"time": "08:30", "time_zone": "Europe/Berlin"}
    return parse_config(
        merge(defaults, {"channels": {"digest": CHANNEL}, "digest": digest})
    )


def render(*, session, config, channel, day, zone):
    title = f"Digest of {day.isoformat()}"
    return title, [{"type": "header", "text": {"type": "plain_text", "text": title}}]


def outbox_rows(engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_missed_digest_is_sent_late_once(engine, config):
    # Thursday 3 December; the worker was down at 08:30 and is back at 11:00.
    back = utc(2026, 12, 3, 10, 0)

    first = enqueue_digests(engine, config, back, render=render)
    again = enqueue_digests(engine, config, utc(2026, 12, 3, 10, 1), render=render)

    (row,) = outbox_rows(engine)
    assert (first, again) == (1, 0)
    assert row.idempotency_key == f"digest:{CHANNEL}:2026-12-03"
    assert row.target == CHANNEL
    # Thursday's digest reports on Wednesday.
    assert row.text == "Digest of 2026-12-02 (late: due 08:30)"
    assert row.blocks[0]["text"]["text"] == "Digest of 2026-12-02 (late: due 08:30)"


def test_a_digest_on_time_is_not_marked_late(engine, config):
    enqueue_digests(engine, config, utc(2026, 12, 7, 7, 30), render=render)

    (row,) = outbox_rows(engine)
    # Monday's digest reports on Friday.
    assert row.text == "Digest of 2026-12-04"


def test_two_workers_at_the_same_moment_record_one_digest(engine, config):
    if engine.dialect.name != "postgresql":
        pytest.skip("several workers run on PostgreSQL only")
    now = utc(2026, 12, 3, 7, 30)
    start = threading.Barrier(2)
    counts = []

    def slow_render(**kwargs):
        start.wait(timeout=10)
        return render(**kwargs)

    def work():
        counts.append(enqueue_digests(engine, config, now, render=slow_render))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(counts) == [0, 1]
    assert [row.idempotency_key for row in outbox_rows(engine)] == [
        f"digest:{CHANNEL}:2026-12-03"
    ]
