"""`python -m bot serve` as production runs it: gunicorn, worker processes."""

import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.db import make_engine, upgrade_database
from tests.factories import add_lead
from tests.fakes.slack_api import start_fake_slack

SECRET = "serve-test-signing-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def served(tmp_path):
    fake, fake_server = start_fake_slack()
    database_url = f"sqlite:///{tmp_path}/qualify.db"
    upgrade_database(database_url)
    engine = make_engine(database_url)
    add_lead(engine)
    engine.dispose()
    (tmp_path / "qualify.toml").write_text(
        '[channels]\nsql = "CSQL"\nnurture = "CNURT"\nhandoff = "CHAND"\n'
        '[team]\nsdrs = ["USDR1"]\naes = ["UAE1"]\n'
    )
    port = _free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-serve-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{fake.base_url}api/",
        "DATABASE_URL": database_url,
        "QUALIFY_CONFIG": str(tmp_path / "qualify.toml"),
        "HOST": "127.0.0.1",
        "WORK_PROCESSES": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("w"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        assert _wait_for(healthy), (tmp_path / "serve.log").read_text()
        yield base, fake
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        fake_server.shutdown()


def test_serve_answers_a_signed_command_and_runs_the_interview(served):
    base, fake = served
    body = urlencode(
        {
            "command": "/qualify",
            "text": "northwind",
            "user_id": "USDR1",
            "channel_id": "C0GENERAL",
            "team_id": "T0TEAM",
            "trigger_id": "1.2.3",
            "response_url": fake.response_url,
        }
    )
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(
        timestamp=timestamp, body=body
    )

    response = httpx.post(
        f"{base}/slack/events",
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        },
        timeout=10,
    )

    assert response.status_code == 200
    assert "Looking up" in response.text
    assert _wait_for(lambda: len(fake.of("response_url")) == 1)
    (question,) = fake.posts_to("DSDR1")
    assert "question 1 of 4" in question.args["blocks"][0]["text"]["text"]
