"""Modal submissions: a new lead, and changes made from the review."""

from slack_bolt import Ack, App, Respond

from bot import conversation
from bot.config import MAX_LEVEL
from bot.conversation import Services
from bot.domain.leads import DOMAIN, normalise_domain
from bot.slack import blocks
from bot.slack.jobs import JobRunner
from bot.slack.payloads import view_input, view_selected, view_value


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
