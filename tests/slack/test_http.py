"""What reaches /slack/events over HTTP: signatures, unknown events, health."""

import time

import httpx
from sqlmodel import select

from bot.db import session_scope
from bot.models import Interview
from tests.factories import add_lead


def test_a_forged_signature_gets_401_and_changes_nothing(slack, engine):
    add_lead(engine)

    response = slack.command("northwind", secret="not-the-signing-secret")

    assert response.status_code == 401
    assert slack.fake.calls == []
    with session_scope(engine) as session:
        assert session.exec(select(Interview)).all() == []


def test_a_stale_signature_gets_401_and_changes_nothing(slack, engine):
    add_lead(engine)

    response = slack.command("northwind", timestamp=int(time.time()) - 600)

    assert response.status_code == 401
    assert slack.fake.calls == []


def test_a_request_without_signature_headers_gets_401(slack):
    response = httpx.post(slack.url, content=b"command=%2Fqualify&text=x")

    assert response.status_code == 401


def test_a_subscribed_event_the_bot_does_not_act_on_still_gets_200(slack):
    response = slack.event(
        {"type": "app_home_opened", "user": "USDR1", "tab": "messages"}
    )
    reaction = slack.event(
        {"type": "reaction_added", "user": "USDR1", "reaction": "+1"}
    )

    assert response.status_code == reaction.status_code == 200
    assert slack.fake.of("chat.postMessage") == []


def test_the_url_verification_challenge_is_answered(slack):
    import json

    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})

    response = slack.send(body, "application/json")

    assert response.json() == {"challenge": "c-123"}


def test_health_check_answers_without_a_signature(slack):
    response = httpx.get(slack.url.replace("/slack/events", "/healthz"))

    assert response.json() == {"ok": True}
