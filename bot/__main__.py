"""The command line: `python -m bot serve|socket|worker|demo|import|export|
digest|forget|merge|migrate|interpret`.

This is the only place that configures logging.
"""

import logging
import sys
from contextlib import nullcontext
from pathlib import Path

import click
from pydantic import ValidationError

from bot.config import ConfigError, load_config
from bot.domain.presets import PRESETS
from bot.settings import Settings, SettingsError

logger = logging.getLogger("bot")
# Rejected rows printed after an import; the rejected file holds them all.
PRINTED_ERRORS = 20


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
    """Serve Slack's requests at /slack/events and live events at /hooks/events."""
    settings, config = _prepare_live(ctx, "slack_bot_token", "slack_signing_secret")

    from bot.app import create_app, create_hooks, create_runner
    from bot.server import serve as run_server
    from bot.web import create_web_app

    def load_app():
        runner = create_runner(settings, config)
        hooks = create_hooks(settings, config, runner=runner)
        return create_web_app(create_app(settings, config, runner=runner), hooks)

    port = port or settings.port
    logger.info(
        "serving port=%s workers=%s hooks=%s",
        port,
        settings.web_concurrency,
        "on" if settings.hooks_secret else "off",
    )
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
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    default="generic",
    show_default=True,
    help="The tool FILE was exported from: its column names and date formats.",
)
@click.option(
    "--map",
    "column_map",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Read FIELD from COLUMN (repeatable); wins over the preset.",
)
@click.option(
    "--tz",
    "zone_name",
    metavar="ZONE",
    help="Time zone of event times written without an offset (Europe/Berlin).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on stderr (default: when stderr is a terminal).",
)
@click.pass_context
def import_(
    ctx: click.Context,
    kind: str,
    file: Path,
    preset: str,
    column_map: tuple[str, ...],
    zone_name: str | None,
    progress: bool | None,
) -> None:
    """Import leads or engagement events from a CSV export."""
    from bot.db import make_engine
    from bot.domain import importer

    mapping, zone = _import_options(kind, preset, column_map, zone_name)
    settings: Settings = ctx.obj
    config = _load(ctx)
    _upgrade(settings)
    engine = make_engine(settings.database_url)
    bar = _ImportProgress(file) if _shows_progress(progress) else None
    options = {"preset": preset, "mapping": mapping, "progress": bar}
    if kind == "events":
        options.update(config=config, zone=zone)
    failure = None
    try:
        run = importer.import_leads if kind == "leads" else importer.import_events
        result = run(file, engine=engine, **options)
    except importer.ImportFileError as error:
        result, failure = error.result, error
    finally:
        if bar is not None:
            bar.close()

    if result is not None:
        _print_import(result)
        _post_new_mqls(settings, config, engine, result)
    if failure is not None:
        raise click.ClickException(str(failure))
    if result.rejected:
        sys.exit(1)


def _post_new_mqls(settings: Settings, config, engine, result) -> None:
    """Post the MQLs an events import made, when Slack is set up here."""
    count = len(result.new_mql_ids)
    if not count:
        return
    if not (settings.slack_bot_token and config.channels.queue):
        click.echo(
            f"{count} new MQL(s) recorded; the worker (python -m bot worker) "
            "posts them to channels.queue on its next pass, or import with "
            "SLACK_BOT_TOKEN set and channels.queue configured to post them now."
        )
        return
    from bot import intent
    from bot.app import create_services

    intent.post_new_mqls(create_services(settings, config, engine=engine))
    click.echo(f"{count} new MQL(s) posted to the SDR queue.")


def _import_options(
    kind: str, preset: str, column_map: tuple[str, ...], zone_name: str | None
):
    """--preset, --map and --tz checked before the database is touched."""
    from bot.domain import importer

    try:
        importer.find_preset(preset, kind)
    except importer.ImportFileError as error:
        raise click.BadParameter(str(error), param_hint="--preset") from None
    try:
        mapping = importer.parse_column_map(column_map, kind)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--map") from None
    if zone_name is None:
        return mapping, None
    if kind == "leads":
        raise click.BadParameter(
            "leads have no times to read; it applies to `import events`.",
            param_hint="--tz",
        )
    try:
        return mapping, importer.find_zone(zone_name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--tz") from None


def _shows_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


class _ImportProgress:
    """A bar of the bytes read (so it needs no first pass to count rows), with
    the rows per second beside it; log lines are printed above it."""

    def __init__(self, file: Path) -> None:
        import time
        from contextlib import ExitStack

        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        self._clock = time.monotonic
        self._started = self._clock()
        self._stack = ExitStack()
        self._stack.enter_context(logging_redirect_tqdm())
        self._bar = self._stack.enter_context(
            tqdm(
                total=file.stat().st_size,
                desc=file.name,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        )

    def __call__(self, bytes_read: int, rows: int) -> None:
        elapsed = max(self._clock() - self._started, 1e-6)
        self._bar.set_postfix_str(
            f"{rows:,} rows, {rows / elapsed:,.0f} rows/s", refresh=False
        )
        self._bar.update(bytes_read - self._bar.n)

    def close(self) -> None:
        self._stack.close()


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
        f"{result.duplicates} already present, {result.rejected} rejected"
    )
    for error in result.errors[:PRINTED_ERRORS]:
        click.echo(f"  line {error.line}: {error.reason}", err=True)
    if result.rejected > PRINTED_ERRORS:
        click.echo(f"  ... and {result.rejected - PRINTED_ERRORS:,} more", err=True)
    if result.rejected_path:
        click.echo(f"rejected rows, with their line and reason: {result.rejected_path}")
    for name, count in sorted(result.unmapped.items()):
        click.echo(
            f"  note: event {name!r} ×{count} is not mapped in [engagement.signals]; "
            "it counts 0 until you add it to a signal's `events` in qualify.toml",
            err=True,
        )


# How a merge or a forget counts the rows of each table: one, several.
_ROW_NAMES = {
    "leads": ("lead", "leads"),
    "events": ("event", "events"),
    "identities": ("identity", "identities"),
    "moments": ("moment", "moments"),
    "mqls": ("MQL", "MQLs"),
    "answers": ("answer", "answers"),
    "interviews": ("interview", "interviews"),
    "decisions": ("decision", "decisions"),
    "handoffs": ("handoff", "handoffs"),
}


@main.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Erase without asking first.")
@click.pass_context
def forget(ctx: click.Context, email: str, yes: bool) -> None:
    """Erase a person's lead and everything stored about them."""
    from bot.db import session_scope
    from bot.domain import identity

    engine = _identity_engine(ctx)
    try:
        with session_scope(engine) as session:
            lead = identity.find_person(email, session=session)
            named = f"lead {lead.id} ({lead.display_name})"
        if not yes:
            click.confirm(
                f"Erase {named} and everything stored about them? This cannot be "
                "undone",
                abort=True,
            )
        with session_scope(engine) as session:
            report = identity.forget_person(email, session=session)
    except identity.EmailError as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from None
    except identity.IdentityError as error:
        raise click.ClickException(str(error)) from None

    click.echo(f"Forgot {named}: removed {_counted(report.removed)}.")
    _print_slack_messages(report.slack_messages)


@main.command()
@click.argument("keep")
@click.argument("other")
@click.option("--yes", is_flag=True, help="Merge without asking first.")
@click.pass_context
def merge(ctx: click.Context, keep: str, other: str, yes: bool) -> None:
    """Merge lead OTHER into lead KEEP (emails or lead IDs): one person, one lead."""
    from bot.db import session_scope, utcnow
    from bot.domain import identity

    engine = _identity_engine(ctx)
    try:
        with session_scope(engine) as session:
            keep_lead = _find_lead(keep, "KEEP", session=session)
            other_lead = _find_lead(other, "OTHER", session=session)
            named = f"lead {keep_lead.id} ({keep_lead.display_name})"
            other_id, other_named = other_lead.id, other_lead.display_name
        if not yes and other_id != keep_lead.id:
            # A merge deletes OTHER and cannot be undone: show who is who.
            click.confirm(
                f"Merge lead {other_id} ({other_named}) into {named} and delete "
                f"lead {other_id}? This cannot be undone",
                abort=True,
            )
        with session_scope(engine) as session:
            report = identity.merge_leads(
                keep_lead.id, other_id, session=session, now=utcnow()
            )
    except identity.IdentityError as error:
        raise click.ClickException(str(error)) from None

    click.echo(f"Merged lead {other_id} into {named}; lead {other_id} is deleted.")
    click.echo(f"  moved: {_counted(report.moved) or 'nothing'}")
    if report.filled:
        click.echo(f"  filled from lead {other_id}: {', '.join(report.filled)}")
    if report.differing:
        click.echo(
            f"  kept lead {report.keep_id}'s own value, unlike lead {other_id}'s: "
            f"{', '.join(report.differing)}"
        )
    if report.email_alias:
        click.echo(f"  {report.email_alias} now finds lead {report.keep_id}")
    if report.closed_mql_id:
        click.echo(
            f"  both leads had an open MQL: closed MQL {report.closed_mql_id}, "
            "the one less far along"
        )
    _print_slack_messages(report.slack_messages)


def _identity_engine(ctx: click.Context):
    from bot.db import make_engine

    settings: Settings = ctx.obj
    _upgrade(settings)
    return make_engine(settings.database_url)


def _find_lead(reference: str, argument: str, *, session):
    from bot.domain import identity

    try:
        return identity.find_lead(reference, session=session)
    except identity.EmailError as error:
        raise click.BadParameter(
            f"{error} (or give a lead ID)", param_hint=argument
        ) from None


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(
        f"{counts[table]} {names[counts[table] != 1]}"
        for table, names in _ROW_NAMES.items()
        if counts.get(table)
    )


def _print_slack_messages(messages) -> None:
    if not messages:
        return
    click.echo(
        "Slack messages about this lead, to delete by hand (Qualify deletes none):"
    )
    for message in messages:
        where = f"channel {message.channel_id}, ts {message.ts}"
        if message.permalink:
            where = f"{message.permalink} ({where})"
        click.echo(f"  {message.what}: {where}")


@main.command()
@click.option("--preview", is_flag=True, help="Print the digest here (no Slack).")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to digest (default: the previous business day).",
)
@click.option("--channel", "channel_id", help="Use this digest channel's time zone.")
@click.option(
    "--chart",
    "chart_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the 14-day chart (default: qualify-digest-DAY.png).",
)
@click.pass_context
def digest(
    ctx: click.Context,
    preview: bool,
    day,
    channel_id: str | None,
    chart_path: Path | None,
) -> None:
    """Print the manager's digest of a day as text, with no Slack needed."""
    from datetime import date, datetime, timedelta

    from bot.chart import render_chart
    from bot.db import make_engine, session_scope
    from bot.domain.digest import build_digest, previous_business_day
    from bot.domain.digest_series import daily_series
    from bot.domain.sla import schedule_of
    from bot.slack.digest_blocks import digest_message
    from bot.slack.plaintext import blocks_to_text

    if not preview:
        raise click.UsageError(
            "the worker sends the digests; add --preview to print one here."
        )
    settings: Settings = ctx.obj
    config = _load(ctx)
    zone = _digest_zone(config, channel_id)
    if day is None:
        today = datetime.now(zone).date()
        day = previous_business_day(today, schedule_of(config.sla))
    else:
        day = day.date()
        # The digest looks 14 days back and a day ahead of the day asked for.
        if not date.min + timedelta(days=15) <= day <= date.max - timedelta(days=2):
            raise click.BadParameter(
                f"{day.isoformat()} is too far from today to digest",
                param_hint="--date",
            )

    _upgrade(settings)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        message = digest_message(
            build_digest(session=session, config=config, day=day, zone=zone)
        )
        series = daily_series(session=session, config=config, end_day=day, zone=zone)
    click.echo(blocks_to_text(message.blocks, message.text, {}, {}))
    chart_path = chart_path or Path(f"qualify-digest-{day.isoformat()}.png")
    try:
        chart_path.write_bytes(render_chart(series))
    except OSError as error:
        raise click.BadParameter(
            f"{chart_path} cannot be written ({error.strerror})", param_hint="--chart"
        ) from None
    click.echo(f"chart of the 14 days to {day.isoformat()} written to {chart_path}")


def _digest_zone(config, channel_id: str | None):
    from zoneinfo import ZoneInfo

    if channel_id is None:
        return ZoneInfo(config.digest.time_zone)
    targets = {channel: zone for channel, _, zone in config.digest.targets(config)}
    if channel_id not in targets:
        known = ", ".join(targets) or "none; set channels.digest"
        raise click.BadParameter(
            f"{channel_id} is not a digest channel in the config (known: {known}).",
            param_hint="--channel",
        )
    return targets[channel_id]


@main.command()
@click.option("--once", is_flag=True, help="Run one pass, print what was sent, exit.")
@click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="With --once: run the pass as if at TIME (ISO 8601 with an offset, "
    "like 2026-12-03T15:00:00Z).",
)
@click.pass_context
def worker(ctx: click.Context, once: bool, now_text: str | None) -> None:
    """Run the SLA clocks and send the outbox until stopped (SIGTERM)."""
    import signal
    import threading
    from functools import partial

    from bot import intent
    from bot.conversation import Services
    from bot.db import make_engine, utcnow
    from bot.digest_service import chart_for
    from bot.outbox_sender import OutboxSender
    from bot.slack.poster import SlackPoster, make_web_client
    from bot.worker import WorkerError, run_pass, run_worker, worker_lock

    now = _parse_now(now_text, once)
    settings, config = _prepare_live(ctx, "slack_bot_token")
    client = make_web_client(
        settings.slack_bot_token, settings.slack_api_url, rate_limit_retries=0
    )
    engine = make_engine(settings.database_url)
    sender = OutboxSender(
        engine,
        SlackPoster(client),
        config,
        now_fn=(lambda: now) if now else utcnow,
        attachment_for=partial(chart_for, engine, config),
    )
    services = Services(
        engine=engine,
        config=config,
        poster=SlackPoster(
            make_web_client(settings.slack_bot_token, settings.slack_api_url)
        ),
    )

    def deliver_intent() -> None:
        intent.deliver_intent(services)

    stop_event = threading.Event()
    previous = {
        # The message in flight is finished; the loop stops after it.
        signum: signal.signal(signum, lambda *_: stop_event.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }

    try:
        with worker_lock(settings.database_url):
            if not once:
                run_worker(
                    engine,
                    config,
                    sender,
                    stop_event=stop_event,
                    deliver_intent=deliver_intent,
                )
                return
            at = now or utcnow()
            delivered = run_pass(
                engine,
                config,
                sender,
                now=at,
                stop_event=stop_event,
                deliver_intent=deliver_intent,
            )
    except WorkerError as error:
        raise click.ClickException(str(error)) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo(f"{len(delivered)} message(s) sent as of {at.isoformat()}")
    for delivery in delivered:
        first_line = delivery.text.splitlines()[0] if delivery.text else ""
        click.echo(f"  {delivery.target} ({delivery.channel_id}): {first_line}")


def _parse_now(text: str | None, once: bool):
    from datetime import datetime

    if text is None:
        return None
    if not once:
        raise click.BadParameter(
            "a worker that keeps running follows the real clock; add --once to "
            "run a single pass as if at that time.",
            param_hint="--now",
        )
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 time; write it like 2026-12-03T15:00:00Z.",
            param_hint="--now",
        ) from None
    if now.tzinfo is None:
        raise click.BadParameter(
            f"{text!r} has no UTC offset; add one, like {text}Z or {text}+01:00.",
            param_hint="--now",
        )
    return now


@main.group()
def export() -> None:
    """Write stored data out for other tools."""


@export.command(name="decisions")
@click.option(
    "--since",
    required=True,
    metavar="DATE|TIME",
    help="First day (2026-11-01) or instant (ISO 8601) to include.",
)
@click.option(
    "--until",
    metavar="DATE|TIME",
    help="Last day to include, or the instant to stop before (default: now).",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write (default: standard output).",
)
@click.pass_context
def export_decisions(
    ctx: click.Context,
    since: str,
    until: str | None,
    file_format: str,
    output: Path | None,
) -> None:
    """Every decision with its breakdown, matrix version, AE outcome and SLAs.

    Dates without a time are days in sla.time_zone; times without an offset
    are read there too.
    """
    from zoneinfo import ZoneInfo

    from bot.domain import decision_export

    config = _load(ctx)
    zone = ZoneInfo(config.sla.time_zone)
    window = decision_export.Window(
        since=_export_moment(since, zone, "--since"),
        until=until and _export_moment(until, zone, "--until", is_end=True),
    )
    if window.until is not None and window.until <= window.since:
        raise click.BadParameter(
            f"{until!r} is not after --since {since!r}; give a later end.",
            param_hint="--until",
        )
    engine = _identity_engine(ctx)

    rows = decision_export.iter_decisions(engine, window)
    with _open_output(output) as file:
        if file_format == "csv":
            criteria = decision_export.criteria_in(
                engine, window, current=config.matrix.criteria
            )
            count = decision_export.write_csv(rows, file, criteria)
        else:
            count = decision_export.write_jsonl(rows, file)
    where = f" to {output}" if output else ""
    click.echo(f"{count} decision(s) exported{where}.", err=True)


def _open_output(output: Path | None):
    if output is None:
        return nullcontext(sys.stdout)
    # newline="": the csv module writes its own line endings.
    try:
        return output.open("w", newline="", encoding="utf-8")
    except OSError as error:
        raise click.BadParameter(
            f"{output} cannot be written ({error.strerror})", param_hint="--output"
        ) from None


def _export_moment(text: str, zone, option: str, *, is_end: bool = False):
    from bot.domain.decision_export import parse_moment

    try:
        return parse_moment(text, zone, is_end=is_end)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option) from None
    except OverflowError:
        raise click.BadParameter(
            f"{text!r} is too far from today to export from", param_hint=option
        ) from None


if __name__ == "__main__":
    main(prog_name="python -m bot")
