"""A Bolt app that only acknowledges /qualify, served the way `bot serve` serves ours.

The ack_latency benchmark measures our app against this one: the same Flask
surface (bot.web), the same gunicorn setup (bot.server) with the same worker
and thread counts, the same Bolt options and ack text; nothing after the ack.

    python -m bench.bare_app --port 3001
"""

import logging
import sys

import click
from slack_bolt import Ack, App

from bot import messages
from bot.server import serve
from bot.settings import Settings, SettingsError
from bot.slack.mrkdwn import clip, escape
from bot.slack.poster import make_web_client
from bot.web import create_web_app


def create_bare_app(settings: Settings) -> App:
    app = App(
        client=make_web_client(settings.slack_bot_token, settings.slack_api_url),
        signing_secret=settings.slack_signing_secret,
        # The same Bolt options as ours (bot/app.py): the ack runs in the
        # request's thread.
        process_before_response=True,
        token_verification_enabled=False,
    )

    @app.command("/qualify")
    def qualify(ack: Ack, body: dict) -> None:
        query = (body.get("text") or "").strip()
        ack(text=messages.LOOKING_UP.format(query=escape(clip(query, 200))))

    @app.event("message")
    def message() -> None:
        # Bolt acks the event itself; the bare app does nothing after.
        pass

    return app


@click.command()
@click.option("--port", type=int, help="Port to listen on (default $PORT or 3000).")
def main(port: int | None) -> None:
    """Serve the bare app at /slack/events (and /healthz)."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    try:
        settings.require("slack_bot_token", "slack_signing_secret")
    except SettingsError as error:
        raise click.ClickException(str(error)) from None

    serve(
        lambda: create_web_app(create_bare_app(settings)),
        host=settings.host,
        port=port or settings.port,
        workers=settings.web_concurrency,
        threads=settings.web_threads,
    )


if __name__ == "__main__":
    main(prog_name="python -m bench.bare_app")
