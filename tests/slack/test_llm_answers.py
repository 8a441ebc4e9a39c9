"""Typed answers read by the LLM interpreter, through the real Bolt app."""

import json

import pytest
from sqlmodel import select

from bot.db import session_scope
from bot.models import Answer
from tests.factories import add_lead
from tests.fakes.openai_api import Behaviour, start_fake_openai
from tests.slack.harness import Flow, SlackHarness, buttons


@pytest.fixture
def fake_openai():
    fake, server = start_fake_openai()
    yield fake
    server.shutdown()


@pytest.fixture
def slack_with_llm(fake_slack, team_config, engine, fake_openai):
    harness = SlackHarness(
        fake_slack,
        team_config,
        engine,
        openai_api_key="sk-test",
        openai_base_url=fake_openai.base_url,
        llm_timeout_s=0.5,
    )
    yield harness
    harness.stop()


def _pain(engine) -> Answer:
    with session_scope(engine) as session:
        return session.exec(select(Answer).where(Answer.criterion == "pain")).one()


def test_a_typed_answer_is_proposed_by_the_llm(slack_with_llm, fake_openai, engine):
    add_lead(engine)
    # Criteria are read side by side, so every reply is the same; the words
    # taken for the open question are not read again for the others.
    reading = {
        "level": 3,
        "evidence": "two people full-time on it",
        "confidence": 0.9,
        "follow_up": "",
    }
    fake_openai.script(*[reading] * 4)
    slack_with_llm.command("northwind")

    slack_with_llm.dm("two people full-time on it")

    pain = _pain(engine)
    assert (pain.proposed_level, pain.interpreter) == (3, "llm")
    question = Flow(slack_with_llm).current_question()
    assert buttons(question)[0]["text"]["text"] == (
        "Accept 3 · Acute, quantified, severe problem"
    )


def test_a_slow_llm_falls_back_to_the_rules_and_the_answer_is_kept(
    slack_with_llm, fake_openai, engine
):
    add_lead(engine)
    fake_openai.script(*[Behaviour(content="{}", delay_s=2)] * 10)
    slack_with_llm.command("northwind")

    response = slack_with_llm.dm("losing $20k a month on manual work")

    assert response.status_code == 200
    pain = _pain(engine)
    assert pain.note == "losing $20k a month on manual work"
    assert (pain.proposed_level, pain.interpreter) == (3, "offline")
    assert "Here's what I understood" in json.dumps(
        slack_with_llm.fake.posts_to("DSDR1")[-1].args
    )


def _qualify_to_submit(slack, engine):
    add_lead(engine)
    slack.command("northwind")
    flow = Flow(slack)
    flow.answer_all([3, 3, 3, 3])
    flow.submit()


def test_the_ae_brief_is_written_by_the_model_and_escaped(
    slack_with_llm, fake_openai, engine
):
    fake_openai.script(
        Behaviour(content="Pain: month-end takes 6 days. <!channel> Next step: demo.")
    )

    _qualify_to_submit(slack_with_llm, engine)

    (ae_dm,) = slack_with_llm.fake.posts_to("DAE1")
    assert ae_dm.args["blocks"][1]["text"]["text"] == (
        "*Call summary*\n"
        "Pain: month-end takes 6 days. &lt;!channel&gt; Next step: demo."
    )


def test_a_failing_model_leaves_the_template_brief(slack_with_llm, fake_openai, engine):
    fake_openai.script(Behaviour(status=500), Behaviour(status=500))

    _qualify_to_submit(slack_with_llm, engine)

    (ae_dm,) = slack_with_llm.fake.posts_to("DAE1")
    brief = ae_dm.args["blocks"][1]["text"]["text"]
    assert brief.startswith("*What the SDR heard on the call*")
