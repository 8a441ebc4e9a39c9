"""Servers under test, run as real subprocesses on 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import PROJECT_ROOT, BenchError

READY_TIMEOUT_S = 30
FAKE_NICENESS = 10
STOP_TIMEOUT_S = 10


class ServerError(BenchError):
    """A server under test did not start; the message ends with its log."""


@dataclass(frozen=True)
class Server:
    name: str
    base_url: str
    log_path: Path

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    name: str,
    args: list[str],
    *,
    port: int,
    env: dict,
    log_path: Path,
    niceness: int = 0,
) -> Iterator[Server]:
    """Start `python ARGS`, wait for GET /healthz, and always stop it afterwards."""
    server = Server(name, f"http://127.0.0.1:{port}", log_path)
    with log_path.open("wb") as log:
        # A session of its own, so the gunicorn master and its workers are
        # stopped together through the process group.
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: os.nice(niceness)) if niceness else None,
        )
    try:
        wait_until_ready(server, process)
        yield server
    finally:
        stop(process)


def wait_until_ready(server: Server, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"{server.name} exited with status {process.returncode} "
                f"before answering /healthz:\n{log_tail(server.log_path)}"
            )
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ServerError(
        f"{server.name} did not answer /healthz within {READY_TIMEOUT_S}s:\n"
        f"{log_tail(server.log_path)}"
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # SIGINT is gunicorn's quick shutdown; SIGTERM would wait for busy workers.
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def log_tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


@dataclass(frozen=True)
class RemoteFake:
    """The fake Slack Web API running as a subprocess."""

    base_url: str

    @property
    def response_url(self) -> str:
        return f"{self.base_url}response"


@contextmanager
def running_fake_slack(workdir: Path) -> Iterator[RemoteFake]:
    port = free_port()
    args = ["-m", "tests.fakes.slack_api", str(port)]
    log_path = workdir / "fake_slack.log"
    # The fake stands in for Slack's own servers, which take no CPU from the
    # apps under test; a low priority keeps it from doing so here.
    with running_server(
        "fake Slack",
        args,
        port=port,
        env=dict(os.environ),
        log_path=log_path,
        niceness=FAKE_NICENESS,
    ) as server:
        yield RemoteFake(f"{server.base_url}/")
