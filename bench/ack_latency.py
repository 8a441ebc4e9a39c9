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
import ssl
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
from pydantic import ValidationError
from tqdm import tqdm

from bench import PROJECT_ROOT, BenchError
from bench.servers import (
    RemoteFake,
    Server,
    free_port,
    running_fake_slack,
    running_server,
)
from bench.slack_requests import (
    BOT_TOKEN,
    SIGNING_SECRET,
    signed_headers,
    slash_command_body,
)
from bot.db import make_engine, session_scope
from bot.models import Lead
from bot.settings import Settings

CONCURRENCY = 16
REQUESTS = 2000  # measured, per app
WARMUP = 48  # per app, not measured
ROUNDS = 4  # blocks per app; which app goes first alternates
TIME_LIMIT_S = 240
REQUEST_TIMEOUT_S = 10
DRAIN_TIMEOUT_S = 30
TARGET_RATIO = 1.5
TARGET_MAX_MS = 3000
# Only plain HTTP is used, but every httpx.Client builds a TLS context unless
# given one, which costs ~30 ms each.
TLS = ssl.create_default_context()

SERVER_COMMANDS = {
    "ours": ["-m", "bot", "serve"],
    "bare": ["-m", "bench.bare_app"],
}


@dataclass
class Target:
    """One app under test and what was measured of it so far."""

    server: Server
    bodies: Iterator[str]
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    busy_s: float = 0.0
    content_type: str = "application/x-www-form-urlencoded"

    @property
    def throughput_rps(self) -> float:
        return len(self.latencies_ms) / self.busy_s


def run() -> dict:
    deadline = time.monotonic() + TIME_LIMIT_S
    try:
        settings = Settings()
    except ValidationError as error:
        raise BenchError(f"the environment's settings are invalid: {error}") from None
    with ExitStack() as stack:
        workdir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="qualify-bench-"))
        )
        # The fake runs in its own process: in this one its handler threads
        # would take the GIL from the client threads timing our app only.
        fake = stack.enter_context(running_fake_slack(workdir))
        env = server_env(workdir, fake, settings, sdr_count=WARMUP + REQUESTS)
        seed_leads(env, count=WARMUP + REQUESTS)

        servers = start_apps(stack, workdir, env)
        targets = {
            name: Target(server, slash_commands(fake))
            for name, server in servers.items()
        }
        drain_ms = measure(targets, fake, deadline)
        result = collect_figures(targets, fake, settings, drain_ms)
        if result["ours_questions_posted"] < REQUESTS or target_errors(targets):
            # The logs go with the temporary directory; show what they say first.
            for target in targets.values():
                show_log_problems(target.server)
    return result


def start_apps(stack: ExitStack, workdir: Path, env: dict) -> dict[str, Server]:
    """Ours and the bare app, each on a free port, stopped when `stack` closes."""
    servers = {}
    for name, command in SERVER_COMMANDS.items():
        port = free_port()
        servers[name] = stack.enter_context(
            running_server(
                f"{name} app",
                [*command, "--port", str(port)],
                port=port,
                env=env,
                log_path=workdir / f"{name}.log",
            )
        )
    return servers


def measure(targets: dict[str, Target], fake: RemoteFake, deadline: float) -> float:
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
    block = Block(target, [next(target.bodies) for _ in range(count)], progress)
    # Fresh connections for every block: one left idle past gunicorn's
    # keep-alive (2 s) while the other app was measured can be closed just as
    # a request goes out on it, an error that is not the app's.
    with ExitStack() as stack:
        clients = [
            stack.enter_context(httpx.Client(timeout=REQUEST_TIMEOUT_S, verify=TLS))
            for _ in range(CONCURRENCY)
        ]
        started = time.perf_counter()
        block.run(clients, deadline, record)
        if record:
            target.busy_s += time.perf_counter() - started
    if time.monotonic() >= deadline:
        raise BenchError(
            f"ack_latency ran past its {TIME_LIMIT_S}s limit; is the machine busy?"
        )


class Block:
    """One burst of commands at one app, shared by the client threads."""

    def __init__(self, target: Target, bodies: list[str], progress: tqdm) -> None:
        self.target = target
        self.progress = progress
        self._bodies = iter(bodies)
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def run(self, clients: list[httpx.Client], deadline: float, record: bool) -> None:
        def client_thread(client: httpx.Client) -> None:
            while time.monotonic() < deadline and not self._stopping.is_set():
                body = self._next_body()
                if body is None:
                    return
                self._send(client, body, record)

        with ThreadPoolExecutor(len(clients), thread_name_prefix="client") as pool:
            try:
                list(pool.map(client_thread, clients))
            except BaseException:
                self._stopping.set()
                raise

    def _next_body(self) -> str | None:
        with self._lock:
            return next(self._bodies, None)

    def _send(self, client: httpx.Client, body: str, record: bool) -> None:
        headers = signed_headers(body, content_type=self.target.content_type)
        started = time.perf_counter()
        try:
            response = client.post(
                self.target.server.events_url, content=body, headers=headers
            )
            error = None if response.status_code == 200 else response.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        elapsed_ms = (time.perf_counter() - started) * 1000

        with self._lock:
            if record:
                self.target.latencies_ms.append(elapsed_ms)
            if error is not None:
                report_error(self.target, error, record)
            self.progress.update(1)


def report_error(target: Target, error: int | str, record: bool) -> None:
    kind = f"HTTP {error}" if isinstance(error, int) else error
    if not target.errors[kind]:
        tqdm.write(f"{target.server.name}: {kind} (first of its kind)", file=sys.stderr)
    if record:
        target.errors[kind] += 1


def target_errors(targets: dict[str, Target]) -> int:
    return sum(sum(target.errors.values()) for target in targets.values())


def show_log_problems(server: Server, limit: int = 20) -> None:
    text = server.log_path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    problems = [line for line in lines if " ERROR " in line or " WARNING " in line]
    for line in problems[:limit]:
        print(f"{server.name} log: {line}", file=sys.stderr)


def wait_for_questions(fake: RemoteFake, expected: int, deadline: float) -> float:
    """Wait until our app posted `expected` first questions; how long it took, in ms."""
    started = time.perf_counter()
    limit = min(deadline, time.monotonic() + DRAIN_TIMEOUT_S)
    while count_questions(fake) < expected and time.monotonic() < limit:
        time.sleep(0.01)
    return (time.perf_counter() - started) * 1000


def count_questions(fake: RemoteFake) -> int:
    """Interviews whose follow-up work is complete.

    The last step of a /qualify is the ephemeral reply through response_url,
    after the first question was posted in the SDR's DM; counting replies
    rather than questions makes sure none of our work spills into the next
    block of the bare app.
    """
    return httpx.get(f"{fake.base_url}_stats", timeout=5).json()["responses"]


def slash_commands(fake: RemoteFake) -> Iterator[str]:
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


def server_env(
    workdir: Path, fake: RemoteFake, settings: Settings, sdr_count: int
) -> dict[str, str]:
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
        "WORK_PROCESSES": str(settings.work_processes),
        "HOST": "127.0.0.1",
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
        raise BenchError(f"python -m bot migrate failed:\n{migrate.stderr}")

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


def collect_figures(
    targets: dict[str, Target], fake: RemoteFake, settings: Settings, drain_ms: float
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
    result["work_processes"] = settings.work_processes
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
