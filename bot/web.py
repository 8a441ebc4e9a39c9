"""The HTTP surface: Slack's requests, live events and a health check, as WSGI."""

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, Request, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from bot.config import Config
from bot.conversation import new_reference
from bot.db import session_scope, utcnow
from bot.domain.ingest import IngestResult, ingest
from bot.domain.segment import BodyError, ParsedBody, parse_body

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
# Bare hex is what Segment's webhook destinations send; "sha256=" is the
# form GitHub and many other tools use.
ALGORITHMS = {"": hashlib.sha1, "sha256": hashlib.sha256}
# PostgreSQL's deadlock and serialization failures: the whole transaction is
# safe to run again, and one of the contenders always gets through. Waits
# are random so that the others do not collide again at once.
RETRY_SQLSTATES = ("40P01", "40001")
ATTEMPTS = 5
RETRY_WAIT_S = 0.05

HOOKS_OFF = (
    "live events are off: HOOKS_SECRET is not set on the server. Set it to the "
    "shared secret the sender signs with, then restart."
)
TOO_LARGE = (
    "the body is larger than {limit:,} bytes (HOOKS_MAX_BYTES); send fewer "
    "messages per batch"
)
COMPRESSED = "Content-Encoding {!r} is not supported; send the body uncompressed"
SIGNATURE_PROBLEMS = {
    "missing": (
        f"the {SIGNATURE_HEADER} header is missing; sign the raw body with "
        "HMAC-SHA1 (hex), or send sha256=<hex HMAC-SHA256>, keyed with the shared "
        "secret"
    ),
    "algorithm": (
        f"{SIGNATURE_HEADER} names an algorithm this server does not take; send "
        "the hex HMAC-SHA1 alone, or sha256=<hex HMAC-SHA256>"
    ),
    "mismatch": (
        f"{SIGNATURE_HEADER} does not match the body; check that the sender uses "
        "the same shared secret as HOOKS_SECRET and signs the body exactly as sent"
    ),
}
NOT_STORED = (
    "the events could not be stored (ref={ref}); nothing from this request was "
    "kept, so sending it again is safe"
)


@dataclass(frozen=True)
class Hooks:
    """What POST /hooks/events needs; no secret turns the endpoint off."""

    engine: Engine
    config: Config
    secret: str | None
    max_bytes: int
    # Called after the commit when the request made MQLs or alerts.
    on_stored: Callable[[IngestResult], None] = lambda result: None


def create_web_app(bolt_app: App, hooks: Hooks | None = None) -> Flask:
    web = Flask("qualify")
    handler = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events():
        return handler.handle(request)

    # SQLite takes one writer at a time. Queued on a lock here, requests
    # go in turn; left to SQLite's busy handler, which polls with growing
    # sleeps, a late one often gets in first and an early one waits seconds.
    is_sqlite = hooks is not None and hooks.engine.dialect.name == "sqlite"
    one_writer = threading.Lock() if is_sqlite else nullcontext()

    @web.post("/hooks/events")
    def hook_events():
        return receive_events(hooks, request, one_writer)

    @web.get("/healthz")
    def healthz():
        return {"ok": True}

    return web


def receive_events(
    hooks: Hooks | None, request: Request, one_writer: AbstractContextManager
) -> tuple[dict, int]:
    """Check, parse and store one request of Segment messages."""
    if hooks is None or not hooks.secret:
        return _refuse(503, "off", HOOKS_OFF)
    encoding = request.headers.get("Content-Encoding", "identity").lower()
    if encoding != "identity":
        return _refuse(415, "compressed", COMPRESSED.format(encoding))
    body = read_body(request, hooks.max_bytes)
    if body is None:
        return _refuse(413, "too_large", TOO_LARGE.format(limit=hooks.max_bytes))
    problem = check_signature(request.headers.get(SIGNATURE_HEADER), body, hooks.secret)
    if problem:
        return _refuse(401, problem, SIGNATURE_PROBLEMS[problem])

    started, now = time.perf_counter(), utcnow()
    try:
        parsed = parse_body(body, engagement=hooks.config.engagement, now=now)
    except BodyError as error:
        return _refuse(400, "not_segment", str(error))
    try:
        with one_writer:
            result = _store(parsed, hooks, now)
    except Exception as error:
        ref = new_reference()
        logger.error(
            "hook events failed ref=%s bytes=%s", ref, len(body), exc_info=error
        )
        return {"error": NOT_STORED.format(ref=ref)}, 500

    _log_stored(result, parsed, len(body), started)
    if result.new_mql_ids or result.alerts:
        _hand_on(hooks, result)
    rejected = [{"index": index, "reason": reason} for index, reason in result.rejected]
    return {
        "stored": result.stored,
        "duplicates": result.duplicates,
        "profiles": result.profiles,
        "rejected": rejected,
    }, 200


def read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None when it is over `limit` bytes (read no further)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, size = [], 0
    # A chunked body has no Content-Length, and one read may return less
    # than asked for; read until the end or one byte past the limit.
    while size <= limit:
        chunk = request.stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def check_signature(header: str | None, body: bytes, secret: str) -> str | None:
    """None when `header` signs `body` with `secret`, else what is wrong with it."""
    if not header or not header.strip():
        return "missing"
    algorithm, _, digest = header.strip().rpartition("=")
    hash_function = ALGORITHMS.get(algorithm.lower())
    if hash_function is None:
        return "algorithm"
    expected = hmac.new(secret.encode(), body, hash_function).hexdigest()
    if not hmac.compare_digest(expected.encode(), digest.lower().encode()):
        return "mismatch"
    return None


def _is_retryable(error: BaseException) -> bool:
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(error, DBAPIError) and sqlstate in RETRY_SQLSTATES


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception()
    logger.warning(
        "hook events retried attempt=%s sqlstate=%s",
        state.attempt_number,
        getattr(error.orig, "sqlstate", None),
    )


@retry(
    retry=retry_if_exception(_is_retryable),
    stop=stop_after_attempt(ATTEMPTS),
    wait=wait_random_exponential(multiplier=RETRY_WAIT_S, max=2),
    before_sleep=_log_retry,
    reraise=True,
)
def _ingest_once(parsed: ParsedBody, hooks: Hooks, now: datetime) -> IngestResult:
    with session_scope(hooks.engine) as session:
        return ingest(parsed.items, session=session, config=hooks.config, now=now)


def _store(parsed: ParsedBody, hooks: Hooks, now: datetime) -> IngestResult:
    """One transaction for the whole request, run again after a deadlock."""
    result = _ingest_once(parsed, hooks, now)
    unresolved = [(i, parsed.describe(i, reason)) for i, reason in result.rejected]
    result.rejected = sorted(parsed.rejected + unresolved)
    return result


def _hand_on(hooks: Hooks, result: IngestResult) -> None:
    # The events are committed: a failure here must not make the sender send
    # them again, which would find no new MQL to deliver.
    try:
        hooks.on_stored(result)
    except Exception as error:
        ref = new_reference()
        logger.error(
            "intent delivery not started ref=%s mqls=%s",
            ref,
            len(result.new_mql_ids),
            exc_info=error,
        )


def _log_stored(result: IngestResult, parsed: ParsedBody, size: int, started):
    logger.info(
        "hook events stored=%s duplicates=%s profiles=%s rejected=%s "
        "new_leads=%s mqls=%s alerts=%s messages=%s bytes=%s ms=%.1f",
        result.stored,
        result.duplicates,
        result.profiles,
        len(result.rejected),
        result.created_leads,
        len(result.new_mql_ids),
        result.alerts,
        len(parsed.items) + len(parsed.rejected),
        size,
        (time.perf_counter() - started) * 1000,
    )


def _refuse(status: int, reason: str, message: str) -> tuple[dict, int]:
    logger.warning("hook events refused status=%s reason=%s", status, reason)
    return {"error": message}, status
