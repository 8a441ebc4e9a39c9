"""Pasted call notes pre-fill the interview; the SDR confirms each proposal."""

from sqlmodel import select

from bot.db import session_scope
from bot.models import Answer
from tests.factories import add_lead
from tests.slack.harness import buttons, dm_channel

DM = dm_channel("USDR1")
NOTES = (
    "losing $20k a month on manual reconciliation. "
    "Budget approved by the CFO. "
    "Go-live by February."
)


def _proposed(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.exec(select(Answer)).all()
    return {a.criterion: a.proposed_level for a in rows if a.proposed_level is not None}


def test_notes_after_the_lead_prefill_every_question_they_answer(slack, flow, engine):
    add_lead(engine)

    slack.command(f"northwind -- {NOTES}")

    assert _proposed(engine) == {"pain": 3, "budget": 3, "timeline": 3}
    first = flow.current_question()
    assert buttons(first)[0]["text"]["text"] == (
        "Accept 3 · Acute, quantified, severe problem"
    )
    with session_scope(engine) as session:
        pain = session.exec(select(Answer).where(Answer.criterion == "pain")).one()
    assert pain.note == (
        "From the call notes: losing $20k a month on manual reconciliation"
    )


def test_the_paste_call_notes_button_reads_notes_for_the_open_questions(
    slack, flow, engine
):
    add_lead(engine)
    slack.command("northwind")
    flow.answer(2)

    flow.press(flow.current_question(), "paste_notes")
    view = slack.fake.of("views.open")[-1].args["view"]
    slack.submit_view(
        "call_notes",
        {"notes": {"value": {"type": "plain_text_input", "value": NOTES}}},
        private_metadata=view["private_metadata"],
    )

    assert _proposed(engine) == {"budget": 3, "timeline": 3}
    summary = slack.fake.posts_to(DM)[-1].args["text"]
    assert summary.startswith("From your call notes I understood:\n*Budget* → *3")


def test_notes_with_a_lead_that_needs_picking_say_they_were_not_read(slack, engine):
    add_lead(engine)
    add_lead(engine, email="sam@northwind.example", name="Sam")

    slack.command(f"northwind.example -- {NOTES}")

    first, picker = slack.fake.of("response_url")
    assert first.args["text"].startswith("I'll need the lead first")
    assert picker.args["text"].startswith("I found 2 leads")
    assert _proposed(engine) == {}
