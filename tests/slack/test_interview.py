"""The interview in the DM: buttons, typed notes, retries, restarts, changes."""

import json
import threading

from sqlmodel import select

from bot.db import session_scope
from bot.models import Answer, Interview
from tests.factories import add_lead
from tests.slack.harness import buttons, dm_channel, has_button

DM = dm_channel("USDR1")


def _answers(engine) -> dict[str, Answer]:
    with session_scope(engine) as session:
        return {a.criterion: a for a in session.exec(select(Answer)).all()}


def test_an_answer_updates_its_question_in_place_and_asks_the_next(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")
    question = flow.last_post(DM)

    flow.answer(3)

    (update,) = slack.fake.of("chat.update")
    assert update.args["ts"] == question.response["ts"]
    assert "*Pain* → *3 · Acute, quantified, severe problem*" in json.dumps(
        update.args["blocks"], ensure_ascii=False
    )
    assert not has_button(update, "answer:3")
    assert "question 2 of 4" in flow.last_post(DM).args["blocks"][0]["text"]["text"]


def test_typed_text_is_kept_as_the_note_of_the_current_question(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")

    slack.dm("They talked about month-end.")
    slack.dm("Mostly about how reports get made.")

    note = _answers(engine)["pain"].note
    assert note == "They talked about month-end.\nMostly about how reports get made."
    redrawn = slack.fake.of("chat.update")[-1]
    assert "Mostly about how reports get made." in json.dumps(redrawn.args["blocks"])
    assert has_button(redrawn, "answer:3")
    assert slack.fake.posts_to(DM)[-1].args["text"] == (
        "Saved as the note for *Pain*. What does the problem cost them today: "
        "time, money or errors?"
    )


def test_a_typed_answer_is_proposed_with_its_evidence_and_can_be_accepted(
    slack, flow, engine
):
    add_lead(engine)
    slack.command("northwind")
    flow.answer(3)

    slack.dm("they have money set aside for Q3")
    question = flow.current_question()
    flow.press(question, "answer:accept")

    assert slack.fake.posts_to(DM)[-2].args["text"] == (
        "Here's what I understood:\n*Budget* → *2 · Planned, not yet allocated* — "
        "“they have money set aside for q3”\nAccept it on the question, or pick "
        "another level."
    )
    labels = [b["text"]["text"] for b in buttons(question)]
    assert labels[0] == "Accept 2 · Planned, not yet allocated"
    budget = _answers(engine)["budget"]
    assert (budget.level, budget.proposed_level, budget.source) == (2, 2, "accepted")
    assert (budget.interpreter, budget.proposal_evidence) == (
        "offline",
        "they have money set aside for q3",
    )


def test_picking_another_level_than_proposed_is_recorded_as_a_correction(
    slack, flow, engine
):
    add_lead(engine)
    slack.command("northwind")
    flow.answer(3)
    slack.dm("they have money set aside for Q3")

    flow.answer(3)

    budget = _answers(engine)["budget"]
    assert (budget.level, budget.proposed_level, budget.source) == (3, 2, "button")


def test_one_message_can_answer_several_questions_ahead(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")

    slack.dm(
        "losing $20k a month on it; the CFO signs off; budget approved; "
        "live by February"
    )

    answers = _answers(engine)
    proposed = {
        k: a.proposed_level for k, a in answers.items() if a.proposed_level is not None
    }
    assert proposed == {"pain": 3, "budget": 3, "authority": 3, "timeline": 3}
    flow.answer(3)
    next_question = flow.current_question()
    assert buttons(next_question)[0]["text"]["text"] == (
        "Accept 3 · Explicit budget allocated"
    )


def test_a_retried_event_is_applied_once(slack, engine):
    add_lead(engine)
    slack.command("northwind")

    first = slack.dm("Costs them a day a week.", event_id="Ev0RETRIED1")
    retry = slack.dm("Costs them a day a week.", event_id="Ev0RETRIED1")

    assert first.status_code == retry.status_code == 200
    assert _answers(engine)["pain"].note == "Costs them a day a week."


def test_a_retry_with_the_retry_header_changes_nothing(slack, engine):
    add_lead(engine)
    slack.command("northwind")
    event = {
        "type": "message",
        "channel": DM,
        "user": "USDR1",
        "text": "Hurts a lot.",
        "ts": "1700000001.000100",
        "channel_type": "im",
    }

    slack.event(event, event_id="Ev0HDR")
    posts_before = len(slack.fake.of("chat.postMessage"))
    slack.event(event, event_id="Ev0HDR", retry_num=1)

    assert _answers(engine)["pain"].note == "Hurts a lot."
    assert len(slack.fake.of("chat.postMessage")) == posts_before


def test_messages_from_bots_are_never_taken_as_answers(slack, engine):
    add_lead(engine)
    slack.command("northwind")

    slack.dm("I am another bot", bot_id="B0OTHER")
    slack.dm("bot message", subtype="bot_message")
    slack.dm("own echo", user=slack.fake.bot_user_id)
    slack.dm("edited", subtype="message_changed")

    assert _answers(engine)["pain"].note == ""
    assert slack.fake.of("chat.update") == []


def test_typed_text_with_no_interview_open_says_how_to_start(slack):
    slack.dm("hello?")

    (reply,) = slack.fake.posts_to(DM)
    assert reply.args["text"].startswith("I'm not running an interview with you")


def test_an_interview_survives_a_restart_of_the_bot(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")
    flow.answer(3)
    slack.dm("Budget planned for Q1.")

    slack.restart()
    flow.answer(2)

    answers = _answers(engine)
    assert (answers["pain"].level, answers["budget"].level) == (3, 2)
    assert answers["budget"].note == "Budget planned for Q1."
    assert "question 3 of 4" in flow.last_post(DM).args["blocks"][0]["text"]["text"]


def test_after_the_last_answer_the_review_shows_breakdown_and_buttons(
    slack, flow, engine
):
    add_lead(engine)
    slack.command("northwind")

    flow.answer_all([3, 2, 2, 3])

    review = flow.review()
    text = json.dumps(review.args["blocks"], ensure_ascii=False)
    assert "*Pain* · 3 · Acute, quantified, severe problem · 3× = *9*" in text
    assert "*Fit (ICP)* · 3 · Perfect ICP match · 2× = *6*" in text
    assert "*Total 26/33* → *Sales Qualified Lead* (bar 20)" in text
    assert "Signals: no recent signals" not in text
    labels = [b["text"]["text"] for b in review.args["blocks"][-1]["elements"]]
    assert labels == ["Submit", "Change an answer", "Cancel"]


def test_a_click_by_another_user_is_refused_and_changes_nothing(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")
    question = flow.last_post(DM, "answer:3")

    flow.press(question, "answer:3", user="USDR2")

    assert _answers(engine)["pain"].level is None
    assert slack.fake.of("response_url")[-1].args["text"] == (
        "This interview is <@USDR1>'s; only they can answer it."
    )


def test_change_an_answer_opens_a_modal_and_saving_redraws_the_review(
    slack, flow, engine
):
    add_lead(engine)
    slack.command("northwind")
    flow.answer_all([3, 2, 2, 3])
    review = flow.review()

    flow.press(review, "review_change")
    (opened,) = slack.fake.of("views.open")
    view = opened.args["view"]
    values = {}
    for block in view["blocks"]:
        if block["block_id"].startswith("level:"):
            initial = block["element"]["initial_option"]
            values[block["block_id"]] = {"level": {"selected_option": initial}}
        else:
            values[block["block_id"]] = {"value": {"value": ""}}
    values["level:budget"]["level"]["selected_option"] = {
        "text": {"type": "plain_text", "text": "3"},
        "value": "3",
    }
    values["note:budget"]["value"]["value"] = "CFO approved it yesterday."
    slack.submit_view(
        "change_answers", values, private_metadata=view["private_metadata"]
    )

    budget = _answers(engine)["budget"]
    assert (budget.level, budget.source, budget.note) == (
        3,
        "changed",
        "CFO approved it yesterday.",
    )
    redrawn = slack.fake.of("chat.update")[-1]
    assert redrawn.args["ts"] == review.response["ts"]
    assert "*Total 28/33*" in json.dumps(redrawn.args["blocks"])


def test_cancel_on_the_review_posts_nothing_to_channels(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")
    flow.answer_all([3, 2, 2, 3])

    flow.press(flow.review(), "review_cancel")

    with session_scope(engine) as session:
        assert session.exec(select(Interview)).one().status == "cancelled"
    assert slack.fake.posts_to("CSQL") == slack.fake.posts_to("CNURTURE") == []


def test_a_refused_message_update_does_not_stop_the_interview(slack, flow, engine):
    add_lead(engine)
    slack.fake.fail("chat.update", "message_not_found")
    slack.command("northwind")

    flow.answer(3)

    assert _answers(engine)["pain"].level == 3
    assert "question 2 of 4" in flow.last_post(DM).args["blocks"][0]["text"]["text"]


def test_a_broken_button_value_is_reported_with_a_reference_not_a_traceback(
    slack, caplog
):
    slack.click("answer:3", "not json at all")

    (reply,) = slack.fake.of("response_url")
    assert reply.args["text"].startswith("Something went wrong on my side")
    ref = reply.args["text"].rsplit(" ", 1)[-1].rstrip(".")
    failures = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in failures] == [f"job failed ref={ref} job=answer"]
    assert failures[0].exc_info is not None
    assert "Traceback" not in reply.args["text"]


def test_a_note_too_long_for_the_change_form_is_kept_whole(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")
    long_note = "They described every step of the month-end close. " * 80
    slack.dm(long_note)
    flow.answer_all([3, 2, 2, 3])

    flow.press(flow.review(), "review_change")
    view = slack.fake.of("views.open")[-1].args["view"]
    values = {
        block["block_id"]: {
            "level": {"selected_option": block["element"]["initial_option"]}
        }
        for block in view["blocks"]
        if block.get("block_id", "").startswith("level:")
    }
    slack.submit_view(
        "change_answers", values, private_metadata=view["private_metadata"]
    )

    assert "note:pain" not in [block.get("block_id") for block in view["blocks"]]
    assert _answers(engine)["pain"].note == long_note.strip()


def test_two_quick_clicks_on_the_last_question_post_one_review(slack, flow, engine):
    add_lead(engine)
    slack.command("northwind")
    flow.answer_all([3, 2, 2])
    question = flow.last_post(DM, "answer:2")
    release, held = threading.Event(), []
    original = slack.fake.handle

    def hold_reviews(method, args):
        if method == "chat.postMessage" and "review_submit" in json.dumps(args):
            held.append(method)
            release.wait(timeout=30)
        return original(method, args)

    slack.fake.handle = hold_reviews
    for level in (2, 3):
        button = f"answer:{level}"
        value = next(b["value"] for b in buttons(question) if b["action_id"] == button)
        slack.send_click(button, value, question, drain=False)
    # One person's jobs run in order: the second click waits for the first.
    for _ in range(20):
        if len(held) > 1:
            break
        threading.Event().wait(0.05)
    release.set()
    slack.drain()

    reviews = [
        post for post in slack.fake.posts_to(DM) if has_button(post, "review_submit")
    ]
    assert len(reviews) == 1
    latest = slack.fake.of("chat.update")[-1]
    assert latest.args["ts"] == reviews[0].response["ts"]
    assert "*Total 26/33*" in json.dumps(latest.args["blocks"])
