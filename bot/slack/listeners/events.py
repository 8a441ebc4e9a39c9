"""Events API: typed answers in the DM; everything else is acknowledged only."""

import logging
import re

from slack_bolt import App

from bot import conversation
from bot.conversation import Services
from bot.slack.listeners.replies import reported
from bot.slack.payloads import parse_dm_text

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def ack_message() -> None:
        # Events are acknowledged by Bolt itself; the work runs after.
        pass

    def message(body: dict, _respond: object) -> None:
        dm = parse_dm_text(body, body["event"])
        if dm is None:
            return
        conversation.note(
            services,
            user_id=dm.user_id,
            text=dm.text,
            channel_id=dm.channel_id,
            event_id=dm.event_id,
        )

    def ignore(event: dict) -> None:
        # Subscribed but not acted on: answering 200 stops Slack's retries.
        logger.debug("event ignored type=%s", event.get("type"))

    app.event("message")(ack=ack_message, lazy=[reported(services, message)])
    app.event(re.compile(".*"))(ignore)
