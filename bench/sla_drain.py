"""How fast one worker drains the outbox against the fake Web API.

Unlimited: 1,000 messages over 50 channels, the fake answering at once, on
SQLite and PostgreSQL: `messages_per_s`. Rate-limited: the fake enforcing one
post per channel per second (answering 429 otherwise), 100 messages over 10
channels: the drain's time against its floor, the time the last message of a
channel can go at the earliest ((100 / 10 - 1) x 1 s = 9 s after the first).
The fake runs in its own process at low priority, as Slack's servers would.
"""

import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.engagement_level import POSTGRES_URL, postgres_database
from bench.servers import FAKE_NICENESS, free_port, running_server
from bot.config import load_config
from bot.db import make_engine, session_scope, upgrade_database
from bot.domain import outbox
from bot.outbox_sender import ChannelPacer, OutboxSender
from bot.slack.poster import SlackPoster, make_web_client

MESSAGES = 1_000
CHANNELS = 50
LIMITED_MESSAGES = 100
LIMITED_CHANNELS = 10
INTERVAL_S = 1.0
TARGET_RATIO = 1.15


def run() -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)
        unlimited = {}
        with fake_slack(workdir, "fake_unlimited.log") as base_url:
            url = f"sqlite:///{workdir / 'unlimited.db'}"
            unlimited["sqlite"] = measure(url, base_url, MESSAGES, CHANNELS, 0.0)
            with postgres_database(POSTGRES_URL) as url:
                unlimited["postgresql"] = measure(
                    url, base_url, MESSAGES, CHANNELS, 0.0
                )
        with fake_slack(workdir, "fake_limited.log", INTERVAL_S) as base_url:
            with postgres_database(POSTGRES_URL) as url:
                limited = measure(
                    url, base_url, LIMITED_MESSAGES, LIMITED_CHANNELS, INTERVAL_S
                )
            refused = httpx.get(f"{base_url}_stats").json()["rate_limited"]

    floor = (LIMITED_MESSAGES / LIMITED_CHANNELS - 1) * INTERVAL_S
    ratio = limited["seconds"] / floor
    return {
        "sqlite": {"messages_per_s": unlimited["sqlite"]["messages_per_s"]},
        "postgresql": {"messages_per_s": unlimited["postgresql"]["messages_per_s"]},
        "messages_per_s": min(r["messages_per_s"] for r in unlimited.values()),
        "messages": MESSAGES,
        "rate_limited_messages": LIMITED_MESSAGES,
        "rate_limited_channels": LIMITED_CHANNELS,
        "rate_limited_s": round(limited["seconds"], 2),
        "floor_s": floor,
        "ratio_vs_floor": round(ratio, 3),
        "rate_limited_429s": refused,
        "meets_target": ratio <= TARGET_RATIO,
    }


class fake_slack:
    """The fake Web API in a process of its own; yields its base URL."""

    def __init__(self, workdir: Path, log_name: str, interval_s: float = 0.0):
        self.port = free_port()
        self.args = ["-m", "tests.fakes.slack_api", str(self.port)]
        if interval_s:
            self.args.append(str(interval_s))
        self.log_path = workdir / log_name

    def __enter__(self) -> str:
        import os

        self._server = running_server(
            "fake Slack",
            self.args,
            port=self.port,
            env=dict(os.environ),
            log_path=self.log_path,
            niceness=FAKE_NICENESS,
        )
        server = self._server.__enter__()
        return f"{server.base_url}/"

    def __exit__(self, *exc) -> None:
        self._server.__exit__(*exc)


def measure(
    url: str, base_url: str, messages: int, channels: int, interval_s: float
) -> dict:
    upgrade_database(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for number in range(messages):
            outbox.enqueue(
                session,
                key=f"bench-{number}",
                target=f"C{number % channels:04d}BENCH",
                text=f"Reminder {number}",
                blocks=[],
                now=now,
            )
    client = make_web_client("xoxb-bench", base_url, rate_limit_retries=0)
    sender = OutboxSender(
        engine,
        SlackPoster(client),
        load_config(None),
        now_fn=lambda: datetime.now(UTC),
        pacer=ChannelPacer(interval_s),
    )

    started = time.perf_counter()
    delivered = sender.drain(threading.Event())
    seconds = time.perf_counter() - started
    engine.dispose()
    if len(delivered) != messages:
        raise RuntimeError(f"sent {len(delivered)} of {messages} messages")
    return {"seconds": seconds, "messages_per_s": round(messages / seconds, 1)}


def format_summary(figures: dict) -> str:
    verdict = "met" if figures["meets_target"] else "MISSED"
    return "\n".join(
        [
            f"sla_drain: one worker against the fake Web API "
            f"(target rate-limited time <= {TARGET_RATIO}x its floor): {verdict}",
            f"  no rate limit, {figures['messages']:,} messages: "
            f"{figures['sqlite']['messages_per_s']} msg/s on SQLite, "
            f"{figures['postgresql']['messages_per_s']} msg/s on PostgreSQL",
            f"  1 msg/s per channel, {figures['rate_limited_messages']} messages "
            f"over {figures['rate_limited_channels']} channels: "
            f"{figures['rate_limited_s']} s against a floor of "
            f"{figures['floor_s']} s (ratio {figures['ratio_vs_floor']}, "
            f"{figures['rate_limited_429s']} answered 429)",
        ]
    )
