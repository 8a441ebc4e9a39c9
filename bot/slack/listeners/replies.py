"""Bolt's `respond` as the conversation's Reply."""

from slack_bolt import Respond

from bot.conversation import Reply
from bot.slack.blocks import Message


def ephemeral(respond: Respond | None, replace_original: bool = False) -> Reply:
    """Reply only to the person who acted, through the request's response_url.

    The response_url works in private channels and DMs the bot is not a member
    of, where chat.postEphemeral would fail with channel_not_found.
    """

    def reply(message: Message) -> None:
        if respond is None:
            raise ValueError("this request has no response_url to reply through")
        respond(
            text=message.text,
            blocks=message.blocks or None,
            response_type="ephemeral",
            replace_original=replace_original,
        )

    return reply
