"""Events API: typed answers in the DM; everything else is acknowledged only."""

import logging
import re

from slack_bolt import App, Respond

from bot import conversation
from bot.conversation import Services
from bot.slack.jobs import JobRunner
from bot.slack.payloads import parse_dm_text

logger = logging.getLogger(__name__)


def message(services: Services, body: dict, respond: Respond | None) -> None:
    dm = parse_dm_text(body, body["event"])
    conversation.note(
        services,
        user_id=dm.user_id,
        text=dm.text,
        channel_id=dm.channel_id,
        event_id=dm.event_id,
    )


def register(app: App, runner: JobRunner) -> None:
    @app.event("message")
    def on_message(body: dict, event: dict) -> None:
        # Bolt acks events itself; only an SDR's own text becomes a job.
        if parse_dm_text(body, event) is not None:
            runner.submit("message", body)

    @app.event(re.compile(".*"))
    def ignore(event: dict) -> None:
        # Subscribed but not acted on: answering 200 stops Slack's retries.
        logger.debug("event ignored type=%s", event.get("type"))
