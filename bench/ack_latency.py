"""ack_latency: how long Slack waits for /qualify's ack, ours against a bare Bolt app.

Slack shows the user an error when a slash command is not acknowledged within
3 seconds. Our listener acks first, then looks the lead up, opens a DM and
posts the first question; this measures what that work costs the ack, against
an app that only acks (bench/bare_app.py) served by the same gunicorn setup.

Both apps run as subprocesses on 127.0.0.1 and are measured in one run, in
alternating blocks, so that whatever else the machine does hits both. After
each block of ours the run waits for its follow-up work to finish, so that it
never slows the bare app's block.
"""

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tqdm import tqdm

from bench import PROJECT_ROOT
from bench.servers import Server, free_port, running_server
from bench.slack_requests import (
    BOT_TOKEN,
    SIGNING_SECRET,
    signed_headers,
    slash_command_body,
)
from bot.db import make_engine, session_scope
from bot.models import Lead
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack, start_fake_slack

CONCURRENCY = 16
REQUESTS = 800  # measured, per app
WARMUP = 48  # per app, not measured
ROUNDS = 4  # blocks per app; which app goes first alternates
TIME_LIMIT_S = 120
REQUEST_TIMEOUT_S = 10
DRAIN_TIMEOUT_S = 30
TARGET_RATIO = 1.5
TARGET_MAX_MS = 3000

SERVER_COMMANDS = {
    "ours": ["-m", "bot", "serve"],
    "bare": ["-m", "bench.bare_app"],
}


class BenchTimeout(Exception):
    """The benchmark ran past TIME_LIMIT_S."""


@dataclass
class Target:
    """One app under test, with its clients and what was measured so far."""

    server: Server
    clients: list[httpx.Client]
    bodies: Iterator[str]
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    busy_s: float = 0.0

    @property
    def throughput_rps(self) -> float:
        return len(self.latencies_ms) / self.busy_s


def run() -> dict:
    deadline = time.monotonic() + TIME_LIMIT_S
    settings = Settings()
    fake, fake_server = start_fake_slack()
    with ExitStack() as stack:
        stack.callback(fake_server.shutdown)
        workdir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="qualify-bench-"))
        )
        env = server_env(workdir, fake, settings, sdr_count=WARMUP + REQUESTS)
        seed_leads(env, count=WARMUP + REQUESTS)

        targets = {}
        for name, command in SERVER_COMMANDS.items():
            port = free_port()
            server = stack.enter_context(
                running_server(
                    f"{name} app",
                    [*command, "--port", str(port)],
                    port=port,
                    env=env,
                    log_path=workdir / f"{name}.log",
                )
            )
            targets[name] = Target(server, make_clients(stack), slash_commands(fake))
        drain_ms = measure(targets, fake, deadline)
        result = figures(targets, fake, settings, drain_ms)
        if not result["meets_target"]:
            # The logs go with the temporary directory; show what they say first.
            for target in targets.values():
                show_log_problems(target.server)
    return result


def measure(targets: dict[str, Target], fake: FakeSlack, deadline: float) -> float:
    """Warm both apps up, then fire the measured blocks; the longest drain, in ms."""
    ours, bare = targets["ours"], targets["bare"]
    block = REQUESTS // ROUNDS
    total = 2 * (WARMUP + REQUESTS)
    with tqdm(total=total, desc="ack_latency", unit="req", leave=False) as progress:
        fire(ours, WARMUP, progress, deadline, record=False)
        fire(bare, WARMUP, progress, deadline, record=False)
        wait_for_questions(fake, WARMUP, deadline)

        longest_drain_ms = 0.0
        for round_number in range(ROUNDS):
            order = (ours, bare) if round_number % 2 == 0 else (bare, ours)
            for target in order:
                fire(target, block, progress, deadline)
                if target is ours:
                    expected = WARMUP + block * (round_number + 1)
                    drain_ms = wait_for_questions(fake, expected, deadline)
                    longest_drain_ms = max(longest_drain_ms, drain_ms)
    return longest_drain_ms


def fire(
    target: Target, count: int, progress: tqdm, deadline: float, record: bool = True
) -> None:
    """Send `count` commands from CONCURRENCY clients at once, each back to back."""
    bodies = iter([next(target.bodies) for _ in range(count)])
    lock = threading.Lock()
    stopping = threading.Event()

    def send_all(client: httpx.Client) -> None:
        while time.monotonic() < deadline and not stopping.is_set():
            with lock:
                body = next(bodies, None)
            if body is None:
                return
            headers = signed_headers(body)
            started = time.perf_counter()
            try:
                response = client.post(
                    target.server.events_url, content=body, headers=headers
                )
                error = None if response.status_code == 200 else response.status_code
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                if record:
                    target.latencies_ms.append(elapsed_ms)
                if error is not None:
                    report_error(target, error, record)
                progress.update(1)

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="client") as pool:
        try:
            list(pool.map(send_all, target.clients))
        except BaseException:
            stopping.set()
            raise
    if record:
        target.busy_s += time.perf_counter() - started
    if time.monotonic() >= deadline:
        raise BenchTimeout(f"ack_latency ran past its {TIME_LIMIT_S}s limit")


def report_error(target: Target, error: int | str, record: bool) -> None:
    kind = f"HTTP {error}" if isinstance(error, int) else error
    if not target.errors[kind]:
        tqdm.write(f"{target.server.name}: {kind} (first of its kind)", file=sys.stderr)
    if record:
        target.errors[kind] += 1


def show_log_problems(server: Server, limit: int = 20) -> None:
    text = server.log_path.read_text(encoding="utf-8", errors="replace")
    problems = [line for line in text.splitlines() if " ERROR " in line]
    problems += [line for line in text.splitlines() if " WARNING " in line]
    for line in problems[:limit]:
        print(f"{server.name} log: {line}", file=sys.stderr)


def wait_for_questions(fake: FakeSlack, expected: int, deadline: float) -> float:
    """Wait until our app posted `expected` first questions; how long it took, in ms."""
    started = time.perf_counter()
    limit = min(deadline, time.monotonic() + DRAIN_TIMEOUT_S)
    while count_questions(fake) < expected and time.monotonic() < limit:
        time.sleep(0.01)
    return (time.perf_counter() - started) * 1000


def count_questions(fake: FakeSlack) -> int:
    # Our app posts an interview's first question in the SDR's DM (D…).
    return sum(
        1
        for call in fake.of("chat.postMessage")
        if str(call.args.get("channel", "")).startswith("D")
    )


def slash_commands(fake: FakeSlack) -> Iterator[str]:
    """/qualify bodies, each from its own SDR for its own stored lead."""
    for number in itertools.count(1):
        yield slash_command_body(
            user_id=sdr_user_id(number),
            text=lead_domain(number),
            trigger_id=f"{number}.1111.bench",
            response_url=fake.response_url,
        )


def sdr_user_id(number: int) -> str:
    return f"U0SDR{number:04d}"


def lead_domain(number: int) -> str:
    return f"lead{number:04d}.example"


def make_clients(stack: ExitStack) -> list[httpx.Client]:
    return [
        stack.enter_context(httpx.Client(timeout=REQUEST_TIMEOUT_S))
        for _ in range(CONCURRENCY)
    ]


def server_env(workdir: Path, fake: FakeSlack, settings: Settings, sdr_count: int):
    """The environment both servers run with: test secrets, the fake, a temp DB."""
    sdrs = ", ".join(f'"{sdr_user_id(n)}"' for n in range(1, sdr_count + 1))
    config_path = workdir / "qualify.toml"
    config_path.write_text(
        '[channels]\nsql = "CSQL"\nnurture = "CNURTURE"\nhandoff = "CHANDOFF"\n\n'
        f'[team]\nsdrs = [{sdrs}]\naes = ["UAE1"]\n',
        encoding="utf-8",
    )
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{fake.base_url}api/",
        "DATABASE_URL": f"sqlite:///{workdir / 'qualify.db'}",
        "QUALIFY_CONFIG": str(config_path),
        # Written out so that both apps surely run with the same counts.
        "WEB_CONCURRENCY": str(settings.web_concurrency),
        "WEB_THREADS": str(settings.web_threads),
        "LISTENER_THREADS": str(settings.listener_threads),
    }


def seed_leads(env: dict, count: int) -> None:
    """Create the schema with `bot migrate`, then store one lead per request."""
    migrate = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"python -m bot migrate failed:\n{migrate.stderr}")

    engine = make_engine(env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            session.add_all(
                Lead(
                    email=f"buyer@{lead_domain(n)}",
                    name=f"Buyer {n:04d}",
                    title="VP Sales",
                    company=f"Lead {n:04d} Ltd",
                    domain=lead_domain(n),
                    industry="Software",
                    employees=250,
                    country="US",
                )
                for n in range(1, count + 1)
            )
    finally:
        engine.dispose()


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def figures(
    targets: dict[str, Target], fake: FakeSlack, settings: Settings, drain_ms: float
) -> dict:
    result = {}
    for name, target in targets.items():
        result[f"{name}_p50_ms"] = round(percentile(target.latencies_ms, 50), 1)
        result[f"{name}_p99_ms"] = round(percentile(target.latencies_ms, 99), 1)
        result[f"{name}_errors"] = sum(target.errors.values())
        result[f"{name}_throughput_rps"] = round(target.throughput_rps, 1)
    result["ratio_p99"] = round(result["ours_p99_ms"] / result["bare_p99_ms"], 2)
    result["concurrency"] = CONCURRENCY
    result["requests"] = REQUESTS
    result["ours_questions_posted"] = count_questions(fake) - WARMUP
    result["ours_drain_ms_max"] = round(drain_ms, 1)
    result["workers"] = settings.web_concurrency
    result["threads"] = settings.web_threads
    result["listener_threads"] = settings.listener_threads
    result["meets_target"] = (
        result["ratio_p99"] <= TARGET_RATIO
        and result["ours_p99_ms"] <= TARGET_MAX_MS
        and result["ours_errors"] == result["bare_errors"] == 0
        and result["ours_questions_posted"] == REQUESTS
    )
    return result


def format_summary(figures: dict) -> str:
    rows = [
        f"ack_latency: /qualify acks, {figures['concurrency']} concurrent clients, "
        f"{figures['requests']} requests per app "
        f"(gunicorn {figures['workers']}×{figures['threads']} threads)",
        f"  {'':6}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}{'errors':>8}",
    ]
    for name in ("ours", "bare"):
        rows.append(
            f"  {name:6}{figures[f'{name}_p50_ms']:>9.1f}"
            f"{figures[f'{name}_p99_ms']:>9.1f}"
            f"{figures[f'{name}_throughput_rps']:>8.0f}{figures[f'{name}_errors']:>8}"
        )
    verdict = "met" if figures["meets_target"] else "MISSED"
    rows += [
        f"  p99 ratio {figures['ratio_p99']:.2f} "
        f"(target ≤ {TARGET_RATIO}, ours ≤ {TARGET_MAX_MS} ms, no errors): {verdict}",
        f"  first questions posted by ours: {figures['ours_questions_posted']} "
        f"of {figures['requests']}; follow-up work drained within "
        f"{figures['ours_drain_ms_max']:.0f} ms of a block's last ack",
    ]
    return "\n".join(rows)
