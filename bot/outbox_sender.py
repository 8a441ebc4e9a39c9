"""Sending the outbox to Slack: paced per channel, retried, failures reported once.

A batch is claimed (leased) and committed before anything is sent, so two
workers never hold the same message. Each message is marked right after Slack
answers. See the README's notes on the worker for the crash windows.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from tenacity import RetryCallState, wait_exponential_jitter

from bot import messages
from bot.config import Config
from bot.db import session_scope
from bot.domain import outbox
from bot.models import OutboxMessage
from bot.slack.blocks import Message, section
from bot.slack.poster import Poster, PostError

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
# chat.postMessage allows about one message per second per channel.
CHANNEL_INTERVAL_S = 1.0
# Stop sending a batch when its lease has less than this left, so that no
# other worker can claim a message while it is still being sent here.
LEASE_MARGIN = timedelta(seconds=15)
# Transient failures are retried this many times before the message fails.
MAX_ATTEMPTS = 8
# A token Slack refuses makes every call fail: wait before trying again.
AUTH_PAUSE = timedelta(minutes=5)
REPORT_PREFIX = "outbox-failure:"

TRANSIENT_ERRORS = {
    "connection_error",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "unknown_error",
}
# The token itself is refused: nothing can be posted, not even a report, so
# messages wait for the token to be fixed instead of failing.
AUTH_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
}
_BACKOFF = wait_exponential_jitter(multiplier=2, max=600, jitter=2)


@dataclass(frozen=True)
class Delivery:
    """One message Slack accepted during a drain."""

    key: str
    target: str
    channel_id: str
    ts: str
    text: str


@dataclass(frozen=True)
class Attachment:
    """A file shared in a sent message's thread."""

    filename: str
    content: bytes
    title: str


class ChannelPacer:
    """Keeps posts to one channel about `interval_s` apart, and holds a
    channel for as long as a 429 asked."""

    def __init__(
        self, interval_s: float = CHANNEL_INTERVAL_S, clock=time.monotonic
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._next: dict[str, float] = {}

    def wait_s(self, channel: str) -> float:
        return max(0.0, self._next.get(channel, 0.0) - self._clock())

    def posted(self, channel: str) -> None:
        self._next[channel] = self._clock() + self.interval_s

    def hold(self, channel: str, seconds: float) -> None:
        until = self._clock() + seconds
        self._next[channel] = max(self._next.get(channel, 0.0), until)


def backoff_after(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th transient failure."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.attempt_number = attempts
    return timedelta(seconds=_BACKOFF(state))


class OutboxSender:
    """Drains the outbox; one per worker, kept across passes (the pacer and
    the DM channels it opened carry over)."""

    def __init__(
        self,
        engine: Engine,
        poster: Poster,
        config: Config,
        *,
        now_fn: Callable[[], datetime],
        pacer: ChannelPacer | None = None,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = outbox.DEFAULT_LEASE,
        attachment_for: Callable[[OutboxMessage], Attachment | None] | None = None,
    ) -> None:
        self.engine = engine
        self.poster = poster
        self.config = config
        self.now_fn = now_fn
        self.pacer = pacer or ChannelPacer()
        self.batch_size = batch_size
        self.lease = lease
        self.attachment_for = attachment_for
        self._dm_channels: dict[str, str] = {}

    def drain(self, stop_event: threading.Event) -> list[Delivery]:
        """Send every due message, batch after batch, until none is due or
        `stop_event` is set (the message in flight is finished first)."""
        delivered: list[Delivery] = []
        while not stop_event.is_set():
            with session_scope(self.engine) as session:
                batch = outbox.claim_batch(
                    session, self.now_fn(), self.batch_size, lease=self.lease
                )
            if not batch:
                break
            delivered += self._send_batch(batch, stop_event)
        return delivered

    def _send_batch(self, batch, stop_event) -> list[Delivery]:
        queues: dict[str, deque[OutboxMessage]] = {}
        for message in batch:
            queues.setdefault(message.target, deque()).append(message)
        deadline = time.monotonic() + (self.lease - LEASE_MARGIN).total_seconds()

        delivered = []
        while queues and not stop_event.is_set():
            target = min(queues, key=self.pacer.wait_s)
            wait_s = self.pacer.wait_s(target)
            if time.monotonic() + wait_s > deadline:
                break
            if wait_s and stop_event.wait(wait_s):
                break
            queue = queues[target]
            outcome = self._send(queue.popleft())
            if isinstance(outcome, Delivery):
                delivered.append(outcome)
            elif outcome == "auth":
                self._give_back(queues, self.now_fn() + AUTH_PAUSE)
                return delivered
            elif isinstance(outcome, datetime):
                # Rate limited: the channel's later messages wait with it.
                self._give_back({target: queue}, outcome)
                queue.clear()
            if not queue:
                del queues[target]

        self._give_back(queues, self.now_fn())
        return delivered

    def _give_back(self, queues: dict, retry_at: datetime) -> None:
        ids = [message.id for queue in queues.values() for message in queue]
        if not ids:
            return
        with session_scope(self.engine) as session:
            outbox.defer(session, ids, retry_at=retry_at)

    def _send(self, message: OutboxMessage):
        """Post one message and record the outcome: a Delivery, the time a
        rate-limited channel may be tried again, "auth", or None."""
        try:
            channel_id = self._channel_for(message.target)
            posted = self.poster.post(channel_id, Message(message.text, message.blocks))
        except PostError as error:
            self.pacer.posted(message.target)
            return self._record_failure(message, error)
        self.pacer.posted(message.target)

        with session_scope(self.engine) as session:
            first = outbox.mark_sent(
                session,
                message.id,
                channel_id=posted.channel_id,
                message_ts=posted.ts,
                now=self.now_fn(),
            )
        if not first:
            # Another worker sent it too after this one's lease ran out.
            logger.warning("outbox message sent twice key=%s", message.idempotency_key)
        elif self.attachment_for is not None:
            self._attach(message, posted.channel_id, posted.ts)
        logger.info(
            "outbox sent key=%s channel_id=%s ts=%s",
            message.idempotency_key,
            posted.channel_id,
            posted.ts,
        )
        return Delivery(
            message.idempotency_key,
            message.target,
            posted.channel_id,
            posted.ts,
            message.text,
        )

    def _attach(self, message: OutboxMessage, channel_id: str, ts: str) -> None:
        """The message's file (the digest's chart), in its thread.

        The message is already recorded as sent: a failed upload is logged,
        not retried, and costs the chart only.
        """
        attachment = self.attachment_for(message)
        if attachment is None:
            return
        try:
            self.poster.upload_file(
                channel_id,
                attachment.filename,
                attachment.content,
                attachment.title,
                thread_ts=ts,
            )
        except PostError as error:
            logger.warning(
                "outbox attachment not uploaded key=%s error=%s",
                message.idempotency_key,
                error.code,
            )

    def _channel_for(self, target: str) -> str:
        if target[0] not in "UW":
            return target
        if target not in self._dm_channels:
            self._dm_channels[target] = self.poster.open_dm(target)
        return self._dm_channels[target]

    def _record_failure(self, message: OutboxMessage, error: PostError):
        key, code = message.idempotency_key, error.code
        if error.status == 429:
            wait_s = error.retry_after if error.retry_after is not None else 1.0
            self.pacer.hold(message.target, wait_s)
            retry_at = self.now_fn() + timedelta(seconds=wait_s)
            with session_scope(self.engine) as session:
                outbox.defer(session, [message.id], retry_at=retry_at)
            logger.warning(
                "outbox rate limited key=%s target=%s retry_after_s=%s",
                key,
                message.target,
                wait_s,
            )
            return retry_at
        if code in AUTH_ERRORS:
            with session_scope(self.engine) as session:
                outbox.defer(session, [message.id], retry_at=self.now_fn() + AUTH_PAUSE)
            logger.error(
                "outbox paused: Slack refused the bot token error=%s; nothing is "
                "sent until SLACK_BOT_TOKEN is fixed",
                code,
            )
            return "auth"

        attempts = message.attempts + 1
        if self._is_transient(error) and attempts < MAX_ATTEMPTS:
            wait = backoff_after(attempts)
            with session_scope(self.engine) as session:
                outbox.mark_retry(
                    session, message.id, error=code, retry_at=self.now_fn() + wait
                )
            logger.warning(
                "outbox retry key=%s error=%s attempt=%s retry_in_s=%.0f",
                key,
                code,
                attempts,
                wait.total_seconds(),
            )
            return None

        with session_scope(self.engine) as session:
            outbox.mark_failed(session, message.id, error=code)
            reported = self._report(session, message, code)
        logger.error(
            "outbox failed key=%s target=%s error=%s attempts=%s reported=%s",
            key,
            message.target,
            code,
            attempts,
            reported,
        )
        return None

    @staticmethod
    def _is_transient(error: PostError) -> bool:
        return error.code in TRANSIENT_ERRORS or error.status >= 500

    def _report(self, session, message: OutboxMessage, code: str) -> bool:
        """Record one report per target and error for the SLA channel."""
        channel = self.config.channels.sla
        if not channel or message.idempotency_key.startswith(REPORT_PREFIX):
            return False
        mention = "@" if message.target[0] in "UW" else "#"
        where = f"<{mention}{message.target}>"
        text = messages.OUTBOX_FAILED.format(
            where=where,
            error=code,
            fix=messages.OUTBOX_FIXES.get(code, messages.OUTBOX_FIX_OTHER),
        )
        return outbox.enqueue(
            session,
            key=f"{REPORT_PREFIX}{message.target}:{code}",
            target=channel,
            text=text,
            blocks=[section(text)],
            now=self.now_fn(),
        )


def drain(
    engine: Engine,
    poster: Poster,
    config: Config,
    now_fn: Callable[[], datetime],
    stop_event: threading.Event,
    **options,
) -> int:
    """Send every due message of the outbox; the number Slack accepted."""
    sender = OutboxSender(engine, poster, config, now_fn=now_fn, **options)
    return len(sender.drain(stop_event))
