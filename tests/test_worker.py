"""`python -m bot worker` as an operator runs it: one pass in time, stopped by
SIGTERM, killed and restarted, and alone on SQLite."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bot import PROJECT_ROOT
from bot.__main__ import main
from bot.db import make_engine, session_scope, upgrade_database
from bot.domain import outbox
from bot.models import OutboxMessage
from bot.worker import SqliteWorkerLock
from tests.fakes.slack_api import start_fake_slack

CONFIG = """
[channels]
sql = "CSQL"
nurture = "CNURTURE"
handoff = "CHANDOFF"
sla = "CSLA"

[team]
sdrs = ["USDR1"]
aes = ["UAE1"]
"""
WAIT_S = 20


@pytest.fixture
def fake_slack():
    fake, server = start_fake_slack()
    yield fake
    server.shutdown()
    assert fake.problems == []


@pytest.fixture
def database_file(tmp_path):
    path = tmp_path / "worker.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def worker_env(tmp_path, fake_slack, database_file) -> dict:
    config = tmp_path / "qualify.toml"
    config.write_text(CONFIG)
    return {
        "SLACK_BOT_TOKEN": "xoxb-1-real",
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": f"sqlite:///{database_file}",
        "QUALIFY_CONFIG": str(config),
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
def run(worker_env, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name, value in worker_env.items():
        monkeypatch.setenv(name, value)

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def _enqueue(database_file, key: str, target: str, at: datetime) -> None:
    engine = make_engine(f"sqlite:///{database_file}")
    with session_scope(engine) as session:
        outbox.enqueue(
            session, key=key, target=target, text=f"about {key}", blocks=[], now=at
        )
    engine.dispose()


def _stored(database_file) -> dict[str, OutboxMessage]:
    engine = make_engine(f"sqlite:///{database_file}")
    with session_scope(engine) as session:
        rows = {row.idempotency_key: row for row in session.exec(select(OutboxMessage))}
    engine.dispose()
    return rows


def _start_worker(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_once_with_now_sends_only_what_is_due_at_that_time(
    run, fake_slack, database_file
):
    _enqueue(
        database_file, "reminder-1", "CDEALS", datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    )

    early = run("worker", "--once", "--now", "2026-12-03T15:00:00Z")
    due = run("worker", "--once", "--now", "2026-12-03T16:00:00Z")

    assert early.exit_code == 0
    assert early.output == "0 message(s) sent as of 2026-12-03T15:00:00+00:00\n"
    assert due.output == (
        "1 message(s) sent as of 2026-12-03T16:00:00+00:00\n"
        "  CDEALS (CDEALS): about reminder-1\n"
    )
    assert [call.args["text"] for call in fake_slack.of("chat.postMessage")] == [
        "about reminder-1"
    ]


def test_now_without_an_offset_is_refused_with_the_fix(run):
    result = run("worker", "--once", "--now", "2026-12-03T15:00:00")

    assert result.exit_code == 2
    assert (
        "Invalid value for --now: '2026-12-03T15:00:00' has no UTC offset; add one, "
        "like 2026-12-03T15:00:00Z or 2026-12-03T15:00:00+01:00." in result.output
    )


def test_now_that_is_not_a_time_is_refused(run):
    result = run("worker", "--once", "--now", "tomorrow")

    assert result.exit_code == 2
    assert "'tomorrow' is not an ISO 8601 time; write it like 2026-12-03T15:00:00Z" in (
        result.output
    )


def test_now_without_once_is_refused(run):
    result = run("worker", "--now", "2026-12-03T15:00:00Z")

    assert result.exit_code == 2
    assert "add --once to run a single pass as if at that time" in result.output


def test_a_second_worker_on_sqlite_is_refused_with_a_clear_message(run, database_file):
    with SqliteWorkerLock(f"sqlite:///{database_file}"):
        result = run("worker", "--once")

    assert result.exit_code == 1
    assert (
        f"another worker (pid {os.getpid()}) is already running on this SQLite "
        f"database (lock file {database_file}.worker.lock); SQLite allows one "
        "worker at a time. Stop it first, or use PostgreSQL to run several."
    ) in result.output


def test_sigterm_mid_drain_finishes_the_message_in_flight_and_exits(
    worker_env, fake_slack, database_file
):
    now = datetime.now(UTC)
    for number in range(10):
        _enqueue(database_file, f"reminder-{number}", f"C{number}AAA", now)
    fake_slack.delays["chat.postMessage"] = 0.5
    worker = _start_worker(worker_env)

    _wait_for(lambda: len(fake_slack.of("chat.postMessage")) == 2, "a second post")
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=WAIT_S)

    assert worker.returncode == 0, stderr
    assert "worker stopped sent=2" in stderr
    stored = _stored(database_file)
    sent = sorted(key for key, row in stored.items() if row.status == "sent")
    assert sent == ["reminder-0", "reminder-1"]
    waiting = [row for row in stored.values() if row.status == "pending"]
    assert all(row.next_attempt_at <= datetime.now(UTC) for row in waiting)


def test_a_worker_killed_before_sending_sends_once_after_restart(
    worker_env, fake_slack, database_file
):
    now = datetime.now(UTC)
    _enqueue(database_file, "reminder-1", "UAE1", now)
    fake_slack.delays["conversations.open"] = 30
    worker = _start_worker(worker_env)
    _wait_for(lambda: fake_slack.of("conversations.open"), "the DM to be opened")
    worker.send_signal(signal.SIGKILL)
    worker.wait(WAIT_S)
    fake_slack.delays.clear()

    during_lease = _start_worker(worker_env, "--once")
    out_during, _ = during_lease.communicate(timeout=WAIT_S)
    after = (now + outbox.DEFAULT_LEASE + timedelta(seconds=5)).isoformat()
    restarted = _start_worker(worker_env, "--once", "--now", after)
    out_after, _ = restarted.communicate(timeout=WAIT_S)

    assert out_during.startswith("0 message(s) sent")
    assert out_after.startswith("1 message(s) sent")
    assert [call.args["text"] for call in fake_slack.posts_to("DAE1")] == [
        "about reminder-1"
    ]
    assert _stored(database_file)["reminder-1"].status == "sent"


def test_a_pass_posts_the_mqls_still_waiting_for_the_queue(
    run, tmp_path, fake_slack, database_file
):
    from bot.models import Lead, Mql

    (tmp_path / "qualify.toml").write_text(
        CONFIG.replace('sla = "CSLA"', 'sla = "CSLA"\nqueue = "CQUEUE"')
    )
    engine = make_engine(f"sqlite:///{database_file}")
    with session_scope(engine) as session:
        lead = Lead(email="ana@acme.example", name="Ana", domain="acme.example")
        session.add(lead)
        session.flush()
        session.add(
            Mql(
                lead_id=lead.id,
                reached_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
                reason="hand_raiser",
                engagement_level=2,
            )
        )
    engine.dispose()

    result = run("worker", "--once")

    assert result.exit_code == 0
    (post,) = fake_slack.posts_to("CQUEUE")
    assert "Ana" in post.text_and_blocks


def test_the_digest_goes_out_once_at_its_local_time_with_its_chart(
    run, tmp_path, fake_slack
):
    (tmp_path / "qualify.toml").write_text(
        CONFIG.replace('sla = "CSLA"', 'sla = "CSLA"\ndigest = "C0DIGEST01"')
        + '\n[sla]\ntime_zone = "Europe/Berlin"\n\n[digest]\ntime = "08:30"\n'
    )

    # A first worker, at 08:00 in Berlin, sends the digest it missed: the
    # one due yesterday at 08:30, marked late.
    first = run("worker", "--once", "--now", "2026-12-03T07:00:00Z")
    due = run("worker", "--once", "--now", "2026-12-03T07:31:00Z")
    again = run("worker", "--once", "--now", "2026-12-03T09:00:00Z")

    assert [r.exit_code for r in (first, due, again)] == [0, 0, 0]
    late, today = fake_slack.posts_to("C0DIGEST01")
    assert late.args["text"].endswith("(late: due 08:30)")
    assert today.args["text"].startswith("Qualification digest for Wed 02 Dec")
    assert "late" not in today.args["text"]
    charts = fake_slack.files_in("C0DIGEST01")
    assert [chart.thread_ts for chart in charts] == [
        late.response["ts"],
        today.response["ts"],
    ]
    assert charts[1].content.startswith(b"\x89PNG")
    assert charts[1].title == "Funnel and SLA compliance, 14 days to 2026-12-02"
