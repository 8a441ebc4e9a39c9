"""How long finding the due SLA clocks takes among 100,000 open ones.

The worker runs this query on every pass: clocks whose next check has come,
earliest first. It should read the partial index on next_check_at and touch
only the few hundred due rows, whatever the number of open or stopped
clocks. The query plan is recorded beside the timing to show it does. Both
backends are measured; the PostgreSQL one uses a database of its own.
"""

import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session

from bench.engagement_level import postgres_database
from bot.db import make_engine, upgrade_database
from bot.domain.sla import due_clocks
from bot.models import Lead, SlaClock

OPEN_CLOCKS = 100_000
STOPPED_CLOCKS = 50_000
DUE = 300
LEADS = 2_000
LIMIT = 500
ROUNDS = 100
TARGET_MS = 50.0
KINDS = ("first_touch", "mql_claim", "sql_meeting", "handoff_answer")
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    f"postgresql+psycopg://postgres@127.0.0.1:5432/qualify_bench_sla_{os.getpid()}",
)
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def run() -> dict:
    figures = {}
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'sla.db'}"
        figures["sqlite"] = measure(url)
    with postgres_database(POSTGRES_URL) as url:
        figures["postgresql"] = measure(url)

    worst = max(result["median_ms"] for result in figures.values())
    return {
        **figures,
        "median_ms": worst,
        "open_clocks": OPEN_CLOCKS,
        "stopped_clocks": STOPPED_CLOCKS,
        "due": DUE,
        "meets_target": worst < TARGET_MS,
    }


def measure(url: str) -> dict:
    upgrade_database(url)
    engine = make_engine(url)
    seed(engine)
    analyze(engine)

    timings = []
    for _ in range(ROUNDS):
        with Session(engine) as session:
            started = time.perf_counter()
            found = list(session.scalars(due_clocks(NOW, LIMIT, session=session)))
            timings.append((time.perf_counter() - started) * 1000)
            session.rollback()
        assert len(found) == DUE, len(found)

    plan = query_plan(engine)
    engine.dispose()
    return {
        "median_ms": round(statistics.median(timings), 3),
        "p95_ms": round(sorted(timings)[int(ROUNDS * 0.95) - 1], 3),
        "uses_partial_index": "ix_sla_clocks_next_check" in plan,
        "plan": plan,
    }


def seed(engine) -> None:
    """Open clocks checked over the next days, DUE of them already due, and
    stopped clocks (no next check) that the index leaves out."""
    rng = random.Random(5)
    with Session(engine) as session:
        session.add_all(
            Lead(email=f"person{n}@bench.example", domain="bench.example")
            for n in range(LEADS)
        )
        session.commit()
    rows = []
    for number in range(OPEN_CLOCKS + STOPPED_CLOCKS):
        started_at = NOW - timedelta(minutes=rng.uniform(0, 3 * 1440))
        if number < DUE:
            next_check = NOW - timedelta(minutes=rng.uniform(1, 60))
        elif number < OPEN_CLOCKS:
            next_check = NOW + timedelta(minutes=rng.uniform(1, 3 * 1440))
        else:
            next_check = None
        rows.append(
            {
                "lead_id": 1 + number % LEADS,
                "kind": KINDS[number % len(KINDS)],
                "subject_id": number,
                "owner_user_id": "USDR1",
                "started_at": started_at,
                "due_at": started_at + timedelta(hours=4),
                "next_check_at": next_check,
                "reminders_sent": [],
                "status": "open" if next_check else "met",
            }
        )
    with engine.begin() as connection:
        connection.execute(insert(SlaClock.__table__), rows)


def analyze(engine) -> None:
    """Plan statistics, as autovacuum would leave them after a bulk load."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("VACUUM ANALYZE sla_clocks")


def query_plan(engine) -> str:
    """EXPLAIN (QUERY PLAN on SQLite) of the measured query, as text."""
    with Session(engine) as session:
        statement = due_clocks(NOW, LIMIT, session=session)
        sql = str(
            statement.compile(
                dialect=engine.dialect, compile_kwargs={"literal_binds": True}
            )
        )
        if engine.dialect.name == "sqlite":
            rows = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(row[-1] for row in rows)
        rows = session.connection().exec_driver_sql(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in rows)


def format_summary(figures: dict) -> str:
    verdict = "met" if figures["meets_target"] else "MISSED"
    lines = [
        f"sla_due_scan: {figures['due']} due among {figures['open_clocks']:,} open "
        f"and {figures['stopped_clocks']:,} stopped clocks "
        f"(target median < {TARGET_MS} ms): {verdict}"
    ]
    for backend in ("sqlite", "postgresql"):
        result = figures[backend]
        index = "partial index used" if result["uses_partial_index"] else "NO INDEX"
        lines.append(
            f"  {backend}: {result['median_ms']} ms median, "
            f"p95 {result['p95_ms']} ms, {index}"
        )
        lines += [f"    {line}" for line in result["plan"].splitlines()]
    return "\n".join(lines)
