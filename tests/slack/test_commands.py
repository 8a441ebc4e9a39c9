"""/qualify as Slack sends it: help, lookups, new leads, odd channels."""

import json
import threading

from sqlmodel import select

from bot.db import session_scope
from bot.models import Interview, Lead
from tests.factories import add_lead
from tests.slack.harness import dm_channel, has_button


def test_qualify_without_a_lead_explains_usage(slack):
    response = slack.command("")

    assert response.status_code == 200
    assert "`/qualify <lead>`" in response.json()["text"]
    assert slack.fake.of("chat.postMessage") == []


def test_qualify_help_explains_usage_and_the_bar(slack):
    response = slack.command("help")

    text = response.json()["text"]
    assert "*20/33*" in text
    assert "`/qualify cancel`" in text


def test_qualify_by_someone_outside_the_team_is_refused_with_the_fix(slack, engine):
    add_lead(engine)

    slack.command("northwind.example", user="USTRANGER")

    (reply,) = slack.fake.of("response_url")
    assert reply.args["text"] == (
        "Only the SDRs and managers listed in Qualify's config can qualify leads. "
        "Ask whoever runs Qualify to add your user ID (USTRANGER) to `team.sdrs`."
    )
    assert slack.fake.of("chat.postMessage") == []


def test_qualify_by_email_matches_case_insensitively_and_starts_in_the_dm(
    slack, engine
):
    add_lead(engine)

    slack.command("  DANA@Northwind.Example ")

    (question,) = slack.fake.posts_to(dm_channel("USDR1"))
    assert "question 1 of 4" in question.args["blocks"][0]["text"]["text"]
    (reply,) = slack.fake.of("response_url")
    assert reply.args["response_type"] == "ephemeral"
    assert "in our DM" in reply.args["text"]


def test_question_buttons_start_with_the_score_digit(slack, engine):
    add_lead(engine)

    slack.command("northwind")

    (question,) = slack.fake.posts_to(dm_channel("USDR1"))
    actions = next(b for b in question.args["blocks"] if b["type"] == "actions")
    labels = [element["text"]["text"] for element in actions["elements"]]
    assert labels[-1] == "Paste call notes"
    assert labels[:-1] == [
        "0 · No clear pain",
        "1 · Nice to have, no real cost today",
        "2 · Real problem with a felt cost",
        "3 · Acute, quantified, severe problem",
    ]


def test_several_matches_let_the_sdr_pick_one(slack, engine):
    add_lead(engine)
    second = add_lead(engine, email="sam@northwind.example", name="Sam Ortiz")

    slack.command("northwind.example")
    (picker,) = slack.fake.of("response_url")
    pick = next(
        block["accessory"]
        for block in picker.args["blocks"]
        if block.get("accessory", {}).get("value") == str(second)
    )
    slack.click(pick["action_id"], pick["value"], channel="C0GENERAL")

    assert picker.args["text"].startswith("I found 2 leads")
    with session_scope(slack.engine) as session:
        interview = session.exec(select(Interview)).one()
    assert interview.lead_id == second
    assert slack.fake.of("response_url")[-1].args["replace_original"] is True


def test_no_match_opens_a_modal_and_submitting_it_creates_the_lead(slack):
    slack.command("Contoso")

    (opened,) = slack.fake.of("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == "new_lead"
    slack.submit_view(
        "new_lead",
        {
            "company": {"value": {"type": "plain_text_input", "value": "Contoso"}},
            "domain": {
                "value": {"type": "plain_text_input", "value": "www.Contoso.com"}
            },
        },
        private_metadata=view["private_metadata"],
    )

    with session_scope(slack.engine) as session:
        lead = session.exec(select(Lead)).one()
    assert (lead.company, lead.domain) == ("Contoso", "contoso.com")
    questions = slack.fake.posts_to(dm_channel("USDR1"))
    # Nothing is known about the firmographics, so fit is asked too.
    assert "question 1 of 5" in questions[0].args["blocks"][0]["text"]["text"]


def test_new_lead_modal_with_a_bad_domain_shows_the_error_and_stores_nothing(slack):
    response = slack.submit_view(
        "new_lead",
        {
            "company": {"value": {"type": "plain_text_input", "value": "Contoso"}},
            "domain": {"value": {"type": "plain_text_input", "value": "not a domain"}},
        },
    )

    assert response.json() == {
        "response_action": "errors",
        "errors": {"domain": "Enter a domain like acme.com."},
    }
    with session_scope(slack.engine) as session:
        assert session.exec(select(Lead)).all() == []


def test_qualify_in_a_channel_the_bot_is_not_in_replies_through_response_url(
    slack, engine
):
    add_lead(engine)
    slack.fake.fail("chat.postEphemeral", "channel_not_found")
    slack.fake.fail("chat.postMessage", "channel_not_found", channel="GPRIVATE")

    response = slack.command("northwind", channel="GPRIVATE")

    assert response.status_code == 200
    assert slack.fake.of("chat.postEphemeral") == []
    assert slack.fake.posts_to("GPRIVATE") == []
    assert len(slack.fake.of("response_url")) == 1
    assert len(slack.fake.posts_to(dm_channel("USDR1"))) == 1


def test_the_command_is_acknowledged_before_any_web_api_call_returns(slack, engine):
    add_lead(engine)
    release = threading.Event()
    opened = []
    original = slack.fake.handle

    def held_handle(method, args):
        if method == "conversations.open":
            release.wait(timeout=30)
            opened.append(method)
        return original(method, args)

    slack.fake.handle = held_handle

    response = slack.command("northwind", drain=False)
    opened_before_ack = list(opened)
    release.set()
    slack.drain()

    assert opened_before_ack == []
    assert response.status_code == 200
    assert "Looking up" in response.text
    assert len(slack.fake.posts_to(dm_channel("USDR1"))) == 1


def test_cancel_command_closes_the_open_interview(slack, engine):
    add_lead(engine)
    slack.command("northwind")

    slack.command("cancel")

    with session_scope(slack.engine) as session:
        interview = session.exec(select(Interview)).one()
    assert interview.status == "cancelled"
    assert slack.fake.of("response_url")[-1].args["text"].startswith("Cancelled")


def test_second_sdr_on_the_same_lead_is_told_who_is_qualifying_it(slack, engine):
    add_lead(engine)
    slack.command("northwind", user="USDR1")

    slack.command("northwind", user="USDR2")

    reply = slack.fake.of("response_url")[-1].args["text"]
    assert reply.startswith("<@USDR1> is already qualifying *Dana Lee (Northwind)*")
    assert slack.fake.posts_to(dm_channel("USDR2")) == []


def test_running_qualify_again_for_the_same_lead_resumes_the_open_question(
    slack, engine
):
    add_lead(engine)
    slack.command("northwind")

    slack.command("northwind")

    questions = slack.fake.posts_to(dm_channel("USDR1"))
    assert len(questions) == 2
    assert all(has_button(q, "answer:3") for q in questions)
    with session_scope(slack.engine) as session:
        assert len(session.exec(select(Interview)).all()) == 1


def test_qualify_for_another_lead_while_one_is_open_says_how_to_finish(slack, engine):
    add_lead(engine)
    add_lead(
        engine,
        email="li@umbrella.example",
        company="Umbrella",
        domain="umbrella.example",
    )
    slack.command("northwind")

    slack.command("umbrella")

    reply = slack.fake.of("response_url")[-1].args["text"]
    assert reply == (
        "You're in the middle of qualifying *Dana Lee (Northwind)*. Finish it in our "
        "DM, or type `/qualify cancel` to drop it, then try again."
    )


def test_help_payload_is_valid_json_for_slack(slack):
    response = slack.command("help")

    assert json.loads(response.text)["blocks"][0]["type"] == "section"


def test_an_expired_trigger_for_the_new_lead_modal_says_to_run_again(slack):
    slack.fake.fail("views.open", "expired_trigger_id")

    slack.command("Contoso")

    (reply,) = slack.fake.of("response_url")
    assert reply.args["text"] == (
        "No stored lead matches “Contoso”, and Slack closed the window for the New "
        "lead form before it could open. Run the command again to get the form."
    )


def test_more_than_ten_matches_show_ten_and_say_how_to_narrow_down(slack, engine):
    for n in range(12):
        add_lead(engine, email=f"p{n}@acme{n}.example", company=f"Acme {n}")

    slack.command("acme")

    (picker,) = slack.fake.of("response_url")
    picks = [b for b in picker.args["blocks"] if "accessory" in b]
    assert len(picks) == 10
    assert picker.args["text"].startswith("More than 10 leads match “acme”")


def test_the_new_lead_modal_for_another_company_at_a_known_domain_creates_it(
    slack, engine
):
    add_lead(engine)

    slack.submit_view(
        "new_lead",
        {
            "company": {
                "value": {"type": "plain_text_input", "value": "Northwind Labs"}
            },
            "domain": {
                "value": {"type": "plain_text_input", "value": "northwind.example"}
            },
        },
    )

    with session_scope(slack.engine) as session:
        companies = sorted(lead.company for lead in session.exec(select(Lead)).all())
        interview = session.exec(select(Interview)).one()
        lead = session.get(Lead, interview.lead_id)
    assert companies == ["Northwind", "Northwind Labs"]
    assert lead.company == "Northwind Labs"
