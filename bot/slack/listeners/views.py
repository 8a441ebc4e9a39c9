"""Modal submissions: a new lead, changes from the review, handoff answers."""

import json

from slack_bolt import Ack, App, Respond

from bot import conversation, handoff_service, messages
from bot.config import MAX_LEVEL
from bot.conversation import Services
from bot.domain.leads import DOMAIN, normalise_domain
from bot.slack import blocks
from bot.slack.jobs import JobRunner
from bot.slack.payloads import (
    PayloadError,
    view_date,
    view_input,
    view_selected,
    view_value,
)


def new_lead_errors(view: dict) -> dict[str, str]:
    """What Slack shows under each field of the New lead modal, if anything."""
    errors = {}
    if not view_value(view, "company"):
        errors["company"] = "Enter the company's name."
    if not DOMAIN.match(normalise_domain(view_value(view, "domain"))):
        errors["domain"] = "Enter a domain like acme.com."
    return errors


def new_lead(services: Services, body: dict, respond: Respond | None) -> None:
    view = body["view"]
    conversation.create_and_begin(
        services,
        user_id=body["user"]["id"],
        company=view_value(view, "company"),
        domain=view_value(view, "domain"),
    )


def change_answers(services: Services, body: dict, respond: Respond | None) -> None:
    view = body["view"]
    changes = {}
    for block_id in view["state"]["values"]:
        kind, _, criterion = block_id.partition(":")
        if kind != "level":
            continue
        selected = view_selected(view, block_id, "level")
        level = int(selected) if selected is not None else None
        if level is not None and not 0 <= level <= MAX_LEVEL:
            level = None
        changes[criterion] = (level, view_input(view, f"note:{criterion}"))
    conversation.change(
        services,
        user_id=body["user"]["id"],
        interview_id=int(view["private_metadata"]),
        changes=changes,
    )


def call_notes(services: Services, body: dict, respond: Respond | None) -> None:
    view = body["view"]
    conversation.paste_notes(
        services,
        user_id=body["user"]["id"],
        interview_id=int(view["private_metadata"]),
        notes=view_value(view, "notes"),
    )


def reject_errors(view: dict) -> dict[str, str]:
    """A reason that needs a note (the modal carries which ones) given none."""
    needs_note = json.loads(view["private_metadata"]).get("n", [])
    if view_selected(view, "reason", "reason") in needs_note and not view_value(
        view, "note"
    ):
        return {"note": messages.REJECT_NOTE_NEEDED}
    return {}


def reject_handoff(services: Services, body: dict, respond: Respond | None) -> None:
    view = body["view"]
    handoff_service.reject(
        services,
        user_id=body["user"]["id"],
        handoff_id=int(json.loads(view["private_metadata"])["h"]),
        reason_code=view_selected(view, "reason", "reason") or "",
        note=view_value(view, "note"),
    )


def book_meeting(services: Services, body: dict, respond: Respond | None) -> None:
    view = body["view"]
    meeting_on = view_date(view, "date", "date")
    if meeting_on is None:
        raise PayloadError("date: no meeting date was picked")
    handoff_service.book_meeting(
        services,
        user_id=body["user"]["id"],
        handoff_id=int(view["private_metadata"]),
        meeting_on=meeting_on,
        note=view_value(view, "note"),
    )


def register(app: App, runner: JobRunner) -> None:
    @app.view(blocks.NEW_LEAD_VIEW)
    def ack_new_lead(ack: Ack, body: dict, view: dict) -> None:
        errors = new_lead_errors(view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        runner.submit("new_lead", body)

    @app.view(blocks.NOTES_VIEW)
    def ack_notes(ack: Ack, body: dict) -> None:
        ack()
        runner.submit("call_notes", body)

    @app.view(blocks.CHANGE_VIEW)
    def ack_change(ack: Ack, body: dict) -> None:
        ack()
        runner.submit("change_answers", body)

    @app.view(blocks.REJECT_VIEW)
    def ack_reject(ack: Ack, body: dict, view: dict) -> None:
        errors = reject_errors(view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        runner.submit("reject_handoff", body)

    @app.view(blocks.MEETING_VIEW)
    def ack_meeting(ack: Ack, body: dict) -> None:
        ack()
        runner.submit("book_meeting", body)
