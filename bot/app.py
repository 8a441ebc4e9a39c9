"""Building the Bolt app. Nothing Slack-related exists until create_app runs."""

import logging
from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App
from sqlalchemy.engine import Engine

from bot import conversation, messages
from bot.config import Config
from bot.conversation import Services
from bot.db import make_engine
from bot.settings import Settings
from bot.slack.listeners import register
from bot.slack.poster import SlackPoster, make_web_client

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    config: Config,
    *,
    engine: Engine | None = None,
    listener_executor: Executor | None = None,
) -> App:
    """The Bolt app with every listener registered, talking to SLACK_API_URL."""
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        # Acks run in the request's thread and the response goes back as soon
        # as they return; the work runs in the listener pool (see
        # bot/slack/listeners/replies.py).
        process_before_response=True,
        listener_executor=listener_executor
        or ThreadPoolExecutor(settings.listener_threads, thread_name_prefix="listener"),
        # auth.test runs on the first request instead of at import or start.
        token_verification_enabled=False,
    )
    services = Services(
        engine=engine or make_engine(settings.database_url),
        config=config,
        poster=SlackPoster(client),
    )
    register(app, services)
    app.error(_report_error)
    return app


def _report_error(error: Exception, body: dict, respond=None) -> None:
    """The last resort: log once with a reference, tell the user plainly."""
    ref = conversation.new_reference()
    kind = body.get("type") or body.get("command") or "request"
    logger.error("request failed ref=%s kind=%s", ref, kind, exc_info=error)
    if respond is not None and (body.get("response_url") or body.get("command")):
        try:
            respond(text=messages.UNEXPECTED.format(ref=ref), response_type="ephemeral")
        except Exception:
            logger.warning("could not tell the user about ref=%s", ref)
