"""The whole job through the real Bolt app: /qualify to the decision."""

from sqlmodel import select

from bot.db import session_scope
from bot.models import Decision, Handoff
from tests.factories import add_events, add_lead


def _buttons(call) -> list[dict]:
    return [
        element
        for block in call.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def _answer_current(slack, level: int):
    question = slack.fake.of("chat.postMessage")[-1]
    button = next(b for b in _buttons(question) if b["action_id"] == f"answer:{level}")
    return slack.click(
        button["action_id"], button["value"], message_ts="1700000000.000001"
    )


def test_qualified_lead_is_posted_to_sql_channel_and_handed_to_an_ae(slack, engine):
    lead_id = add_lead(engine)
    add_events(engine, lead_id, ("pricing_page_view", 1), ("demo_request", 2))

    response = slack.command("dana@northwind.example")
    for level in (3, 2, 3, 3):
        _answer_current(slack, level)
    review = slack.fake.of("chat.postMessage")[-1]
    submit = next(b for b in _buttons(review) if b["action_id"] == "review_submit")
    slack.click("review_submit", submit["value"])

    assert response.status_code == 200
    assert "Looking up" in response.text
    sql_posts = slack.fake.posts_to("CSQL")
    assert len(sql_posts) == 1
    assert "Northwind" in sql_posts[0].args["text"]
    assert len(slack.fake.posts_to("DAE1")) == 1
    assert len(slack.fake.posts_to("CHANDOFF")) == 1
    with session_scope(engine) as session:
        decision = session.exec(select(Decision)).one()
        handoff = session.exec(select(Handoff)).one()
    assert decision.outcome == "sql"
    assert handoff.ae_user_id == "UAE1"
