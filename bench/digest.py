"""How long the manager's digest takes for a big team's data.

100,000 leads, 1,000,000 events and 20,000 decisions (with their handoffs,
answers, MQLs and SLA clocks) spread over 90 days; the figure is the time
to build one day's digest and its 14-day chart series, on SQLite and on
PostgreSQL (a throwaway database). The rows are written with plain Core
inserts; only the reading is timed.
"""

import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bench.engagement_level import postgres_database, vacuum
from bot.config import load_config
from bot.db import make_engine, session_scope, upgrade_database
from bot.domain.digest import build_digest
from bot.domain.digest_series import daily_series
from bot.models import (
    Decision,
    Event,
    Handoff,
    HandoffAnswer,
    Interview,
    Lead,
    MatrixVersion,
    Mql,
    SlaClock,
)

LEADS = int(os.environ.get("DIGEST_BENCH_LEADS", "100000"))
EVENTS = int(os.environ.get("DIGEST_BENCH_EVENTS", "1000000"))
DECISIONS = int(os.environ.get("DIGEST_BENCH_DECISIONS", "20000"))
ROUNDS = 5
TARGET_MS = 2000.0
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DAY = date(2026, 12, 2)
ZONE = ZoneInfo("Europe/Berlin")
SDRS = [f"USDR{n}" for n in range(12)]
AES = [f"UAE{n}" for n in range(8)]
NAMES = ["page_view", "email_open", "pricing_page_view", "content_download"]
BATCH = 20_000
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    f"postgresql+psycopg://postgres@127.0.0.1:5432/qualify_digest_{os.getpid()}",
)


def run() -> dict:
    config = load_config(None)
    figures = {}
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'digest.db'}"
        figures["sqlite_ms"] = measure(url, config)
    with postgres_database(POSTGRES_URL) as url:
        figures["postgres_ms"] = measure(url, config)
    worst = max(figures["sqlite_ms"], figures["postgres_ms"])
    return {
        **figures,
        "leads": LEADS,
        "events": EVENTS,
        "decisions": DECISIONS,
        "meets_target": worst < TARGET_MS,
    }


def measure(url: str, config) -> float:
    upgrade_database(url)
    engine = make_engine(url)
    seed(engine, config)
    vacuum(url)

    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        with session_scope(engine) as session:
            build_digest(session=session, config=config, day=DAY, zone=ZONE)
            daily_series(session=session, config=config, end_day=DAY, zone=ZONE)
        timings.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return round(statistics.median(timings), 1)


def seed(engine, config) -> None:
    rng = random.Random(11)
    version = config.matrix.version

    def when(days: float = 90) -> datetime:
        return NOW - timedelta(seconds=rng.uniform(0, days * 86400))

    with engine.begin() as connection:
        connection.execute(
            insert(MatrixVersion.__table__),
            [{"version": version, "name": "bench", "content": {}, "created_at": NOW}],
        )
        _insert_batches(
            connection,
            Lead,
            (
                {
                    "email": f"p{n}@c{n % 20000}.example",
                    "domain": f"c{n % 20000}.example",
                    "name": f"Person {n}",
                    "company": f"Company {n % 20000}",
                    "attributes": {},
                    "created_at": NOW,
                    "updated_at": NOW,
                    "sdr_user_id": rng.choice(SDRS) if n % 5 == 0 else None,
                }
                for n in range(LEADS)
            ),
        )
        _insert_batches(
            connection,
            Event,
            (
                {
                    "lead_id": rng.randint(1, LEADS),
                    "name": rng.choice(NAMES),
                    "occurred_at": when(),
                    "source": "bench",
                    "dedupe_key": f"e{n}",
                    "properties": {},
                }
                for n in range(EVENTS)
            ),
        )
        _seed_pipeline(connection, rng, version, when)


def _seed_pipeline(connection, rng, version: str, when) -> None:
    interviews, decisions, handoffs, answers, mqls, clocks = [], [], [], [], [], []
    for n in range(1, DECISIONS + 1):
        decided = when()
        sdr = rng.choice(SDRS)
        is_sql = rng.random() < 0.35
        interviews.append(
            {
                "id": n,
                "lead_id": n,
                "sdr_user_id": sdr,
                "dm_channel_id": "D0BENCH",
                "status": "submitted",
                "questions": [],
                "matrix_version": version,
                "started_at": decided - timedelta(minutes=20),
                "updated_at": decided,
            }
        )
        decisions.append(
            {
                "id": n,
                "interview_id": n,
                "lead_id": n,
                "sdr_user_id": sdr,
                "outcome": "sql" if is_sql else "nurture",
                "total": 24 if is_sql else 12,
                "max_total": 33,
                "threshold": 20,
                "breakdown": [],
                "reasons": [],
                "signals": [],
                "matrix_version": version,
                "decided_at": decided,
            }
        )
        reached = decided - timedelta(hours=rng.uniform(1, 48))
        mqls.append(
            {
                "lead_id": n,
                "reached_at": reached,
                "reason": "score",
                "engagement_level": 2,
                "signals": [],
                "status": "claimed",
                "claimed_by": sdr,
                "claimed_at": reached + timedelta(hours=1),
            }
        )
        if is_sql:
            ae = rng.choice(AES)
            status = rng.choice(["pending", "accepted", "accepted", "rejected"])
            handoffs.append(
                {
                    "id": n,
                    "decision_id": n,
                    "lead_id": n,
                    "ae_user_id": ae,
                    "status": status,
                    "created_at": decided,
                }
            )
            if status != "pending":
                answers.append(
                    {
                        "handoff_id": n,
                        "action": status,
                        "user_id": ae,
                        "ae_user_id": ae,
                        "reason_code": "bad_timing" if status == "rejected" else None,
                        "note": "",
                        "at": decided + timedelta(hours=rng.uniform(0.5, 8)),
                    }
                )
            due = decided + timedelta(hours=4)
            stopped = decided + timedelta(hours=rng.uniform(0.5, 8))
            clocks.append(
                {
                    "lead_id": n,
                    "kind": "handoff_answer",
                    "subject_id": n,
                    "owner_user_id": ae,
                    "started_at": decided,
                    "due_at": due,
                    "next_check_at": None,
                    "reminders_sent": [],
                    "stopped_at": stopped,
                    "status": "met" if stopped <= due else "late",
                }
            )
    for model, rows in (
        (Interview, interviews),
        (Decision, decisions),
        (Handoff, handoffs),
        (HandoffAnswer, answers),
        (Mql, mqls),
        (SlaClock, clocks),
    ):
        _insert_batches(connection, model, iter(rows))


def _insert_batches(connection, model, rows) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            connection.execute(insert(model.__table__), batch)
            batch = []
    if batch:
        connection.execute(insert(model.__table__), batch)


def format_summary(figures: dict) -> str:
    verdict = "met" if figures["meets_target"] else "MISSED"
    return (
        f"digest: {figures['leads']:,} leads, {figures['events']:,} events, "
        f"{figures['decisions']:,} decisions: SQLite {figures['sqlite_ms']} ms, "
        f"PostgreSQL {figures['postgres_ms']} ms median for one day's digest "
        f"and its 14-day series (target < {TARGET_MS:.0f} ms): {verdict}"
    )
