"""How long one lead's engagement level takes when it has 10,000 events.

The level is computed in the database (one GROUP BY over the lead's window
and one indexed seek per intent-sequence step). The baseline, measured in the
same run on the same rows, is what the code did before: read the window's
rows and compute in Python. Both backends are measured; the PostgreSQL one
uses a database of its own, created and dropped here.
"""

import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from bot.config import load_config
from bot.db import make_engine, session_scope, upgrade_database
from bot.domain.engagement import assess_events, assess_lead
from bot.models import Event, Lead

EVENTS = 10_000
OTHER_LEADS = 500
OTHER_EVENTS = 40
ROUNDS = 200
TARGET_MS = 10.0
NAMES = [
    "page_view",
    "page_view",
    "page_view",
    "email_open",
    "email_click",
    "pricing_page_view",
    "g2_profile_view",
    "content_download",
    "solutions_page_view",
    "webinar_attended",
    "logged_in",
]
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    f"postgresql+psycopg://postgres@127.0.0.1:5432/qualify_bench_{os.getpid()}",
)
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def run() -> dict:
    config = load_config(None).engagement
    figures = {}
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'engagement.db'}"
        figures["sqlite"] = measure(url, config)
    with postgres_database(POSTGRES_URL) as url:
        figures["postgresql"] = measure(url, config)

    worst = max(result["median_ms"] for result in figures.values())
    return {
        **figures,
        "median_ms": worst,
        "events": EVENTS,
        "meets_target": worst < TARGET_MS,
    }


def measure(url: str, config) -> dict:
    upgrade_database(url)
    engine = make_engine(url)
    lead_id = seed(engine)
    vacuum(url)

    def in_database(session):
        return assess_lead(lead_id, session=session, config=config, now=NOW)

    def in_python(session):
        horizon = NOW - timedelta(days=config.window_days)
        rows = session.execute(
            select(Event.name, Event.occurred_at).where(
                Event.lead_id == lead_id,
                Event.occurred_at >= horizon,
                Event.occurred_at <= NOW,
            )
        ).all()
        return assess_events(config, rows, NOW)

    with session_scope(engine) as session:
        assert in_database(session).level == in_python(session).level
    ours = time_calls(engine, in_database)
    baseline = time_calls(engine, in_python)
    engine.dispose()
    return {
        "median_ms": round(ours, 3),
        "python_median_ms": round(baseline, 3),
        "ratio_vs_python": round(ours / baseline, 3),
    }


def time_calls(engine, call) -> float:
    timings = []
    with session_scope(engine) as session:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            call(session)
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def seed(engine) -> int:
    """The measured lead with EVENTS events, among others with a few each."""
    rng = random.Random(7)
    with session_scope(engine) as session:
        leads = [
            Lead(email=f"person{number}@bench.example", domain="bench.example")
            for number in range(OTHER_LEADS + 1)
        ]
        session.add_all(leads)
        session.flush()
        lead_ids = [lead.id for lead in leads]

    rows = []
    for lead_id, count in [(lead_ids[0], EVENTS)] + [
        (other, OTHER_EVENTS) for other in lead_ids[1:]
    ]:
        for number in range(count):
            rows.append(
                {
                    "lead_id": lead_id,
                    "name": rng.choice(NAMES),
                    "occurred_at": NOW - timedelta(seconds=rng.uniform(0, 120 * 86400)),
                    "source": "bench",
                    "dedupe_key": f"{lead_id}-{number}",
                    "properties": {},
                }
            )
    with engine.begin() as connection:
        connection.execute(insert(Event.__table__), rows)
    return lead_ids[0]


def vacuum(url: str) -> None:
    """Leave the table as autovacuum would after a bulk load (and plan stats)."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = make_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
        engine.dispose()
        return
    dsn = make_url(url).set(drivername="postgresql")
    with psycopg.connect(dsn.render_as_string(hide_password=False)) as connection:
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE events")


class postgres_database:
    """A PostgreSQL database for one run, dropped afterwards."""

    def __init__(self, url: str) -> None:
        self.url = url
        admin = make_url(url).set(drivername="postgresql", database="postgres")
        self.admin = admin.render_as_string(hide_password=False)
        self.name = make_url(url).database

    def __enter__(self) -> str:
        with psycopg.connect(self.admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            connection.execute(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *_exc) -> None:
        with psycopg.connect(self.admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def format_summary(figures: dict) -> str:
    verdict = "met" if figures["meets_target"] else "MISSED"
    lines = [
        f"engagement_level: one lead with {figures['events']:,} events "
        f"(target median < {TARGET_MS} ms): {verdict}"
    ]
    for backend in ("sqlite", "postgresql"):
        result = figures[backend]
        lines.append(
            f"  {backend}: in the database {result['median_ms']} ms median, "
            f"rows read into Python {result['python_median_ms']} ms "
            f"(ratio {result['ratio_vs_python']})"
        )
    return "\n".join(lines)
