"""The command line: `python -m bot serve|socket|demo|import|migrate`.

This is the only place that configures logging.
"""

import logging
import sys
from pathlib import Path

import click
from pydantic import ValidationError

from bot.config import ConfigError, load_config
from bot.settings import Settings, SettingsError

logger = logging.getLogger("bot")


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # Alembic narrates every step at INFO; only its problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _load(ctx: click.Context):
    settings = ctx.obj
    try:
        return load_config(settings.qualify_config)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _upgrade(settings: Settings) -> None:
    from bot.db import DatabaseUnavailable, upgrade_database

    try:
        upgrade_database(settings.database_url)
    except DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Qualify: lead qualification interviews in Slack."""
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise click.ClickException(f"invalid environment: {problems}") from None
    setup_logging(settings.log_level)
    ctx.obj = settings


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    _upgrade(ctx.obj)


def _prepare_live(ctx: click.Context, *required: str):
    settings: Settings = ctx.obj
    config = _load(ctx)
    try:
        settings.require(*required)
        config.require_slack_setup()
    except (SettingsError, ConfigError) as error:
        raise click.ClickException(str(error)) from None

    _upgrade(settings)
    return settings, config


@main.command()
@click.option("--port", type=int, help="Port to listen on (default $PORT or 3000).")
@click.pass_context
def serve(ctx: click.Context, port: int | None) -> None:
    """Serve Slack's requests over HTTP at /slack/events."""
    settings, config = _prepare_live(ctx, "slack_bot_token", "slack_signing_secret")

    from bot.app import create_app, create_runner
    from bot.server import serve as run_server
    from bot.web import create_web_app

    def load_app():
        runner = create_runner(settings, config)
        return create_web_app(create_app(settings, config, runner=runner))

    port = port or settings.port
    logger.info("serving port=%s workers=%s", port, settings.web_concurrency)
    run_server(
        load_app,
        host=settings.host,
        port=port,
        workers=settings.web_concurrency,
        threads=settings.web_threads,
    )


@main.command()
@click.pass_context
def socket(ctx: click.Context) -> None:
    """Connect to Slack over Socket Mode (no public URL needed)."""
    settings, config = _prepare_live(ctx, "slack_bot_token", "slack_app_token")

    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app, create_runner

    app = create_app(settings, config, runner=create_runner(settings, config))
    try:
        SocketModeHandler(app, settings.slack_app_token).start()
    except OSError as error:
        raise click.ClickException(
            f"cannot connect to Slack for Socket Mode ({error}); check the network "
            "and SLACK_APP_TOKEN"
        ) from None


@main.command()
@click.option("--auto", is_flag=True, help="Answer the questions by itself.")
@click.option("--lead", default="dana@northwind.example", help="Lead to qualify.")
@click.pass_context
def demo(ctx: click.Context, auto: bool, lead: str) -> None:
    """Run an interview in the terminal with sample data: no Slack, no keys."""
    from bot.demo import run_demo

    interactive = not auto and sys.stdin.isatty()
    if not ctx.obj.log_level.upper() == "DEBUG":
        # The demo's output is the conversation; log lines would bury it.
        logging.getLogger().setLevel(logging.WARNING)
    run_demo(lead_query=lead, interactive=interactive)


@main.command(name="import")
@click.argument("kind", type=click.Choice(["leads", "events"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_(ctx: click.Context, kind: str, file: Path) -> None:
    """Import leads or engagement events from a CSV file."""
    from bot.db import make_engine
    from bot.domain import importer

    settings: Settings = ctx.obj
    config = _load(ctx)
    _upgrade(settings)
    engine = make_engine(settings.database_url)
    try:
        if kind == "leads":
            result = importer.import_leads(file, engine=engine)
        else:
            result = importer.import_events(file, engine=engine, config=config)
    except importer.ImportFileError as error:
        raise click.ClickException(str(error)) from None
    _print_import(result)
    if result.errors:
        sys.exit(1)


@main.command()
@click.option(
    "--offline", is_flag=True, help="Use the offline rules even with OPENAI_API_KEY."
)
@click.option(
    "--check",
    "check_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Score labelled examples in FILE instead of reading standard input.",
)
@click.option("--min-accuracy", default=0.85, show_default=True, type=float)
@click.pass_context
def interpret(
    ctx: click.Context, offline: bool, check_file: Path | None, min_accuracy: float
) -> None:
    """Read {"criterion", "text", "date"} JSON lines; write proposed levels."""
    import json

    from bot.app import create_interpreter
    from bot.domain.interpret import (
        RULES,
        InputError,
        OfflineInterpreter,
        check_examples,
    )

    if offline:
        interpreter = OfflineInterpreter()
    else:
        interpreter = create_interpreter(ctx.obj, _load(ctx))
    if check_file is not None:
        check = check_examples(interpreter, check_file.read_text().splitlines())
        for miss in check.misses:
            click.echo(f"  miss: {miss}")
        for criterion in sorted(check.total):
            click.echo(
                f"{criterion}: {check.right.get(criterion, 0)}/{check.total[criterion]}"
            )
        click.echo(f"accuracy: {check.accuracy:.1%} (minimum {min_accuracy:.0%})")
        if check.accuracy < min_accuracy:
            sys.exit(1)
        return

    failed = False
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            criterion, text, day = _interpret_request(line, number, set(RULES))
        except InputError as error:
            failed = True
            click.echo(json.dumps({"line": number, "error": str(error)}))
            continue
        proposal = interpreter.interpret(criterion, text, day)
        click.echo(json.dumps(proposal.as_dict(), ensure_ascii=False))
    if failed:
        sys.exit(1)


def _interpret_request(line: str, number: int, known: set[str]):
    from bot.domain.interpret import parse_request

    return parse_request(line, number, known)


def _print_import(result) -> None:
    updated = f"{result.updated} updated, " if result.kind == "leads" else ""
    click.echo(
        f"{result.kind}: {result.imported} imported, {updated}"
        f"{result.duplicates} already present, {len(result.errors)} rejected"
    )
    for error in result.errors:
        click.echo(f"  line {error.line}: {error.reason}", err=True)
    for name, count in sorted(result.unmapped.items()):
        click.echo(
            f"  note: event {name!r} ×{count} is not mapped in [engagement.signals]; "
            "it counts 0 until it is",
            err=True,
        )


if __name__ == "__main__":
    main(prog_name="python -m bot")
