"""The AE's answer to a handoff: Accept, Reject, Reassign, Meeting booked."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.db import session_scope
from bot.domain.alerts import Alert
from bot.models import Handoff, HandoffAnswer, Lead, LeadMoment, SlaClock
from bot.slack.blocks import intent_alert_dm
from tests.factories import add_lead
from tests.slack.harness import buttons, dm_channel

SDR, AE1, AE2, AE3, MANAGER = "USDR1", "UAE1", "UAE2", "UAE3", "UMGR1"


@pytest.fixture
def team_config(team_config):
    team = team_config.team.model_copy(update={"aes": [AE1, AE2, AE3]})
    return team_config.model_copy(update={"team": team})


def _hand_off(slack, flow, engine):
    """Qualify Northwind as an SQL; it goes to AE1. The AE's DM comes back."""
    add_lead(engine)
    slack.command("northwind")
    flow.answer_all([3, 2, 3, 3])
    flow.submit()
    (dm,) = slack.fake.posts_to(dm_channel(AE1))
    return dm


def _latest(slack, call):
    """The message as it looks now: its last chat.update, else as posted."""
    updates = [
        update
        for update in slack.fake.of("chat.update")
        if update.args["ts"] == call.response["ts"]
        and update.args["channel"] == call.args["channel"]
    ]
    if not updates:
        return call
    latest = updates[-1]
    latest.response = call.response
    return latest


def _action_ids(call) -> list[str]:
    return [button["action_id"] for button in buttons(call)]


def _handoff(engine) -> Handoff:
    with session_scope(engine) as session:
        return session.exec(select(Handoff)).one()


def _answers(engine) -> list[HandoffAnswer]:
    with session_scope(engine) as session:
        return list(session.exec(select(HandoffAnswer).order_by(HandoffAnswer.id)))


def _clocks(engine, kind: str) -> list[SlaClock]:
    with session_scope(engine) as session:
        return list(session.exec(select(SlaClock).where(SlaClock.kind == kind)))


def _replies(slack) -> list[str]:
    return [call.args["text"] for call in slack.fake.of("response_url")]


def _texts_to(slack, user: str) -> list[str]:
    return [call.args["text"] for call in slack.fake.posts_to(dm_channel(user))]


def _reject(slack, flow, dm, reason: str, note: str, user: str = AE1):
    flow.press(dm, "handoff_reject", user=user)
    view = slack.fake.of("views.open")[-1].args["view"]
    values = {
        "reason": {
            "reason": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": reason},
                    "value": reason,
                },
            }
        },
        "note": {"value": {"type": "plain_text_input", "value": note}},
    }
    return slack.submit_view(
        view["callback_id"], values, view["private_metadata"], user=user
    )


def test_the_handoff_dm_offers_accept_reject_and_reassign(slack, flow, engine):
    dm = _hand_off(slack, flow, engine)

    assert _action_ids(dm) == ["handoff_accept", "handoff_reject", "handoff_reassign"]
    (post,) = slack.fake.posts_to("CHANDOFF")
    assert _action_ids(post) == _action_ids(dm)
    assert _handoff(engine).status == "pending"


def test_accepting_tells_the_sdr_stops_the_clock_and_offers_meeting_booked(
    slack, flow, engine
):
    dm = _hand_off(slack, flow, engine)

    flow.press(dm, "handoff_accept", user=AE1)

    assert _handoff(engine).status == "accepted"
    (answer,) = _answers(engine)
    assert (answer.action, answer.user_id, answer.ae_user_id) == (
        "accepted",
        AE1,
        AE1,
    )
    assert _texts_to(slack, SDR)[-1] == "<@UAE1> accepted *Dana Lee (Northwind)*."
    redrawn = _latest(slack, dm)
    assert _action_ids(redrawn) == ["handoff_meeting", "handoff_reject"]
    status = redrawn.args["blocks"][-2]["elements"][0]["text"]
    assert status.startswith(":white_check_mark: Accepted by <@UAE1> · <!date^")
    (post,) = slack.fake.posts_to("CHANDOFF")
    assert _action_ids(_latest(slack, post)) == ["handoff_meeting", "handoff_reject"]
    (clock,) = _clocks(engine, "handoff_answer")
    assert (clock.status, clock.subject_id) == ("met", answer.handoff_id)
    assert _replies(slack)[-1] == (
        "Accepted: *Dana Lee (Northwind)* is <@UAE1>'s. I've told <@USDR1>; click "
        "*Meeting booked* once the meeting is in the calendar."
    )


def test_accepting_twice_answers_once(slack, flow, engine):
    dm = _hand_off(slack, flow, engine)

    flow.press(dm, "handoff_accept", user=AE1)
    flow.press(dm, "handoff_accept", user=AE1)

    assert len(_answers(engine)) == 1
    assert _texts_to(slack, SDR).count("<@UAE1> accepted *Dana Lee (Northwind)*.") == 1
    assert _replies(slack)[-1] == "This handoff is already accepted; nothing changed."


def test_rejecting_with_a_reason_returns_the_lead_to_its_sdr_and_to_nurture(
    slack, flow, engine
):
    dm = _hand_off(slack, flow, engine)

    response = _reject(slack, flow, dm, "no_budget", "Spend is frozen until Q3")

    assert response.status_code == 200 and response.text == ""
    handoff = _handoff(engine)
    assert handoff.status == "rejected"
    (answer,) = _answers(engine)
    assert (answer.action, answer.reason_code, answer.note) == (
        "rejected",
        "no_budget",
        "Spend is frozen until Q3",
    )
    with session_scope(engine) as session:
        assert session.get(Lead, handoff.lead_id).sdr_user_id == SDR
    assert _texts_to(slack, SDR)[-1] == (
        "<@UAE1> sent *Dana Lee (Northwind)* back to you: *No budget*. "
        "“Spend is frozen until Q3” It's in nurture now; requalify it with "
        "`/qualify dana@northwind.example` when things change."
    )
    (nurture,) = slack.fake.posts_to("CNURTURE")
    text = nurture.args["blocks"][1]["text"]["text"]
    assert "Returned by <@UAE1>: *No budget* · SDR <@USDR1>" in text
    assert "> Spend is frozen until Q3" in text
    redrawn = _latest(slack, dm)
    assert _action_ids(redrawn) == []
    assert "Rejected by <@UAE1>" in redrawn.args["blocks"][-1]["elements"][0]["text"]
    (clock,) = _clocks(engine, "handoff_answer")
    assert clock.status == "met"


def test_rejecting_as_other_without_a_note_is_refused_in_the_modal(slack, flow, engine):
    dm = _hand_off(slack, flow, engine)

    response = _reject(slack, flow, dm, "other", "")

    assert response.json() == {
        "response_action": "errors",
        "errors": {"note": "Say in a few words why: this reason needs a note."},
    }
    assert _handoff(engine).status == "pending"
    assert _answers(engine) == []
    assert slack.fake.posts_to("CNURTURE") == []


def test_the_reject_modal_lists_the_configured_reasons(slack, flow, engine):
    dm = _hand_off(slack, flow, engine)

    flow.press(dm, "handoff_reject", user=AE1)

    view = slack.fake.of("views.open")[-1].args["view"]
    options = view["blocks"][1]["element"]["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [
        ("not_icp", "Not our ICP"),
        ("no_budget", "No budget"),
        ("bad_timing", "Bad timing"),
        ("duplicate", "Duplicate"),
        ("cant_reach", "Can't reach"),
        ("other", "Other"),
    ]


def test_reassign_goes_to_the_next_ae_skipping_one_who_is_away(slack, flow, engine):
    slack.command("away until 2099-12-10", user=AE2)
    dm = _hand_off(slack, flow, engine)

    flow.press(dm, "handoff_reassign", user=AE1)

    handoff = _handoff(engine)
    assert (handoff.ae_user_id, handoff.status) == (AE3, "pending")
    (new_dm,) = slack.fake.posts_to(dm_channel(AE3))
    assert _action_ids(new_dm) == [
        "handoff_accept",
        "handoff_reject",
        "handoff_reassign",
    ]
    assert (handoff.dm_channel_id, handoff.dm_ts) == (
        dm_channel(AE3),
        new_dm.response["ts"],
    )
    assert slack.fake.posts_to(dm_channel(AE2)) == []
    assert _action_ids(_latest(slack, dm)) == []
    (answer,) = _answers(engine)
    assert (answer.action, answer.ae_user_id, answer.to_user_id) == (
        "reassigned",
        AE1,
        AE3,
    )
    (clock,) = _clocks(engine, "handoff_answer")
    assert (clock.status, clock.owner_user_id) == ("open", AE3)
    assert _replies(slack)[-1] == (
        "*Dana Lee (Northwind)* is with <@UAE3> now; I've told them."
    )
    (post,) = slack.fake.posts_to("CHANDOFF")
    line = _latest(slack, post).args["blocks"][0]["text"]["text"]
    assert line.startswith("*Dana Lee (Northwind)* → <@UAE3> from <@USDR1>")


def test_the_old_aes_buttons_do_nothing_after_a_reassign(slack, flow, engine):
    dm = _hand_off(slack, flow, engine)
    flow.press(dm, "handoff_reassign", user=AE1)

    flow.press(dm, "handoff_accept", user=AE1)

    assert _handoff(engine).status == "pending"
    assert _replies(slack)[-1] == (
        "This handoff is <@UAE2>'s; only they or a manager can answer it."
    )


def test_a_click_by_someone_else_gets_told_whose_it_is_and_changes_nothing(
    slack, flow, engine
):
    _hand_off(slack, flow, engine)
    (post,) = slack.fake.posts_to("CHANDOFF")
    updates_before = len(slack.fake.of("chat.update"))

    flow.press(post, "handoff_accept", user="USDR2")
    flow.press(post, "handoff_reject", user="USDR2")

    assert _handoff(engine).status == "pending"
    assert _answers(engine) == []
    assert (
        _replies(slack)[-2:]
        == ["This handoff is <@UAE1>'s; only they or a manager can answer it."] * 2
    )
    assert slack.fake.of("views.open") == []
    assert len(slack.fake.of("chat.update")) == updates_before


def test_a_manager_may_answer_from_the_handoff_channel(slack, flow, engine):
    _hand_off(slack, flow, engine)
    (post,) = slack.fake.posts_to("CHANDOFF")

    flow.press(post, "handoff_accept", user=MANAGER)

    handoff = _handoff(engine)
    assert (handoff.status, handoff.ae_user_id) == ("accepted", AE1)
    (answer,) = _answers(engine)
    assert (answer.user_id, answer.ae_user_id) == (MANAGER, AE1)
    assert _texts_to(slack, SDR)[-1] == "<@UMGR1> accepted *Dana Lee (Northwind)*."


def test_meeting_booked_stores_the_date_and_stops_the_meeting_clock(
    slack, flow, engine
):
    dm = _hand_off(slack, flow, engine)
    flow.press(dm, "handoff_accept", user=AE1)
    accepted = _latest(slack, dm)

    flow.press(accepted, "handoff_meeting", user=AE1)
    view = slack.fake.of("views.open")[-1].args["view"]
    values = {
        "date": {"date": {"type": "datepicker", "selected_date": "2026-12-15"}},
        "note": {"value": {"type": "plain_text_input", "value": "With their CFO"}},
    }
    slack.submit_view(view["callback_id"], values, view["private_metadata"], user=AE1)

    assert _handoff(engine).status == "meeting_booked"
    meeting = _answers(engine)[-1]
    assert meeting.action == "meeting_booked"
    assert meeting.meeting_on == datetime(2026, 12, 15, tzinfo=UTC)
    assert meeting.note == "With their CFO"
    assert _texts_to(slack, SDR)[-1] == (
        "<@UAE1> booked a meeting with *Dana Lee (Northwind)* for Tuesday 15 "
        "December 2026."
    )
    redrawn = _latest(slack, dm)
    assert _action_ids(redrawn) == []
    status = redrawn.args["blocks"][-1]["elements"][0]["text"]
    assert ":calendar: Meeting booked for Tuesday 15 December 2026" in status
    assert all(clock.status != "open" for clock in _clocks(engine, "sql_meeting"))


def test_away_and_back_are_confirmed_in_the_teams_words(slack, engine):
    slack.command("away until 2099-12-10", user=AE2)
    slack.command("back", user=AE2)
    slack.command("back", user=AE2)

    assert _replies(slack) == [
        "You're away through Thursday 10 December 2099: new leads go to others "
        "until Friday 11 December 2099. `/qualify back` ends it early.",
        "You're back: new leads can go to you again.",
        "You're not marked away; nothing changed.",
    ]


def test_only_a_manager_may_mark_someone_else_away(slack, engine):
    slack.command("away <@UAE2|alex> until 2099-12-10", user=AE1)
    slack.command("away <@UAE2|alex> until 2099-12-10", user=MANAGER)

    assert _replies(slack) == [
        "Only managers can mark someone else away or back.",
        "<@UAE2> is away through Thursday 10 December 2099: new leads go to "
        "others until Friday 11 December 2099. `/qualify back <@UAE2>` ends it "
        "early.",
    ]


def test_an_away_date_that_cannot_be_read_or_has_passed_is_refused(slack, engine):
    slack.command("away until someday soonish", user=AE1)
    slack.command("away until 2020-01-01", user=AE1)
    slack.command("away @alex until friday", user=MANAGER)

    assert _replies(slack) == [
        "I couldn't read “someday soonish” as a date. Try `/qualify away until "
        "2026-12-10`.",
        "Wednesday 1 January 2020 has already passed; give the last day of the "
        "absence.",
        "I couldn't tell who “@alex” is. Mention them (`@alex`, picked from the "
        "list Slack offers) or give their member ID (U0123ABCD).",
    ]


def test_contacted_on_an_intent_alert_records_the_touch_and_marks_the_alert(
    slack, engine
):
    lead_id = add_lead(engine, sdr_user_id=SDR)
    alert = {
        "type": "section",
        "block_id": f"lead:{lead_id}",
        "text": {"type": "mrkdwn", "text": "*Dana Lee (Northwind)*"},
        "accessory": {
            "type": "button",
            "text": {"type": "plain_text", "text": "Contacted"},
            "action_id": "contacted",
            "value": str(lead_id),
        },
    }

    slack.click(
        "contacted",
        str(lead_id),
        user=SDR,
        channel=dm_channel(SDR),
        message_blocks=[alert],
    )

    with session_scope(engine) as session:
        (touch,) = session.exec(select(LeadMoment).where(LeadMoment.kind == "touched"))
    assert (touch.lead_id, touch.user_id) == (lead_id, SDR)
    assert touch.at > datetime.now(UTC) - timedelta(minutes=1)
    (update,) = slack.fake.of("chat.update")
    (block,) = update.args["blocks"]
    assert "accessory" not in block
    assert block["text"]["text"].startswith(
        "*Dana Lee (Northwind)*\n:white_check_mark: Contacted by <@USDR1> · "
    )
    assert _replies(slack) == ["Noted: you reached out to *Dana Lee (Northwind)*."]


def test_the_intent_alert_has_a_contacted_button_per_lead():
    lead = Lead(id=7, name="Dana Lee", company="Northwind")
    moment = LeadMoment(lead_id=7, kind="high_intent", at=datetime.now(UTC))

    message = intent_alert_dm([Alert(moment, lead)], "/qualify")

    section = message.blocks[1]
    assert section["block_id"] == "lead:7"
    assert (section["accessory"]["action_id"], section["accessory"]["value"]) == (
        "contacted",
        "7",
    )
