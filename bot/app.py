"""Building the Bolt app. Nothing Slack-related exists until these run."""

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from sqlalchemy.engine import Engine

from bot import conversation, messages
from bot.config import Config
from bot.conversation import Services
from bot.db import make_engine
from bot.domain.ingest import IngestResult
from bot.domain.interpret import Interpreter, OfflineInterpreter
from bot.settings import Settings
from bot.slack.jobs import JobRunner, process_runner, thread_runner
from bot.slack.listeners import register
from bot.slack.poster import SlackPoster, make_web_client
from bot.web import Hooks

logger = logging.getLogger(__name__)

COMMAND = "/qualify"


def create_services(
    settings: Settings, config: Config, *, engine: Engine | None = None
) -> Services:
    """What the work after an ack needs: the database, config and Web API."""
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    return Services(
        engine=engine or make_engine(settings.database_url),
        config=config,
        poster=SlackPoster(client),
        command=COMMAND,
        interpreter=create_interpreter(settings, config),
    )


def create_interpreter(settings: Settings, config: Config) -> Interpreter:
    """The LLM interpreter when OPENAI_API_KEY is set, else the offline rules."""
    offline = OfflineInterpreter()
    if not settings.openai_api_key:
        return offline
    from bot.llm import create_llm_interpreter

    return create_llm_interpreter(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        timeout_s=settings.llm_timeout_s,
        config=config,
        fallback=offline,
    )


def create_runner(settings: Settings, config: Config) -> JobRunner:
    """Worker processes for the work after the ack, or threads if set to 0."""
    if settings.work_processes == 0:
        lanes = [
            ThreadPoolExecutor(1, thread_name_prefix="job")
            for _ in range(settings.work_threads)
        ]
        return thread_runner(create_services(settings, config), lanes)
    return process_runner(settings, config, settings.work_processes)


def create_hooks(
    settings: Settings,
    config: Config,
    *,
    runner: JobRunner,
    engine: Engine | None = None,
) -> Hooks:
    """POST /hooks/events: stores into DATABASE_URL, hands new intent to a job."""

    def deliver_intent(result: IngestResult) -> None:
        runner.submit("deliver_intent", {"lead_ids": sorted(result.lead_ids)})

    return Hooks(
        engine=engine or make_engine(settings.database_url),
        config=config,
        secret=settings.hooks_secret,
        max_bytes=settings.hooks_max_bytes,
        on_stored=deliver_intent,
    )


def create_app(settings: Settings, config: Config, *, runner: JobRunner) -> App:
    """The Bolt app with every listener registered, talking to SLACK_API_URL."""
    app = App(
        client=make_web_client(settings.slack_bot_token, settings.slack_api_url),
        signing_secret=settings.slack_signing_secret,
        # Listeners only ack and hand the request to the runner, so they run
        # in the request's own thread and the response leaves at once.
        process_before_response=True,
        # auth.test runs on the first request instead of at import or start.
        token_verification_enabled=False,
    )
    register(app, runner, config=config, command=COMMAND)
    app.error(_report_error)
    return app


def _report_error(error: Exception, body: dict, respond=None) -> None:
    """An ack function failed: log once with a reference, tell the user plainly."""
    ref = conversation.new_reference()
    kind = body.get("type") or body.get("command") or "request"
    logger.error("request failed ref=%s kind=%s", ref, kind, exc_info=error)
    if respond is not None and body.get("response_url"):
        try:
            respond(text=messages.UNEXPECTED.format(ref=ref), response_type="ephemeral")
        except Exception:
            logger.warning("could not tell the user about ref=%s", ref)
