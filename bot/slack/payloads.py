"""Slack request payloads parsed into the few fields the bot acts on."""

import json
from dataclasses import dataclass


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
