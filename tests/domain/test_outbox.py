"""The outbox's records: one per key, claimed by one caller, marked once."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.db import session_scope
from bot.domain import outbox
from bot.models import OutboxMessage

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def _enqueue(engine, key: str, *, target: str = "CSLA", now: datetime = NOW) -> bool:
    with session_scope(engine) as session:
        return outbox.enqueue(
            session, key=key, target=target, text=f"text {key}", blocks=[], now=now
        )


def _all(engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        return list(session.exec(statement))


def _claim(engine, now: datetime = NOW, limit: int = 10) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return outbox.claim_batch(session, now, limit)


def test_recording_a_key_twice_keeps_one_message(engine):
    first = _enqueue(engine, "reminder-1")

    second = _enqueue(engine, "reminder-1")

    assert (first, second) == (True, False)
    assert [m.idempotency_key for m in _all(engine)] == ["reminder-1"]


def test_a_claim_takes_due_messages_oldest_first_and_leases_them(engine):
    _enqueue(engine, "later", now=NOW + timedelta(minutes=5))
    _enqueue(engine, "second", now=NOW - timedelta(minutes=1))
    _enqueue(engine, "first", now=NOW - timedelta(minutes=2))

    claimed = _claim(engine)

    assert [m.idempotency_key for m in claimed] == ["first", "second"]
    leased = {m.idempotency_key: m for m in _all(engine)}
    assert leased["first"].status == "pending"
    assert leased["first"].next_attempt_at == NOW + outbox.DEFAULT_LEASE


def test_a_leased_message_is_not_claimed_again_until_the_lease_runs_out(engine):
    _enqueue(engine, "reminder-1")
    _claim(engine)

    during = _claim(engine, NOW + outbox.DEFAULT_LEASE - timedelta(seconds=1))
    after = _claim(engine, NOW + outbox.DEFAULT_LEASE)

    assert during == []
    assert [m.idempotency_key for m in after] == ["reminder-1"]


def test_a_claim_takes_no_more_than_the_limit(engine):
    for number in range(5):
        _enqueue(engine, f"reminder-{number}")

    claimed = _claim(engine, limit=3)

    assert len(claimed) == 3
    assert len(_claim(engine)) == 2


def test_marking_sent_twice_reports_the_second_time(engine):
    _enqueue(engine, "reminder-1")
    (message,) = _claim(engine)

    with session_scope(engine) as session:
        first = outbox.mark_sent(
            session, message.id, channel_id="CSLA", message_ts="1.1", now=NOW
        )
        second = outbox.mark_sent(
            session, message.id, channel_id="CSLA", message_ts="1.2", now=NOW
        )

    assert (first, second) == (True, False)
    (stored,) = _all(engine)
    assert (stored.status, stored.message_ts, stored.sent_at) == ("sent", "1.1", NOW)


def test_a_retry_counts_the_attempt_and_a_deferral_does_not(engine):
    _enqueue(engine, "reminder-1")
    (message,) = _claim(engine)
    retry_at = NOW + timedelta(seconds=30)

    with session_scope(engine) as session:
        outbox.mark_retry(session, message.id, error="internal_error", retry_at=NOW)
        outbox.defer(session, [message.id], retry_at=retry_at)

    (stored,) = _all(engine)
    assert (stored.attempts, stored.error) == (1, "internal_error")
    assert stored.next_attempt_at == retry_at
    assert _claim(engine) == []


def test_a_failed_message_is_never_claimed_again(engine):
    _enqueue(engine, "reminder-1")
    (message,) = _claim(engine)

    with session_scope(engine) as session:
        outbox.mark_failed(session, message.id, error="channel_not_found")

    (stored,) = _all(engine)
    assert (stored.status, stored.error) == ("failed", "channel_not_found")
    assert _claim(engine, NOW + timedelta(days=1)) == []
