"""Acks of typed DM answers while the model takes 10 s to read each one.

Every SDR has an interview open, so each `message.im` event really becomes a
job that asks the (fake, slow) model. The acks are measured against the bare
Bolt app's acks of the same events, in alternating blocks of one run.
"""

import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from tqdm import tqdm

from bench import BenchError
from bench.ack_latency import (
    CONCURRENCY,
    Target,
    fire,
    percentile,
    sdr_user_id,
    seed_leads,
    server_env,
    start_apps,
)
from bench.servers import free_port, running_fake_slack, running_server
from bench.slack_requests import dm_event_body
from bot.config import load_config
from bot.db import make_engine, session_scope, utcnow
from bot.domain.interviews import start_interview
from bot.settings import Settings

LLM_DELAY_S = 10
REQUESTS = 400  # measured, per app
WARMUP = 32
ROUNDS = 4
TIME_LIMIT_S = 180
TARGET_RATIO = 1.5
TARGET_MAX_MS = 3000


def run() -> dict:
    deadline = time.monotonic() + TIME_LIMIT_S
    settings = Settings()
    sdrs = WARMUP + REQUESTS
    with ExitStack() as stack:
        workdir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="qualify-dm-"))
        )
        fake = stack.enter_context(running_fake_slack(workdir))
        model_port = free_port()
        stack.enter_context(
            running_server(
                "slow model",
                ["-m", "tests.fakes.openai_api", str(model_port), str(LLM_DELAY_S)],
                port=model_port,
                env=dict(os.environ),
                log_path=workdir / "model.log",
                niceness=10,
            )
        )
        env = server_env(workdir, fake, settings, sdr_count=sdrs)
        env.update(
            OPENAI_API_KEY="sk-bench",
            OPENAI_BASE_URL=f"http://127.0.0.1:{model_port}/v1",
            LLM_TIMEOUT_S=str(LLM_DELAY_S + 5),
        )
        seed_leads(env, count=sdrs)
        open_interviews(env, sdrs)

        targets = {
            name: Target(server, dm_events(name, sdrs), content_type="application/json")
            for name, server in start_apps(stack, workdir, env).items()
        }
        measure(targets, deadline)
    return figures(targets)


def open_interviews(env: dict, count: int) -> None:
    """One open interview per SDR, so that every DM is a real answer."""
    engine = make_engine(env["DATABASE_URL"])
    config = load_config(Path(env["QUALIFY_CONFIG"]))
    with session_scope(engine) as session:
        for number in range(1, count + 1):
            user = sdr_user_id(number)
            start_interview(
                number,
                user,
                "D" + user[1:],
                session=session,
                config=config,
                now=utcnow(),
            )
    engine.dispose()


def dm_events(app: str, sdrs: int) -> Iterator[str]:
    for number in itertools.cycle(range(1, sdrs + 1)):
        yield dm_event_body(
            user_id=sdr_user_id(number),
            text="they lose two days a month to manual reporting",
            event_id=f"Ev{app}{number:05d}{time.time_ns()}",
        )


def measure(targets: dict[str, Target], deadline: float) -> None:
    total = (WARMUP + REQUESTS) * len(targets)
    with tqdm(total=total, desc="dm_ack", unit="req", leave=False) as progress:
        for target in targets.values():
            fire(target, WARMUP, progress, deadline, record=False)
        per_round = REQUESTS // ROUNDS
        for index in range(ROUNDS):
            order = list(targets.values())
            for target in order if index % 2 == 0 else reversed(order):
                fire(target, per_round, progress, deadline)
    if time.monotonic() > deadline:
        raise BenchError(f"dm_ack ran past its {TIME_LIMIT_S}s limit")


def figures(targets: dict[str, Target]) -> dict:
    ours, bare = targets["ours"], targets["bare"]
    ours_p99 = percentile(ours.latencies_ms, 99)
    bare_p99 = percentile(bare.latencies_ms, 99)
    errors = sum(ours.errors.values()) + sum(bare.errors.values())
    ratio = round(ours_p99 / bare_p99, 2) if bare_p99 else None
    return {
        "llm_delay_s": LLM_DELAY_S,
        "concurrency": CONCURRENCY,
        "requests": REQUESTS,
        "ours_p50_ms": round(percentile(ours.latencies_ms, 50), 1),
        "ours_p99_ms": round(ours_p99, 1),
        "bare_p50_ms": round(percentile(bare.latencies_ms, 50), 1),
        "bare_p99_ms": round(bare_p99, 1),
        "ratio_p99": ratio,
        "errors": errors,
        "meets_target": bool(
            ratio is not None
            and ratio <= TARGET_RATIO
            and ours_p99 <= TARGET_MAX_MS
            and errors == 0
        ),
    }


def format_summary(figures: dict) -> str:
    verdict = "met" if figures["meets_target"] else "MISSED"
    return (
        f"dm_ack: typed-answer acks while the model takes {figures['llm_delay_s']} s, "
        f"{figures['concurrency']} clients, {figures['requests']} requests per app\n"
        f"  ours p50 {figures['ours_p50_ms']} ms, p99 {figures['ours_p99_ms']} ms; "
        f"bare p50 {figures['bare_p50_ms']} ms, p99 {figures['bare_p99_ms']} ms\n"
        f"  p99 ratio {figures['ratio_p99']} (target ≤ {TARGET_RATIO}, "
        f"ours ≤ {TARGET_MAX_MS} ms, no errors; errors {figures['errors']}): {verdict}"
    )
