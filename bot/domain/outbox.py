"""The outbox: Slack messages recorded before they are sent, marked after.

A producer records a message in the same transaction as the change that
calls for it, under an idempotency key, so recording it twice is a no-op. The
worker claims due messages by leasing them (they stay pending, but are not due
again until the lease runs out), sends them, and marks each one sent, retried
or failed. A worker that dies mid-send loses nothing: the lease runs out and
the message is claimed again.
"""

from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.db import insert_ignoring_conflicts
from bot.models import OutboxMessage

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
# Long enough for a batch to be sent at one message per second per channel.
DEFAULT_LEASE = timedelta(minutes=2)


def enqueue(
    session, *, key: str, target: str, text: str, blocks: list, now: datetime
) -> bool:
    """Record a message to send; False when one with that key already exists."""
    row_id = insert_ignoring_conflicts(
        session,
        OutboxMessage,
        {
            "idempotency_key": key,
            "target": target,
            "text": text,
            "blocks": blocks,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    return row_id is not None


def claim_batch(
    session, now: datetime, limit: int, *, lease: timedelta = DEFAULT_LEASE
) -> list[OutboxMessage]:
    """Lease up to `limit` due messages, oldest first, for this caller alone.

    On PostgreSQL the rows are locked with SKIP LOCKED, so workers claiming at
    once take different messages; SQLite has one writer at a time anyway.
    The caller commits before sending, which makes the lease visible.
    """
    messages = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == PENDING)
            .where(OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if messages:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([message.id for message in messages]))
            .values(next_attempt_at=now + lease)
        )
    return messages


def mark_sent(
    session, message_id: int, *, channel_id: str, message_ts: str, now: datetime
) -> bool:
    """Record that Slack accepted the message; False if it was already marked."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING)
        .values(
            status=SENT,
            sent_at=now,
            channel_id=channel_id,
            message_ts=message_ts,
            error=None,
        )
    )
    return result.rowcount == 1


def mark_retry(session, message_id: int, *, error: str, retry_at: datetime) -> None:
    """A transient failure: count the attempt and try again at `retry_at`."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING)
        .values(
            attempts=OutboxMessage.attempts + 1,
            next_attempt_at=retry_at,
            error=error,
        )
    )


def defer(session, message_ids: list[int], *, retry_at: datetime) -> None:
    """Try again at `retry_at` without counting an attempt (Slack did nothing).

    For a rate limit, and for leased messages a stopping worker gives back.
    """
    if not message_ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == PENDING)
        .values(next_attempt_at=retry_at)
    )


def mark_failed(session, message_id: int, *, error: str) -> None:
    """A permanent failure: never tried again."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING)
        .values(
            status=FAILED,
            attempts=OutboxMessage.attempts + 1,
            error=error,
        )
    )
