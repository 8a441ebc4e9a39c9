"""The production path: work after the ack runs in spawned worker processes."""

import os
import signal
import threading
from concurrent.futures.process import BrokenProcessPool

import pytest
from sqlmodel import select

from bot.db import session_scope
from bot.models import Answer
from tests.factories import add_lead
from tests.slack.harness import Flow, SlackHarness, dm_channel


@pytest.fixture
def slack_with_processes(fake_slack, team_config, engine):
    harness = SlackHarness(fake_slack, team_config, engine, work_processes=1)
    yield harness
    harness.stop()


def test_an_interview_runs_through_worker_processes(slack_with_processes, engine):
    slack = slack_with_processes
    add_lead(engine)

    slack.command("northwind")
    slack.dm("They lose a day a week to it.")
    Flow(slack).answer(3)

    with session_scope(engine) as session:
        pain = session.exec(select(Answer).where(Answer.criterion == "pain")).one()
    assert (pain.level, pain.note) == (3, "They lose a day a week to it.")
    questions = slack.fake.posts_to(dm_channel("USDR1"))
    assert "question 2 of 4" in questions[-1].args["blocks"][0]["text"]["text"]


def test_a_failing_job_in_a_worker_process_tells_the_user(slack_with_processes):
    slack_with_processes.click("answer:3", "not json at all")

    (reply,) = slack_with_processes.fake.of("response_url")
    assert reply.args["text"].startswith("Something went wrong on my side")


def test_a_killed_worker_process_is_replaced_and_work_goes_on(
    slack_with_processes, engine
):
    slack = slack_with_processes
    add_lead(engine)
    pool = slack.runner.lanes[0]
    os.kill(pool.submit(os.getpid).result(timeout=30), signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        for _ in range(100):
            pool.submit(os.getpid).result(timeout=30)

    slack.command("northwind")

    assert slack.runner.lanes[0] is not pool
    assert len(slack.fake.posts_to(dm_channel("USDR1"))) == 1


def test_a_job_lost_with_its_worker_process_is_reported_to_the_user(
    slack_with_processes, engine
):
    slack = slack_with_processes
    add_lead(engine)
    pid = slack.runner.lanes[0].submit(os.getpid).result(timeout=30)
    release, held = threading.Event(), threading.Event()
    original = slack.fake.handle

    def hold_dm(method, args):
        if method == "conversations.open":
            held.set()
            release.wait(timeout=30)
        return original(method, args)

    slack.fake.handle = hold_dm

    slack.command("northwind", drain=False)
    assert held.wait(timeout=30)
    os.kill(pid, signal.SIGKILL)
    release.set()
    slack.drain()
    for _ in range(100):
        if slack.fake.of("response_url"):
            break
        threading.Event().wait(0.05)

    (reply,) = slack.fake.of("response_url")
    assert reply.args["text"].startswith("I lost track of your last step")
