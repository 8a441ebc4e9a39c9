"""Draining the outbox against the fake Web API: once each, paced, retried,
failures reported once."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.config import DEFAULTS_PATH, load_config, merge, parse_config
from bot.db import make_engine, session_scope
from bot.domain import outbox
from bot.models import OutboxMessage
from bot.outbox_sender import ChannelPacer, OutboxSender
from bot.slack.poster import SlackPoster, make_web_client
from tests.conftest import _truncate_postgres
from tests.fakes.slack_api import start_fake_slack

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
SLA = "CSLA"


@pytest.fixture
def fake_slack():
    fake, server = start_fake_slack()
    yield fake
    server.shutdown()
    assert fake.problems == []


@pytest.fixture
def sla_config():
    defaults = load_config(None).model_dump()
    assert DEFAULTS_PATH.exists()
    return parse_config(merge(defaults, {"channels": {"sla": SLA}}))


def _poster(fake) -> SlackPoster:
    client = make_web_client("xoxb-test", fake.base_url, rate_limit_retries=0)
    return SlackPoster(client)


def _sender(engine, fake, config, *, now=NOW, interval_s=0.0, **options):
    clock = now if callable(now) else (lambda: now)
    return OutboxSender(
        engine,
        _poster(fake),
        config,
        now_fn=clock,
        pacer=ChannelPacer(interval_s),
        **options,
    )


def _enqueue(engine, key: str, target: str = "CDEALS", now: datetime = NOW) -> bool:
    with session_scope(engine) as session:
        return outbox.enqueue(
            session, key=key, target=target, text=f"about {key}", blocks=[], now=now
        )


def _stored(engine) -> dict[str, OutboxMessage]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id))
        return {row.idempotency_key: row for row in rows}


def _texts(fake, channel: str | None = None) -> list[str]:
    calls = fake.posts_to(channel) if channel else fake.of("chat.postMessage")
    return [call.args["text"] for call in calls if call.status == 200]


def test_a_message_recorded_twice_is_sent_once(engine, fake_slack, sla_config):
    _enqueue(engine, "reminder-1")
    _enqueue(engine, "reminder-1")

    delivered = _sender(engine, fake_slack, sla_config).drain(threading.Event())

    assert [d.key for d in delivered] == ["reminder-1"]
    assert _texts(fake_slack) == ["about reminder-1"]
    stored = _stored(engine)["reminder-1"]
    assert (stored.status, stored.channel_id) == ("sent", "CDEALS")
    assert stored.message_ts == fake_slack.of("chat.postMessage")[0].response["ts"]


def test_a_user_target_gets_a_dm_opened_once(engine, fake_slack, sla_config):
    _enqueue(engine, "reminder-1", target="UAE1")
    _enqueue(engine, "reminder-2", target="UAE1")

    _sender(engine, fake_slack, sla_config).drain(threading.Event())

    assert len(fake_slack.of("conversations.open")) == 1
    assert _texts(fake_slack, "DAE1") == ["about reminder-1", "about reminder-2"]
    assert _stored(engine)["reminder-2"].channel_id == "DAE1"


def test_posts_to_one_channel_are_paced_while_others_go_at_once(
    engine, fake_slack, sla_config
):
    fake_slack.per_channel_interval_s = 0.3
    for number in range(3):
        _enqueue(engine, f"busy-{number}", target="CBUSY")
    _enqueue(engine, "quiet", target="CQUIET")

    sender = _sender(engine, fake_slack, sla_config, interval_s=0.3)
    delivered = sender.drain(threading.Event())

    assert len(delivered) == 4
    assert fake_slack.rate_limited == 0
    busy = [call.at for call in fake_slack.posts_to("CBUSY")]
    assert all(b - a >= 0.28 for a, b in zip(busy, busy[1:], strict=False))
    (quiet,) = fake_slack.posts_to("CQUIET")
    assert quiet.at < busy[1]


def test_a_429_waits_retry_after_for_that_channel_while_others_flow(
    engine, fake_slack, sla_config
):
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=1, channel="CBUSY")
    now = datetime.now(UTC)
    _enqueue(engine, "busy-1", target="CBUSY", now=now)
    _enqueue(engine, "busy-2", target="CBUSY", now=now)
    _enqueue(engine, "quiet", target="CQUIET", now=now)
    sender = _sender(engine, fake_slack, sla_config, now=lambda: datetime.now(UTC))

    first = sender.drain(threading.Event())
    deadline = time.monotonic() + 5
    later = []
    while len(later) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        later += sender.drain(threading.Event())

    assert [d.key for d in first] == ["quiet"]
    assert [d.key for d in later] == ["busy-1", "busy-2"]
    limited, *accepted = fake_slack.posts_to("CBUSY")
    assert limited.status == 429
    assert accepted[0].at - limited.at >= 1.0
    assert _stored(engine)["busy-1"].attempts == 0


def test_a_transient_error_is_retried_after_a_backoff(engine, fake_slack, sla_config):
    fake_slack.fail("chat.postMessage", "internal_error", times=1)
    _enqueue(engine, "reminder-1")

    at_first = _sender(engine, fake_slack, sla_config).drain(threading.Event())
    waiting = _stored(engine)["reminder-1"]
    retried = _sender(engine, fake_slack, sla_config, now=waiting.next_attempt_at)
    delivered = retried.drain(threading.Event())

    assert at_first == []
    assert (waiting.attempts, waiting.error) == (1, "internal_error")
    assert waiting.next_attempt_at >= NOW + timedelta(seconds=2)
    assert [d.key for d in delivered] == ["reminder-1"]


def test_a_permanent_channel_error_is_reported_once_to_the_sla_channel(
    engine, fake_slack, sla_config
):
    fake_slack.fail("chat.postMessage", "not_in_channel", channel="CGONE")
    for number in range(3):
        _enqueue(engine, f"reminder-{number}", target="CGONE")

    _sender(engine, fake_slack, sla_config).drain(threading.Event())
    _enqueue(engine, "reminder-later", target="CGONE")
    _sender(engine, fake_slack, sla_config).drain(threading.Event())

    stored = _stored(engine)
    assert [stored[f"reminder-{n}"].status for n in range(3)] == ["failed"] * 3
    assert stored["reminder-later"].status == "failed"
    assert _texts(fake_slack, SLA) == [
        ":warning: I could not post to <#CGONE>: Slack answered `not_in_channel`. "
        "Invite @Qualify to it with `/invite @Qualify`. Messages to it are not "
        "retried, and this is the only report of it."
    ]


def test_a_report_that_cannot_be_posted_is_not_reported_again(
    engine, fake_slack, sla_config
):
    fake_slack.fail("chat.postMessage", "channel_not_found")
    _enqueue(engine, "reminder-1", target="CGONE")

    _sender(engine, fake_slack, sla_config).drain(threading.Event())

    statuses = {key: row.status for key, row in _stored(engine).items()}
    assert statuses == {
        "reminder-1": "failed",
        "outbox-failure:CGONE:channel_not_found": "failed",
    }


def test_a_refused_token_pauses_the_outbox_without_failing_messages(
    engine, fake_slack, sla_config
):
    fake_slack.fail("chat.postMessage", "invalid_auth")
    _enqueue(engine, "reminder-1")
    _enqueue(engine, "reminder-2")

    _sender(engine, fake_slack, sla_config).drain(threading.Event())

    assert len(fake_slack.of("chat.postMessage")) == 1
    stored = _stored(engine)
    assert {row.status for row in stored.values()} == {"pending"}
    assert stored["reminder-2"].next_attempt_at == NOW + timedelta(minutes=5)


class CrashingPoster:
    """A poster whose process dies (as far as the drain can tell) mid-send."""

    def open_dm(self, user_id: str) -> str:
        raise SystemExit("killed")

    def post(self, channel_id, message):
        raise SystemExit("killed")


def test_a_send_cut_short_is_sent_once_after_the_lease(engine, fake_slack, sla_config):
    _enqueue(engine, "reminder-1")
    crashing = OutboxSender(engine, CrashingPoster(), sla_config, now_fn=lambda: NOW)
    with pytest.raises(SystemExit):
        crashing.drain(threading.Event())

    too_soon = _sender(engine, fake_slack, sla_config, now=NOW + timedelta(minutes=1))
    assert too_soon.drain(threading.Event()) == []
    after = _sender(engine, fake_slack, sla_config, now=NOW + timedelta(minutes=2))
    delivered = after.drain(threading.Event())

    assert [d.key for d in delivered] == ["reminder-1"]
    assert _texts(fake_slack) == ["about reminder-1"]


def test_a_stop_request_gives_back_the_messages_not_yet_sent(
    engine, fake_slack, sla_config
):
    for number in range(5):
        _enqueue(engine, f"reminder-{number}", target=f"C{number}AAA")
    stop_event = threading.Event()
    fake_slack.delays["chat.postMessage"] = 0.2
    threading.Timer(0.1, stop_event.set).start()

    delivered = _sender(engine, fake_slack, sla_config).drain(stop_event)

    assert [d.key for d in delivered] == ["reminder-0"]
    waiting = [row for row in _stored(engine).values() if row.status == "pending"]
    assert len(waiting) == 4
    assert all(row.next_attempt_at == NOW for row in waiting)


@pytest.fixture
def postgres_url(postgres_migrated):
    _truncate_postgres(postgres_migrated)
    return postgres_migrated


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_racing_over_1000_messages_send_each_exactly_once(
    postgres_url, fake_slack, sla_config, workers
):
    engine = make_engine(postgres_url)
    with session_scope(engine) as session:
        for number in range(1000):
            outbox.enqueue(
                session,
                key=f"reminder-{number}",
                target=f"C{number % 40:03d}AA",
                text=f"about reminder-{number}",
                blocks=[],
                now=NOW,
            )
    start = threading.Barrier(workers)

    def work() -> int:
        own_engine = make_engine(postgres_url)
        sender = _sender(own_engine, fake_slack, sla_config, batch_size=10)
        start.wait()
        count = len(sender.drain(threading.Event()))
        own_engine.dispose()
        return count

    with ThreadPoolExecutor(workers) as pool:
        counts = list(pool.map(lambda _: work(), range(workers)))

    posted = Counter(_texts(fake_slack))
    assert len(posted) == 1000
    assert set(posted.values()) == {1}
    assert sum(counts) == 1000
    assert all(count > 0 for count in counts), counts
    assert {row.status for row in _stored(engine).values()} == {"sent"}
    engine.dispose()
