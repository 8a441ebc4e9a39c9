"""import_events: streaming a 1,000,000-row events export, against bare Core.

A generic events file (3,000 leads, five event names, times spread over the
last 90 days, one property) is imported by our importer into a fresh
database, and the same rows by a plain SQLAlchemy Core loop that reads the
file with csv and runs `conn.execute(insert(Event.__table__), rows)` per
batch of the same size: no validation, no duplicate check, no rejected file.
Each runs in its own subprocess, so that its peak RSS is its own, and each
runs ROUNDS times, taking turns to go first.

`IMPORT_BENCH_ROWS` (or `python -m bench.import_events --rows N`, which
prints the figures without recording them) makes a smaller run;
`IMPORT_BENCH_ROUNDS` sets the rounds; `IMPORT_BENCH_POSTGRES_URL` names a
PostgreSQL database to run on as well (by default one made for the run on
the local server and dropped after it; "" skips PostgreSQL).
"""

import csv
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import psycopg
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from bench import PROJECT_ROOT, BenchError
from bot.config import load_config
from bot.db import make_engine, upgrade_database
from bot.domain import importer
from bot.models import Event, Lead

ROWS = int(os.environ.get("IMPORT_BENCH_ROWS", "1000000"))
LEADS = 3000
EVENT_NAMES = (
    "pricing_page_view",
    "webinar_attended",
    "content_download",
    "email_click",
    "demo_request",
)
DAYS = 90
TARGET_RATIO = 0.5
TARGET_RSS_MB = 200
CHILD_TIMEOUT_S = 1800
# Each contender runs this many times, taking turns to go first; the best run
# of each counts, so that a burst of other work on the machine hurts neither.
ROUNDS = int(os.environ.get("IMPORT_BENCH_ROUNDS", "2"))
POSTGRES_URL = os.environ.get(
    "IMPORT_BENCH_POSTGRES_URL",
    f"postgresql+psycopg://postgres@127.0.0.1:5432/qualify_bench_{os.getpid()}",
)


def run(rows: int = ROWS) -> dict:
    with tempfile.TemporaryDirectory(prefix="qualify-import-") as name:
        workdir = Path(name)
        events_path = write_events_file(workdir / "events.csv", rows)
        template = workdir / "template.db"
        seed(f"sqlite:///{template}", workdir)

        figures = {"rows": rows, "leads": LEADS, "batch_size": importer.BATCH_SIZE}
        figures["file_mb"] = round(events_path.stat().st_size / 2**20, 1)
        figures["rounds"] = ROUNDS

        def fresh_sqlite(contender: str) -> str:
            database = workdir / f"{contender}.db"
            for leftover in ("-wal", "-shm"):
                Path(f"{database}{leftover}").unlink(missing_ok=True)
            shutil.copy(template, database)
            return f"sqlite:///{database}"

        figures.update(best_of_rounds(fresh_sqlite, events_path, rows, prefix=""))
        figures.update(postgres_figures(workdir, events_path, rows))

    figures["ratio_vs_core"] = round(
        figures["ours_rows_per_s"] / figures["core_rows_per_s"], 2
    )
    figures["peak_rss_mb"] = figures["ours_peak_rss_mb"]
    figures["meets_target"] = (
        figures["ratio_vs_core"] >= TARGET_RATIO
        and figures["peak_rss_mb"] < TARGET_RSS_MB
    )
    return figures


def write_events_file(path: Path, rows: int) -> Path:
    """A generic events export; every row is a distinct event."""
    generator = random.Random(4)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=DAYS)
    step = DAYS * 86400 / rows
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["email", "event", "occurred_at", "page"])
        for number in range(rows):
            # Increasing times, so that no two rows are the same event.
            moment = start + timedelta(seconds=number * step)
            lead = generator.randrange(LEADS)
            writer.writerow(
                [
                    lead_email(lead),
                    generator.choice(EVENT_NAMES),
                    moment.isoformat().replace("+00:00", "Z"),
                    f"/blog/post-{generator.randrange(400)}",
                ]
            )
    return path


def lead_email(number: int) -> str:
    return f"buyer{number}@lead{number:04d}.example"


def seed(database_url: str, workdir: Path) -> None:
    """The schema and the leads the events belong to."""
    upgrade_database(database_url)
    leads_path = workdir / "leads.csv"
    with leads_path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["email", "name", "title", "company", "domain", "industry"]
            + ["employees", "country"]
        )
        for number in range(LEADS):
            writer.writerow(
                [lead_email(number), f"Buyer {number}", "VP Sales"]
                + [f"Lead {number}", f"lead{number:04d}.example", "Software", 250]
                + ["US"]
            )
    engine = make_engine(database_url)
    try:
        importer.import_leads(leads_path, engine=engine)
    finally:
        engine.dispose()


def measure(
    contender: str, database_url: str, events_path: Path, expected_rows: int
) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.import_events",
        "--child",
        contender,
        database_url,
        str(events_path),
    ]
    completed = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
    )
    if completed.returncode != 0:
        raise BenchError(f"the {contender} import failed:\n{completed.stderr}")
    measured = json.loads(completed.stdout.splitlines()[-1])
    if measured.pop("rows") != expected_rows:
        raise BenchError(f"the {contender} import did not store every row")
    return measured


def best_of_rounds(fresh, events_path: Path, rows: int, prefix: str) -> dict:
    """The fastest run of each contender, and the largest peak RSS of ours."""
    runs: dict[str, list[dict]] = {"ours": [], "core": []}
    for round_number in range(ROUNDS):
        order = ["ours", "core"] if round_number % 2 == 0 else ["core", "ours"]
        for contender in order:
            database_url = fresh(contender)
            runs[contender].append(measure(contender, database_url, events_path, rows))

    figures = {}
    for contender, measured in runs.items():
        best = max(measured, key=lambda run: run["rows_per_s"])
        figures.update({f"{prefix}{contender}_{k}": v for k, v in best.items()})
        figures[f"{prefix}{contender}_rows_per_s_runs"] = [
            run["rows_per_s"] for run in measured
        ]
        figures[f"{prefix}{contender}_peak_rss_mb"] = max(
            run["peak_rss_mb"] for run in measured
        )
    return figures


def postgres_figures(workdir: Path, events_path: Path, rows: int) -> dict:
    if not POSTGRES_URL:
        return {"postgresql": "skipped (IMPORT_BENCH_POSTGRES_URL is empty)"}
    try:
        _create_database(POSTGRES_URL)
    except psycopg.OperationalError as error:
        return {"postgresql": f"skipped ({str(error).strip().splitlines()[0]})"}
    try:
        seed(POSTGRES_URL, workdir)

        def emptied(contender: str) -> str:
            _empty_events(POSTGRES_URL)
            return POSTGRES_URL

        figures = best_of_rounds(emptied, events_path, rows, prefix="pg_")
        figures["pg_ratio_vs_core"] = round(
            figures["pg_ours_rows_per_s"] / figures["pg_core_rows_per_s"], 2
        )
        return figures
    finally:
        _drop_database(POSTGRES_URL)


def _admin(url: str) -> psycopg.Connection:
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


def _create_database(url: str) -> None:
    name = make_url(url).database
    with _admin(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _drop_database(url: str) -> None:
    with _admin(url) as connection:
        name = make_url(url).database
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_events(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE events RESTART IDENTITY"))
    engine.dispose()


def import_with_ours(database_url: str, events_path: Path) -> dict:
    engine = make_engine(database_url)
    config = load_config(None)
    updates = []

    started = time.perf_counter()
    result = importer.import_events(
        events_path,
        engine=engine,
        config=config,
        progress=lambda done, rows: updates.append(rows),
    )
    elapsed = time.perf_counter() - started
    engine.dispose()

    if result.rejected or result.duplicates:
        raise SystemExit(f"{result.rejected} rejected, {result.duplicates} duplicates")
    return {"seconds": elapsed, "rows": result.imported, "batches": len(updates)}


def import_with_core(database_url: str, events_path: Path) -> dict:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        lead_ids = dict(connection.execute(select(Lead.email, Lead.id)).all())
    statement = insert(Event.__table__)
    batch_size = importer.BATCH_SIZE
    inserting = 0.0

    def write(rows: list[dict]) -> None:
        nonlocal inserting
        began = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(statement, rows)
        inserting += time.perf_counter() - began

    started = time.perf_counter()
    count = 0
    with events_path.open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        next(reader)
        rows = []
        for email, name, when, page in reader:
            moment = datetime.fromisoformat(when).astimezone(UTC)
            identity = "\n".join((email, name, moment.isoformat()))
            rows.append(
                {
                    "lead_id": lead_ids[email],
                    "name": name,
                    "occurred_at": moment,
                    "source": "csv",
                    "dedupe_key": hashlib.sha256(identity.encode()).hexdigest(),
                    "properties": {"page": page},
                }
            )
            if len(rows) == batch_size:
                write(rows)
                count, rows = count + len(rows), []
        if rows:
            write(rows)
            count += len(rows)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {"seconds": elapsed, "rows": count, "insert_seconds": inserting}


def child(contender: str, database_url: str, events_path: Path) -> None:
    """Run one contender and print its figures as one JSON line."""
    work = {"ours": import_with_ours, "core": import_with_core}[contender]
    measured = work(database_url, events_path)
    peak_kb = peak_rss_kb()
    figures = {
        "rows": measured["rows"],
        "rows_per_s": round(measured["rows"] / measured["seconds"]),
        "seconds": round(measured["seconds"], 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    if "insert_seconds" in measured:
        figures["insert_seconds"] = round(measured["insert_seconds"], 1)
    print(json.dumps(figures))


def peak_rss_kb() -> int:
    """This process's own peak RSS.

    Linux's ru_maxrss keeps the peak of the image a child was forked from
    (exec folds it in), so a child would report the parent's size; VmHWM
    belongs to the process's current memory only.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1])


def format_summary(figures: dict) -> str:
    verdict = "met" if figures["meets_target"] else "MISSED"
    lines = [
        f"import_events: {figures['rows']:,} rows ({figures['file_mb']} MB) on "
        f"SQLite: ours {figures['ours_rows_per_s']:,} rows/s, Core "
        f"{figures['core_rows_per_s']:,} rows/s (ratio "
        f"{figures['ratio_vs_core']}), peak RSS {figures['peak_rss_mb']} MB "
        f"(target ratio >= {TARGET_RATIO}, RSS < {TARGET_RSS_MB} MB): {verdict}"
    ]
    if "pg_ours_rows_per_s" in figures:
        lines.append(
            f"  PostgreSQL: ours {figures['pg_ours_rows_per_s']:,} rows/s, Core "
            f"{figures['pg_core_rows_per_s']:,} rows/s (ratio "
            f"{figures['pg_ratio_vs_core']}), peak RSS "
            f"{figures['pg_ours_peak_rss_mb']} MB"
        )
    else:
        lines.append(f"  PostgreSQL: {figures['postgresql']}")
    return "\n".join(lines)


@click.command()
@click.option("--rows", type=int, default=ROWS, show_default=True)
@click.option("--child", "contender", type=click.Choice(["ours", "core"]))
@click.argument("paths", nargs=-1)
def main(rows: int, contender: str | None, paths: tuple[str, ...]) -> None:
    """Run the benchmark once and print it (results.json is not written)."""
    if contender:
        database_url, events_path = paths
        child(contender, database_url, Path(events_path))
        return
    click.echo(format_summary(run(rows)))


if __name__ == "__main__":
    main()
