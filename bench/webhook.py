"""webhook: signed Segment batches into POST /hooks/events of `python -m bot serve`.

The real server (gunicorn, WEB_* and WORK_PROCESSES as this environment sets
them) runs on a fresh database with HOOKS_SECRET set, beside the fake Slack
API that takes the MQL posts the events cause. CLIENTS threads send batches
of BATCH messages (page views, track calls and one identify, for LEADS
people) back to back for SECONDS after a warm-up. Every message is new, so
every request writes; at the end the stored rows are counted against what
the responses said.

`python -m bench webhook` runs on SQLite. `python -m bench.webhook --database
postgresql+psycopg://user@host:5432/any` runs on a scratch database created
on that server (and dropped after), recorded as `webhook_postgresql`.
"""

import hashlib
import hmac
import itertools
import json
import os
import random
import ssl
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx
import psycopg
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench import BenchError
from bench.servers import RemoteFake, free_port, running_fake_slack, running_server
from bench.slack_requests import BOT_TOKEN, SIGNING_SECRET
from bot.db import make_engine, session_scope
from bot.models import Event, Lead, Mql
from bot.settings import Settings

CLIENTS = 8
BATCH = 20
LEADS = 2000
SECONDS = float(os.environ.get("WEBHOOK_BENCH_SECONDS", "20"))
WARMUP_S = 2.0
REQUEST_TIMEOUT_S = 30
HOOKS_SECRET = "bench-hooks-secret-8c1f0e5a2b77"
QUEUE = "CQUEUE"
PAGES = ("/", "/blog/routing-101", "/solutions/routing", "/docs/api", "/pricing")
TRACKS = ("email_opened", "email_clicked", "content_downloaded", "webinar_attended")
# One track call in this many is a demo request: a hand-raiser MQL.
DEMO_EVERY = 200
# Only plain HTTP is used, but every httpx.Client builds a TLS context unless
# given one, which costs ~30 ms each.
TLS = ssl.create_default_context()
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def run(database: str = "sqlite") -> dict:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory("-webhook")))
        fake = stack.enter_context(running_fake_slack(workdir))
        if database == "sqlite":
            database_url = f"sqlite:///{workdir / 'qualify.db'}"
        else:
            database_url = stack.enter_context(scratch_postgres(database))
        settings = _settings()
        env = server_env(workdir, fake, settings, database_url)
        port = free_port()
        server = stack.enter_context(
            running_server(
                "ours",
                ["-m", "bot", "serve", "--port", str(port)],
                port=port,
                env=env,
                log_path=workdir / "serve.log",
            )
        )
        url = f"{server.base_url}/hooks/events"

        load = Load(url)
        load.run(WARMUP_S, record=False)
        load.run(SECONDS, record=True)
        figures = load.figures()
        figures.update(count_rows(database_url, load))
    figures["backend"] = make_url(database_url).get_backend_name()
    figures["workers"] = settings.web_concurrency
    figures["threads"] = settings.web_threads
    figures["work_processes"] = settings.work_processes
    return figures


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise BenchError(f"the environment's settings are invalid: {error}") from None


class Load:
    """CLIENTS threads posting signed batches to `url` back to back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies_ms: list[float] = []
        self.errors: Counter = Counter()
        # Over the warm-up and the measured run: what the database should hold.
        self.events_sent = self.stored = self.rejected = 0
        # Over the measured run only.
        self.measured_stored = 0
        self.busy_s = 0.0
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def run(self, seconds: float, record: bool) -> None:
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(target=self._client, args=(deadline, record))
            for _ in range(CLIENTS)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if record:
            self.busy_s += time.perf_counter() - started

    def _client(self, deadline: float, record: bool) -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT_S, verify=TLS) as client:
            while time.monotonic() < deadline:
                with self._lock:
                    number = next(self._numbers)
                body = batch_body(number)
                headers = {
                    "Content-Type": "application/json",
                    "X-Signature": sign(body),
                }
                self._send(client, body, headers, record)

    def _send(self, client: httpx.Client, body: bytes, headers, record: bool):
        started = time.perf_counter()
        try:
            response = client.post(self.url, content=body, headers=headers)
            error = None if response.status_code == 200 else response.status_code
        except httpx.HTTPError as exc:
            response, error = None, type(exc).__name__
        elapsed_ms = (time.perf_counter() - started) * 1000

        with self._lock:
            self.events_sent += BATCH - 1
            if error is not None:
                self.errors[str(error)] += 1
            else:
                answer = response.json()
                self.stored += answer["stored"]
                self.rejected += len(answer["rejected"])
            if record:
                self.latencies_ms.append(elapsed_ms)
                if error is None:
                    self.measured_stored += answer["stored"]

    def figures(self) -> dict:
        if len(self.latencies_ms) < 2:
            raise BenchError("webhook: fewer than two requests were measured")
        requests = len(self.latencies_ms)
        return {
            "requests": requests,
            "requests_per_s": round(requests / self.busy_s, 1),
            "events_per_s": round(self.measured_stored / self.busy_s, 1),
            "p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "p99_ms": round(percentile(self.latencies_ms, 99), 1),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "clients": CLIENTS,
            "batch": BATCH,
            "seconds": SECONDS,
        }


def batch_body(number: int) -> bytes:
    """BATCH messages: one identify, then track calls and page views."""
    rng = random.Random(number)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    person = rng.randrange(LEADS)
    messages = [
        {
            "type": "identify",
            "userId": f"user-{person}",
            "messageId": str(uuid.uuid4()),
            "timestamp": now,
            "traits": {
                "email": lead_email(person),
                "name": f"Buyer {person}",
                "title": "VP Sales",
                "company": {"name": f"Company {person}", "employee_count": 250},
                "address": {"country": "US"},
            },
        }
    ]
    for _ in range(BATCH - 1):
        person = rng.randrange(LEADS)
        message = {
            "messageId": str(uuid.uuid4()),
            "timestamp": now,
            "context": {"traits": {"email": lead_email(person)}},
        }
        if rng.random() < 0.6:
            path = rng.choice(PAGES)
            message |= {"type": "page", "properties": {"path": path, "title": "x"}}
        else:
            event = "demo_request" if rng.randrange(DEMO_EVERY) == 0 else None
            event = event or rng.choice(TRACKS)
            message |= {"type": "track", "event": event, "properties": {"n": 1}}
        messages.append(message)
    return json.dumps({"batch": messages}).encode()


def lead_email(number: int) -> str:
    return f"buyer{number}@company{number}.example"


def sign(body: bytes) -> str:
    return hmac.new(HOOKS_SECRET.encode(), body, hashlib.sha1).hexdigest()


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def count_rows(database_url: str, load: Load) -> dict:
    """What the database holds, against what the responses said was stored."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            events = session.scalar(select(func.count()).select_from(Event))
            leads = session.scalar(select(func.count()).select_from(Lead))
            mqls = session.scalar(select(func.count()).select_from(Mql))
    finally:
        engine.dispose()
    return {
        "events_stored": events,
        "events_answered_stored": load.stored,
        # Events of failed requests, which a real sender would send again.
        "events_not_stored": load.events_sent - (events + load.rejected),
        "leads": leads,
        "mqls": mqls,
    }


def server_env(
    workdir: Path, fake: RemoteFake, settings: Settings, database_url: str
) -> dict[str, str]:
    config_path = workdir / "qualify.toml"
    config_path.write_text(
        f'[channels]\nsql = "CSQL"\nnurture = "CNURTURE"\nhandoff = "CHANDOFF"\n'
        f'queue = "{QUEUE}"\n\n[team]\nsdrs = ["USDR1"]\naes = ["UAE1"]\n',
        encoding="utf-8",
    )
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{fake.base_url}api/",
        "DATABASE_URL": database_url,
        "QUALIFY_CONFIG": str(config_path),
        "HOOKS_SECRET": HOOKS_SECRET,
        "WEB_CONCURRENCY": str(settings.web_concurrency),
        "WEB_THREADS": str(settings.web_threads),
        "WORK_PROCESSES": str(settings.work_processes),
        "HOST": "127.0.0.1",
    }


@contextmanager
def scratch_postgres(server_url: str):
    """A fresh database on the server of `server_url`, dropped afterwards."""
    url = make_url(server_url).set(database=f"qualify_bench_webhook_{os.getpid()}")
    admin = make_url(server_url).set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{url.database}"')
    except psycopg.OperationalError as error:
        raise BenchError(f"cannot reach PostgreSQL at {server_url}: {error}") from None
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def format_summary(figures: dict) -> str:
    rows = [
        f"webhook: {figures['clients']} clients, batches of {figures['batch']} "
        f"messages for {figures['seconds']:.0f} s on {figures['backend']} "
        f"(gunicorn {figures['workers']}×{figures['threads']} threads, "
        f"{figures['work_processes']} work processes)",
        f"  {figures['events_per_s']:.0f} events/s, "
        f"{figures['requests_per_s']:.0f} requests/s, p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms, errors {figures['errors']}",
        f"  stored {figures['events_stored']} events for {figures['leads']} leads "
        f"({figures['mqls']} MQLs); not stored {figures['events_not_stored']}",
    ]
    return "\n".join(rows)


@click.command()
@click.option(
    "--database",
    default="sqlite",
    show_default=True,
    help='"sqlite", or a PostgreSQL URL whose server gets a scratch database.',
)
def main(database: str) -> None:
    """Run the webhook benchmark on one backend and record its figures."""
    from bench.__main__ import RESULTS_PATH, read_results, write_results

    if database not in ("sqlite", "postgresql"):
        if make_url(database).get_backend_name() != "postgresql":
            raise click.BadParameter("give sqlite or a PostgreSQL URL", "--database")
    if database == "postgresql":
        database = DEFAULT_POSTGRES
    try:
        figures = run(database)
    except BenchError as error:
        raise click.ClickException(str(error)) from None
    click.echo(format_summary(figures))
    name = "webhook" if database == "sqlite" else "webhook_postgresql"
    results = read_results(RESULTS_PATH)
    results[name] = figures
    write_results(RESULTS_PATH, results)


if __name__ == "__main__":
    main(prog_name="python -m bench.webhook")
