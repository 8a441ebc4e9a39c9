"""`python -m bot demo`: the real interview and scorer in a terminal, no Slack.

It seeds a throw-away SQLite database through the real importer, then drives
the same conversation functions the Slack listeners call, with a Poster that
prints each message as the channel or DM would show it.
"""

import csv
import itertools
import sys
import tempfile
import tomllib
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from bot import conversation, intent
from bot.config import DEFAULTS_PATH, Config, merge, parse_config
from bot.conversation import Services
from bot.db import make_engine, session_scope, upgrade_database, utcnow
from bot.domain import importer, interviews, leads
from bot.domain.digest import build_digest
from bot.models import Decision, Handoff, Lead, Mql
from bot.slack.blocks import Message
from bot.slack.digest_blocks import digest_message
from bot.slack.plaintext import blocks_to_text, boxed
from bot.slack.poster import Posted

DATA = Path(__file__).with_name("demo_data")
SDR = "U0DEMOSAM"
LEVEL_KEYS = ("0", "1", "2", "3")


def _ansi_bold(text: str) -> str:
    return click.style(text, bold=True)


class TerminalPoster:
    """Prints what the bot would post, as each channel or DM would show it."""

    def __init__(self, people: dict[str, str], channels: dict[str, str]) -> None:
        self.people = people
        self.channels = channels
        self._ts = itertools.count(1)
        self.bold = _ansi_bold if sys.stdout.isatty() else None

    def open_dm(self, user_id: str) -> str:
        channel_id = "D" + user_id.removeprefix("U")
        self.channels[channel_id] = f"DM with {self.people.get(user_id, user_id)}"
        return channel_id

    def post(self, channel_id: str, message: Message) -> Posted:
        self._show(f"{self._where(channel_id)}", message)
        return Posted(channel_id, f"1700000000.{next(self._ts):06d}")

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        self._show(f"{self._where(channel_id)} (message updated)", message)

    def permalink(self, channel_id: str, ts: str) -> str | None:
        return (
            f"https://demo.slack.example/archives/{channel_id}/p{ts.replace('.', '')}"
        )

    def open_modal(self, trigger_id: str, view: dict) -> None:
        self._show("modal", Message(view["title"]["text"], view["blocks"]))

    def ephemeral(self, message: Message) -> None:
        self._show("only visible to you", message)

    def _where(self, channel_id: str) -> str:
        name = self.channels.get(channel_id, channel_id)
        return name if name.startswith("DM") else f"#{name}"

    def _show(self, title: str, message: Message) -> None:
        body = blocks_to_text(
            message.blocks, message.text, self.people, self.channels, self.bold
        )
        click.echo(boxed(title, body) + "\n")


def load_demo_config() -> tuple[Config, dict, dict]:
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    with (DATA / "qualify.toml").open("rb") as file:
        team = tomllib.load(file)
    names = team.pop("demo")
    return (
        parse_config(merge(defaults, team), "demo"),
        names["people"],
        names["channels"],
    )


def seed(workdir: Path, engine, config: Config) -> None:
    """Import the sample leads, and events dated relative to today."""
    importer.import_leads(DATA / "leads.csv", engine=engine)
    now = utcnow()
    events_path = workdir / "events.csv"
    with (
        (DATA / "events.csv").open() as source,
        events_path.open("w", newline="") as target,
    ):
        writer = csv.writer(target)
        writer.writerow(["email", "event", "occurred_at"])
        for row in csv.DictReader(source):
            when = now - timedelta(days=float(row["days_ago"]), hours=1)
            writer.writerow([row["email"], row["event"], when.isoformat()])
    importer.import_events(events_path, engine=engine, config=config)


def run_demo(lead_query: str, interactive: bool) -> None:
    config, people, channels = load_demo_config()
    with tempfile.TemporaryDirectory(prefix="qualify-demo-") as workdir:
        database_url = f"sqlite:///{workdir}/demo.db"
        upgrade_database(database_url)
        engine = make_engine(database_url)
        seed(Path(workdir), engine, config)
        _require_one_sample_lead(engine, lead_query)
        poster = TerminalPoster(people, channels)
        services = Services(engine=engine, config=config, poster=poster)
        _claim_from_queue(services, poster, lead_query)
        click.echo(f"{people[SDR]} types: /qualify {lead_query}\n")
        conversation.qualify(
            services,
            user_id=SDR,
            query=lead_query,
            trigger_id="demo-trigger",
            channel_id="C0DEMOGEN",
            reply=poster.ephemeral,
        )
        _drive(services, poster, interactive)
        click.echo(_final_line(engine, people))
        _show_digest(services, poster)
        engine.dispose()


def _show_digest(services: Services, poster) -> None:
    """The manager's digest of the demo's own day, as the worker would post it."""
    config = services.config
    zone = ZoneInfo(config.digest.time_zone)
    today = utcnow().astimezone(zone).date()
    click.echo("\nNext morning the manager's digest arrives:\n")
    with session_scope(services.engine) as session:
        digest = build_digest(session=session, config=config, day=today, zone=zone)
    channel = config.channels.digest or "C0DEMODIGE"
    poster.post(channel, digest_message(digest))


def _require_one_sample_lead(engine, lead_query: str) -> None:
    with session_scope(engine) as session:
        matches = leads.find_leads(lead_query, session=session)
        emails = sorted(lead.email for lead in session.scalars(select(Lead)))
    if len(matches) != 1:
        raise click.ClickException(
            f"{len(matches) or 'no'} sample leads match {lead_query!r}; the demo "
            f"needs exactly one. Try one of: {', '.join(emails)}."
        )


def _claim_from_queue(services: Services, poster, lead_query: str) -> None:
    """The lead posted to the SDR queue and claimed, if it is an MQL."""
    # The import of the sample events recorded the MQL; posting it is the
    # delivery a live server runs after storing events.
    with session_scope(services.engine) as session:
        (lead,) = leads.find_leads(lead_query, session=session)
        mql_id = session.scalars(
            select(Mql.id).where(Mql.lead_id == lead.id, Mql.status == "new")
        ).first()
    if mql_id is None:
        return
    intent.deliver_intent(services)
    with session_scope(services.engine) as session:
        mql = session.get(Mql, mql_id)
    click.echo(f"{poster.people[SDR]} clicks: Claim\n")
    intent.claim_mql(
        services,
        user_id=SDR,
        mql_id=mql.id,
        channel_id=mql.channel_id,
        message_ts=mql.message_ts,
        reply=poster.ephemeral,
    )


def _script_for(lead_email: str | None) -> dict[str, dict]:
    with (DATA / "answers.toml").open("rb") as file:
        scripts = tomllib.load(file)
    return {**scripts["default"], **scripts.get(lead_email or "", {})}


def _drive(services: Services, poster: TerminalPoster, interactive: bool) -> None:
    """Answer each open question, then submit, until the interview closes."""
    while True:
        with session_scope(services.engine) as session:
            interview_id = interviews.open_interview_of(SDR, session=session)
            if interview_id is None:
                return
            state = interviews.load_interview(interview_id, session=session)
        if state.interview.status == interviews.REVIEW:
            _finish(services, state, interactive, poster)
            return
        _answer(services, state, interactive, poster)


def _answer(services, state, interactive: bool, poster: TerminalPoster) -> None:
    criterion = state.interview.current_criterion
    answer = state.answers[criterion]
    dm = state.interview.dm_channel_id
    if interactive:
        typed = click.prompt("Click a level (0-3) or type a note", prompt_suffix=" > ")
        if typed.strip().isdigit() and typed.strip() not in LEVEL_KEYS:
            click.echo("Levels go from 0 to 3.")
            return
    else:
        line = _script_for(state.lead.email)[criterion]
        typed = str(line["level"]) if answer.note else line["note"]
        verb = "clicks" if typed.isdigit() else "types"
        click.echo(f"{poster.people[SDR]} {verb}: {typed}\n")
    if typed.strip() in LEVEL_KEYS:
        conversation.answer(
            services,
            user_id=SDR,
            interview_id=state.id,
            criterion=criterion,
            level=int(typed),
            channel_id=dm,
            message_ts=answer.question_ts or "",
            reply=poster.ephemeral,
        )
    else:
        conversation.note(
            services, user_id=SDR, text=typed, channel_id=dm, event_id=None
        )


def _finish(services, state, interactive: bool, poster: TerminalPoster) -> None:
    choice = "submit"
    if interactive:
        choice = click.prompt(
            "Submit or cancel?",
            type=click.Choice(["submit", "cancel"]),
            default="submit",
        )
    else:
        click.echo(f"{poster.people[SDR]} clicks: Submit\n")
    step = conversation.submit if choice == "submit" else conversation.cancel
    step(services, user_id=SDR, interview_id=state.id, reply=poster.ephemeral)


def _final_line(engine, people: dict[str, str]) -> str:
    with session_scope(engine) as session:
        decision = session.scalars(
            select(Decision).order_by(Decision.id.desc())
        ).first()
        handoff = (
            decision
            and session.scalars(
                select(Handoff).where(Handoff.decision_id == decision.id)
            ).first()
        )
    if decision is None:
        return "Decision: none (the interview was cancelled)."
    total = f"{decision.total}/{decision.max_total}"
    if handoff:
        ae = people.get(handoff.ae_user_id, handoff.ae_user_id)
        return f"Decision: Sales Qualified Lead, {total}, handed to {ae}."
    return f"Decision: nurture, {total}: {decision.reasons[0]}."
