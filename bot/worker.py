"""The worker: each pass records what the SLA clocks call for, then drains
the outbox. `python -m bot worker` runs passes until SIGTERM; `--once` one.

On PostgreSQL any number of workers may run (both steps claim rows with
SKIP LOCKED). On SQLite one worker holds a lock file beside the database and
a second one is refused with a message saying so.
"""

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from bot.config import Config
from bot.outbox_sender import Delivery, OutboxSender

logger = logging.getLogger(__name__)

# Seconds between passes when nothing was due.
POLL_S = 1.0


class WorkerError(Exception):
    """The worker cannot run; the message says why and what to do."""


def run_pass(
    engine: Engine,
    config: Config,
    sender: OutboxSender,
    *,
    now: datetime,
    stop_event: threading.Event,
    enqueue_due: Callable | None = None,
    deliver_intent: Callable[[], None] | None = None,
    enqueue_digests: Callable | None = None,
) -> list[Delivery]:
    """Record every message the clocks owe at `now` and the digests due,
    then send what is due.

    `deliver_intent` posts the MQLs and intent alerts still waiting (no
    queue channel yet, a refused post), so they go out on the worker's
    timer, not only with the next live event.
    """
    enqueue_due = enqueue_due or _sla_enqueue_due()
    while not stop_event.is_set() and enqueue_due(engine, config, now):
        pass
    if not stop_event.is_set():
        (enqueue_digests or _enqueue_digests())(engine, config, now)
    if deliver_intent is not None and not stop_event.is_set():
        deliver_intent()
    return sender.drain(stop_event)


def run_worker(
    engine: Engine,
    config: Config,
    sender: OutboxSender,
    *,
    stop_event: threading.Event,
    poll_s: float = POLL_S,
    enqueue_due: Callable | None = None,
    deliver_intent: Callable[[], None] | None = None,
) -> int:
    """Run passes until `stop_event` is set; the number of messages sent."""
    sent = 0
    logger.info("worker started poll_s=%s", poll_s)
    while not stop_event.is_set():
        delivered = run_pass(
            engine,
            config,
            sender,
            now=sender.now_fn(),
            stop_event=stop_event,
            enqueue_due=enqueue_due,
            deliver_intent=deliver_intent,
        )
        sent += len(delivered)
        if not delivered:
            stop_event.wait(poll_s)
    logger.info("worker stopped sent=%s", sent)
    return sent


def _enqueue_digests() -> Callable:
    from bot.digest_service import enqueue_digests

    return enqueue_digests


def _sla_enqueue_due() -> Callable:
    from bot.sla_service import enqueue_due

    return enqueue_due


class SqliteWorkerLock:
    """An exclusive lock file beside a SQLite database: one worker at a time.

    The lock is the kernel's (flock), so it is released when the process
    dies, even by SIGKILL; the file itself may stay and is harmless.
    """

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database
        self.path = Path(f"{database}.worker.lock") if database else None
        self._file = None

    def __enter__(self) -> "SqliteWorkerLock":
        if self.path is None:
            return self
        self._file = self.path.open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            raise WorkerError(
                f"another worker (pid {holder}) is already running on this SQLite "
                f"database (lock file {self.path}); SQLite allows one worker at a "
                "time. Stop it first, or use PostgreSQL to run several."
            ) from None
        self._file.truncate(0)
        self._file.write(str(os.getpid()))
        self._file.flush()
        return self

    def __exit__(self, *_exc) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def worker_lock(database_url: str):
    """The lock a worker holds for its lifetime: a file lock on SQLite only."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return SqliteWorkerLock(database_url)
    return nullcontext()
