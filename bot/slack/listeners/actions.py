"""Button clicks: level answers, lead choices, the review's buttons, claims."""

import re

from slack_bolt import Ack, App, Respond

from bot import conversation, handoff_service, intent
from bot.conversation import Services
from bot.domain import handoffs
from bot.slack import blocks
from bot.slack.jobs import JobRunner
from bot.slack.listeners.replies import ephemeral
from bot.slack.payloads import (
    PayloadError,
    parse_claim_click,
    parse_contacted_click,
    parse_handoff_click,
    parse_level_click,
    parse_review_click,
)


def answer(services: Services, body: dict, respond: Respond | None) -> None:
    click = parse_level_click(body)
    conversation.answer(
        services,
        user_id=click.user_id,
        interview_id=click.interview_id,
        criterion=click.criterion,
        level=click.level,
        channel_id=click.channel_id,
        message_ts=click.message_ts,
        reply=ephemeral(respond),
    )


def pick_lead(services: Services, body: dict, respond: Respond | None) -> None:
    try:
        lead_id = int(body["actions"][0]["value"])
    except (KeyError, IndexError, ValueError):
        raise PayloadError("actions[0].value is not a lead ID") from None
    conversation.begin(
        services,
        lead_id=lead_id,
        user_id=body["user"]["id"],
        reply=ephemeral(respond, replace_original=True),
    )


def review(services: Services, body: dict, respond: Respond | None) -> None:
    click = parse_review_click(body)
    action_id = body["actions"][0]["action_id"]
    if action_id == blocks.CHANGE:
        conversation.open_change_modal(
            services,
            user_id=click.user_id,
            interview_id=click.interview_id,
            trigger_id=click.trigger_id,
            reply=ephemeral(respond),
        )
        return
    step = conversation.submit if action_id == blocks.SUBMIT else conversation.cancel
    step(
        services,
        user_id=click.user_id,
        interview_id=click.interview_id,
        reply=ephemeral(respond),
    )


def paste_notes(services: Services, body: dict, respond: Respond | None) -> None:
    conversation.open_notes_modal(
        services,
        user_id=body["user"]["id"],
        interview_id=int(body["actions"][0]["value"]),
        trigger_id=body.get("trigger_id", ""),
        reply=ephemeral(respond),
    )


def claim_mql(services: Services, body: dict, respond: Respond | None) -> None:
    click = parse_claim_click(body)
    intent.claim_mql(
        services,
        user_id=click.user_id,
        mql_id=click.mql_id,
        channel_id=click.channel_id,
        message_ts=click.message_ts,
        reply=ephemeral(respond),
    )


def answer_handoff(services: Services, body: dict, respond: Respond | None) -> None:
    click = parse_handoff_click(body)
    reply = ephemeral(respond)
    if click.action_id == blocks.HANDOFF_ACCEPT:
        handoff_service.accept(
            services, user_id=click.user_id, handoff_id=click.handoff_id, reply=reply
        )
    elif click.action_id == blocks.HANDOFF_REASSIGN:
        handoff_service.reassign(
            services, user_id=click.user_id, handoff_id=click.handoff_id, reply=reply
        )
    else:
        action = (
            handoffs.REJECTED
            if click.action_id == blocks.HANDOFF_REJECT
            else handoffs.MEETING_BOOKED
        )
        handoff_service.open_modal(
            services,
            action=action,
            user_id=click.user_id,
            handoff_id=click.handoff_id,
            trigger_id=click.trigger_id,
            reply=reply,
        )


def contacted(services: Services, body: dict, respond: Respond | None) -> None:
    click = parse_contacted_click(body)
    handoff_service.contacted(
        services,
        user_id=click.user_id,
        lead_id=click.lead_id,
        channel_id=click.channel_id,
        message_ts=click.message_ts,
        alert_blocks=click.alert_blocks,
        reply=ephemeral(respond),
    )


def register(app: App, runner: JobRunner) -> None:
    def handing_to(job: str):
        def ack_then_run(ack: Ack, body: dict) -> None:
            ack()
            runner.submit(job, body)

        return ack_then_run

    app.action(re.compile(rf"^{blocks.ANSWER}:(\d|accept)$"))(handing_to("answer"))
    app.action(re.compile(rf"^{blocks.PICK_LEAD}:\d+$"))(handing_to("pick_lead"))
    app.action(blocks.PASTE_NOTES)(handing_to("paste_notes"))
    review_ids = rf"^({blocks.SUBMIT}|{blocks.CANCEL}|{blocks.CHANGE})$"
    app.action(re.compile(review_ids))(handing_to("review"))
    app.action(blocks.CLAIM_MQL)(handing_to("claim_mql"))
    handoff_ids = (
        rf"^({blocks.HANDOFF_ACCEPT}|{blocks.HANDOFF_REJECT}"
        rf"|{blocks.HANDOFF_REASSIGN}|{blocks.HANDOFF_MEETING})$"
    )
    app.action(re.compile(handoff_ids))(handing_to("answer_handoff"))
    app.action(blocks.CONTACTED)(handing_to("contacted"))
