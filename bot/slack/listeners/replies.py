"""Helpers shared by the listeners: the plain ack, and Bolt's respond as a Reply.

Every listener is split in two, as Bolt's lazy listeners allow: a quick part
that acks in the request's own thread, and the work, which Bolt runs in its
listener pool after the response has gone. An ack therefore never waits
behind another request's database writes or Web API calls.
"""

import logging
from collections.abc import Callable

from slack_bolt import Ack, Respond

from bot import messages
from bot.conversation import Reply, Services, new_reference
from bot.slack.blocks import Message
from bot.slack.poster import PostError

logger = logging.getLogger(__name__)

Work = Callable[[dict, Respond | None], None]


def acknowledge(ack: Ack) -> None:
    ack()


def reported(services: Services, work: Work) -> Work:
    """The boundary of a listener's work: log a failure once, tell the user.

    Bolt only logs a one-line message when a lazy listener fails; this logs
    the traceback with a reference and shows the person the same reference.
    """

    def run(body: dict, respond: Respond | None) -> None:
        try:
            work(body, respond)
        except Exception as error:
            ref = new_reference()
            logger.error(
                "listener failed ref=%s listener=%s", ref, work.__name__, exc_info=error
            )
            _tell(services, body, respond, Message(messages.UNEXPECTED.format(ref=ref)))

    run.__name__ = work.__name__
    return run


def _tell(
    services: Services, body: dict, respond: Respond | None, message: Message
) -> None:
    try:
        if respond is not None:
            ephemeral(respond)(message)
            return
        user_id = (body.get("user") or {}).get("id") or body.get("user_id")
        if user_id:
            services.poster.post(services.poster.open_dm(user_id), message)
    except (PostError, OSError) as error:
        logger.warning("could not tell the user about a failure error=%s", error)


def ephemeral(respond, replace_original: bool = False) -> Reply:
    """Reply only to the person who acted, through the request's response_url.

    The response_url works in private channels and DMs the bot is not a member
    of, where chat.postEphemeral would fail with channel_not_found.
    """

    def reply(message: Message) -> None:
        respond(
            text=message.text,
            blocks=message.blocks or None,
            response_type="ephemeral",
            replace_original=replace_original,
        )

    return reply
