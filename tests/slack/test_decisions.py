"""Submitting: where SQLs and nurture leads land, once, escaped, explained."""

import json

from sqlmodel import select

from bot.db import session_scope
from bot.models import Decision, Handoff
from tests.factories import add_events, add_lead
from tests.slack.harness import dm_channel

DM = dm_channel("USDR1")


def _decision(engine) -> Decision:
    with session_scope(engine) as session:
        return session.exec(select(Decision)).one()


def test_an_sql_goes_to_the_sql_channel_the_ae_and_the_handoff_channel(
    slack, flow, engine
):
    lead_id = add_lead(engine)
    add_events(engine, lead_id, ("pricing_page_view", 1), ("demo_request", 2))
    slack.command("northwind")
    flow.answer_all([3, 2, 3, 3])

    flow.submit()

    (sql_post,) = slack.fake.posts_to("CSQL")
    text = json.dumps(sql_post.args["blocks"], ensure_ascii=False)
    assert "SQL: Dana Lee (Northwind)" in text
    assert "demo request ×1" in text and "pricing page ×1" in text
    (ae_dm,) = slack.fake.posts_to(dm_channel("UAE1"))
    assert (
        "<@USDR1> qualified *Dana Lee (Northwind)*"
        in ae_dm.args["blocks"][0]["text"]["text"]
    )
    (handoff,) = slack.fake.posts_to("CHANDOFF")
    assert "<@UAE1>" in handoff.args["blocks"][0]["text"]["text"]
    decision = _decision(engine)
    assert (decision.outcome, decision.total, decision.max_total) == ("sql", 30, 33)
    assert decision.permalink.startswith("https://example.slack.com/archives/CSQL/")
    confirmation = slack.fake.posts_to(DM)[-1].args["text"]
    assert confirmation.startswith(
        "*Dana Lee (Northwind)* is a Sales Qualified Lead (30/33), handed to <@UAE1>."
    )
    assert decision.permalink in confirmation


def test_a_nurture_lead_goes_to_the_nurture_channel_with_its_weakest_criteria(
    slack, flow, engine
):
    add_lead(engine)
    slack.command("northwind")
    flow.answer_all([1, 1, 1, 2])

    flow.submit()

    (post,) = slack.fake.posts_to("CNURTURE")
    why = post.args["blocks"][2]["text"]["text"]
    assert why == (
        "*Why nurture*\n• Pain 1 · Nice to have, no real cost today\n"
        "• Budget 1 · Being discussed"
    )
    assert slack.fake.posts_to("CSQL") == []
    assert slack.fake.posts_to(dm_channel("UAE1")) == []
    assert _decision(engine).outcome == "nurture"


def test_a_timeline_of_twelve_months_goes_to_nurture_whatever_the_total(
    slack, flow, engine
):
    lead_id = add_lead(engine)
    add_events(engine, lead_id, *[("demo_request", 1)] * 3)
    slack.command("northwind")
    flow.answer_all([3, 3, 3, 0])

    flow.submit()

    decision = _decision(engine)
    assert decision.total == 30
    assert decision.outcome == "nurture"
    assert decision.reasons[0] == "Timeline is 12+ months away"


def test_submitting_twice_posts_once(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")
    flow.answer_all([3, 2, 3, 3])
    review = flow.review()

    flow.press(review, "review_submit")
    flow.press(review, "review_submit")

    assert len(slack.fake.posts_to("CSQL")) == 1
    assert len(slack.fake.posts_to(dm_channel("UAE1"))) == 1
    assert slack.fake.of("response_url")[-1].args["text"] == (
        "This interview is already submitted; nothing changed."
    )


def test_sqls_go_to_aes_in_turn_unless_the_lead_has_an_owner(slack, flow, engine):
    leads = [
        add_lead(
            engine,
            email=f"p{i}@co{i}.example",
            company=f"Co{i}",
            domain=f"co{i}.example",
        )
        for i in range(3)
    ]
    add_lead(
        engine,
        email="o@owned.example",
        company="Owned",
        domain="owned.example",
        owner_user_id="UAE2",
    )

    for query in ["co0.example", "co1.example", "co2.example", "owned.example"]:
        slack.command(query)
        flow.answer_all([3, 3, 3, 3])
        flow.submit()

    with session_scope(engine) as session:
        handoffs = session.exec(select(Handoff).order_by(Handoff.id)).all()
    assert [h.ae_user_id for h in handoffs] == ["UAE1", "UAE2", "UAE1", "UAE2"]
    assert len(leads) == 3


def test_text_typed_by_the_sdr_cannot_ping_a_channel(slack, flow, engine):
    add_lead(engine, company="Smith & <Sons>")
    slack.command("northwind.example")
    slack.dm("<!channel> <!here> they said budget is <@UAE2>'s call & > 10k")
    flow.answer_all([3, 3, 3, 3])

    flow.submit()

    posted = json.dumps(slack.fake.posts_to("CSQL")[0].args["blocks"])
    assert "<!channel>" not in posted and "<!here>" not in posted
    assert "<@UAE2>" not in posted
    assert "&lt;!channel&gt; &lt;!here&gt;" in posted
    assert "&amp; &gt; 10k" in posted
    handoff = slack.fake.posts_to("CHANDOFF")[0].args["blocks"][0]["text"]["text"]
    assert handoff.startswith("*Dana Lee (Smith &amp; &lt;Sons&gt;)* → <@UAE1>")


def test_a_channel_the_bot_cannot_post_to_is_reported_and_the_decision_kept(
    slack, flow, engine
):
    add_lead(engine)
    slack.fake.fail("chat.postMessage", "not_in_channel", channel="CSQL")
    slack.command("northwind")
    flow.answer_all([3, 3, 3, 3])

    flow.submit()

    decision = _decision(engine)
    assert decision.outcome == "sql"
    assert decision.message_ts is None
    confirmation = slack.fake.posts_to(DM)[-1].args["text"]
    assert (
        "The decision is saved, but I couldn't post to <#CSQL> (not_in_channel)."
        in confirmation
    )
    assert "Reference: " in confirmation
    assert len(slack.fake.posts_to(dm_channel("UAE1"))) == 1


def test_the_decision_keeps_the_breakdown_and_matrix_version(
    slack, flow, engine, team_config
):
    add_lead(engine)
    slack.command("northwind")
    slack.dm("Costs them two FTEs.")
    flow.answer_all([3, 2, 3, 3])

    flow.submit()

    decision = _decision(engine)
    assert decision.matrix_version == team_config.matrix.version
    pain = next(row for row in decision.breakdown if row["criterion"] == "pain")
    assert pain == {
        "criterion": "pain",
        "label": "Pain",
        "level": 3,
        "level_text": "Acute, quantified, severe problem",
        "weight": 3,
        "points": 9,
        "note": "Costs them two FTEs.",
    }


def test_names_from_a_file_cannot_ping_through_a_messages_notification_text(
    slack, flow, engine
):
    add_lead(engine, name="<!channel> Eve", company="<!here> Corp")
    slack.command("northwind.example")
    flow.answer_all([3, 3, 3, 3])

    flow.submit()

    texts = [call.args["text"] for call in slack.fake.of("chat.postMessage")]
    assert texts and all("<!channel>" not in t and "<!here>" not in t for t in texts)
    assert (
        slack.fake.posts_to("CSQL")[0]
        .args["text"]
        .startswith("SQL: &lt;!channel&gt; Eve (&lt;!here&gt; Corp)")
    )


def test_a_dropped_connection_after_posting_neither_reposts_nor_skips_the_ae(
    slack, flow, engine
):
    add_lead(engine)
    slack.fake.drop_reply_once("chat.postMessage", "CSQL")
    slack.command("northwind")
    flow.answer_all([3, 3, 3, 3])

    flow.submit()

    assert len(slack.fake.posts_to("CSQL")) == 1
    assert len(slack.fake.posts_to(dm_channel("UAE1"))) == 1
    assert len(slack.fake.posts_to("CHANDOFF")) == 1
    confirmation = slack.fake.posts_to(DM)[-1].args["text"]
    assert "I couldn't post to <#CSQL> (connection_error)" in confirmation


def test_the_ae_dm_carries_the_call_in_the_sdrs_words(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")
    slack.dm("they lose two days every month-end")
    flow.answer_all([3, 2, 3, 3])

    flow.submit()

    (ae_dm,) = slack.fake.posts_to(dm_channel("UAE1"))
    brief = ae_dm.args["blocks"][1]["text"]["text"]
    assert brief == (
        "*What the SDR heard on the call*\n"
        "• *Pain:* “they lose two days every month-end”\n"
        "• *Budget:* planned, not yet allocated\n"
        "• *Authority:* direct access to the decision-maker\n"
        "• *Timeline:* 0-3 months\n"
        "*Contact:* Dana Lee · VP Operations · dana@northwind.example"
    )
