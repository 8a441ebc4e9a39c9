"""Slack request payloads parsed into the few fields the bot acts on."""

import json
import re
from dataclasses import dataclass
from datetime import date


class PayloadError(ValueError):
    """A payload that lacks a field the bot needs; names the field."""


@dataclass(frozen=True)
class CommandRequest:
    user_id: str
    text: str
    command: str
    channel_id: str
    trigger_id: str


@dataclass(frozen=True)
class LevelClick:
    user_id: str
    interview_id: int
    criterion: str
    level: int
    channel_id: str
    message_ts: str


@dataclass(frozen=True)
class ReviewClick:
    user_id: str
    interview_id: int
    channel_id: str
    message_ts: str
    trigger_id: str


@dataclass(frozen=True)
class ClaimClick:
    user_id: str
    mql_id: int
    channel_id: str
    message_ts: str


@dataclass(frozen=True)
class DmText:
    user_id: str
    text: str
    channel_id: str
    event_id: str | None


def _field(data: dict, *path: str):
    value = data
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise PayloadError(f"payload has no {'.'.join(path)}")
        value = value[key]
    return value


def parse_command(body: dict) -> CommandRequest:
    return CommandRequest(
        user_id=_field(body, "user_id"),
        text=(body.get("text") or "").strip(),
        command=body.get("command") or "/qualify",
        channel_id=body.get("channel_id", ""),
        trigger_id=body.get("trigger_id", ""),
    )


def parse_level_click(body: dict) -> LevelClick:
    action = _field(body, "actions")[0]
    try:
        value = json.loads(action["value"])
        interview_id, criterion, level = (
            int(value["i"]),
            str(value["c"]),
            int(value["l"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PayloadError(f"actions[0].value is not an answer: {error}") from None
    return LevelClick(
        user_id=_field(body, "user", "id"),
        interview_id=interview_id,
        criterion=criterion,
        level=level,
        channel_id=_field(body, "container", "channel_id"),
        message_ts=_field(body, "container", "message_ts"),
    )


def parse_review_click(body: dict) -> ReviewClick:
    action = _field(body, "actions")[0]
    try:
        interview_id = int(action["value"])
    except (KeyError, TypeError, ValueError):
        raise PayloadError("actions[0].value is not an interview ID") from None
    return ReviewClick(
        user_id=_field(body, "user", "id"),
        interview_id=interview_id,
        channel_id=_field(body, "container", "channel_id"),
        message_ts=_field(body, "container", "message_ts"),
        trigger_id=body.get("trigger_id", ""),
    )


def parse_claim_click(body: dict) -> ClaimClick:
    action = _field(body, "actions")[0]
    try:
        mql_id = int(action["value"])
    except (KeyError, TypeError, ValueError):
        raise PayloadError("actions[0].value is not an MQL ID") from None
    return ClaimClick(
        user_id=_field(body, "user", "id"),
        mql_id=mql_id,
        channel_id=_field(body, "container", "channel_id"),
        message_ts=_field(body, "container", "message_ts"),
    )


def parse_dm_text(body: dict, event: dict) -> DmText | None:
    """A person's plain message in a DM with the bot, or None for anything else.

    Bots (this one included), edits, deletions, joins and file shares all carry
    a `subtype` or a `bot_id`; none of them is an SDR's answer.
    """
    if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
        return None
    text = (event.get("text") or "").strip()
    if not text or not event.get("user"):
        return None
    return DmText(
        user_id=event["user"],
        text=text,
        channel_id=event.get("channel", ""),
        event_id=body.get("event_id"),
    )


def view_value(view: dict, block_id: str) -> str:
    """A plain_text_input's value from a submitted modal ('' when absent)."""
    return view_input(view, block_id) or ""


def view_input(view: dict, block_id: str) -> str | None:
    """A plain_text_input's value, or None when the modal had no such input."""
    state = _field(view, "state", "values")
    if block_id not in state:
        return None
    return (state[block_id].get("value", {}).get("value") or "").strip()


def view_selected(view: dict, block_id: str, action_id: str) -> str | None:
    state = _field(view, "state", "values")
    option = state.get(block_id, {}).get(action_id, {}).get("selected_option")
    return option["value"] if option else None


@dataclass(frozen=True)
class HandoffClick:
    user_id: str
    handoff_id: int
    action_id: str
    trigger_id: str


@dataclass(frozen=True)
class ContactedClick:
    user_id: str
    lead_id: int
    channel_id: str
    message_ts: str
    # The alert as Slack shows it, to redraw with this lead marked.
    alert_blocks: list[dict]


@dataclass(frozen=True)
class AwayRequest:
    """`away [person] [until] <day>` or `back [person]`, after the command."""

    back: bool
    # A user ID when a person was named; `person_text` holds what was typed.
    person: str | None
    person_text: str
    until_text: str


def parse_handoff_click(body: dict) -> HandoffClick:
    action = _field(body, "actions")[0]
    try:
        handoff_id = int(action["value"])
    except (KeyError, TypeError, ValueError):
        raise PayloadError("actions[0].value is not a handoff ID") from None
    return HandoffClick(
        user_id=_field(body, "user", "id"),
        handoff_id=handoff_id,
        action_id=action.get("action_id", ""),
        trigger_id=body.get("trigger_id", ""),
    )


def parse_contacted_click(body: dict) -> ContactedClick:
    action = _field(body, "actions")[0]
    try:
        lead_id = int(action["value"])
    except (KeyError, TypeError, ValueError):
        raise PayloadError("actions[0].value is not a lead ID") from None
    return ContactedClick(
        user_id=_field(body, "user", "id"),
        lead_id=lead_id,
        channel_id=_field(body, "container", "channel_id"),
        message_ts=_field(body, "container", "message_ts"),
        alert_blocks=(body.get("message") or {}).get("blocks") or [],
    )


MENTION = re.compile(r"^<@(?P<id>[UW][A-Z0-9]{2,})(\|[^>]*)?>$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def parse_away(text: str) -> AwayRequest | None:
    """The away/back subcommand of /qualify, or None for any other text.

    A person is a mention (`<@U123>`, as Slack sends a picked @name) or a
    member ID; a plain `@name` is kept as typed so the reply can say so.
    """
    word, _, rest = text.strip().partition(" ")
    if word.lower() not in ("away", "back"):
        return None
    rest = rest.strip()
    first, _, after = rest.partition(" ")
    person, person_text = None, ""
    if first.startswith(("<@", "@")) or USER_ID.match(first):
        person_text, rest = first, after.strip()
        match = MENTION.match(first)
        if match:
            person = match["id"]
        elif USER_ID.match(first):
            person = first
    if rest.lower().startswith("until "):
        rest = rest[len("until ") :].strip()
    return AwayRequest(
        back=word.lower() == "back",
        person=person,
        person_text=person_text,
        until_text=rest,
    )


def view_date(view: dict, block_id: str, action_id: str) -> date | None:
    """A datepicker's chosen day from a submitted modal."""
    state = _field(view, "state", "values")
    picked = state.get(block_id, {}).get(action_id, {}).get("selected_date")
    try:
        return date.fromisoformat(picked) if picked else None
    except ValueError:
        raise PayloadError(f"{block_id}: {picked!r} is not a date") from None
