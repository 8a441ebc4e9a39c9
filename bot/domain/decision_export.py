"""Every decision written out for a team's own tools, as CSV or JSON lines.

A row holds the decision (its breakdown, reasons and matrix version), the
lead, what the AE did with the handoff and how its SLA clocks ran, so scores
can be checked against revenue elsewhere. Decisions are read in pages by ID,
with each page's handoffs, answers and clocks fetched for that page alone, so
an export of any size holds one page in memory.
"""

import csv
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.models import Decision, Handoff, HandoffAnswer, Lead, MatrixVersion, SlaClock

logger = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl")
PAGE = 500
# The answers that settle a handoff; the last one given is its outcome.
OUTCOMES = ("accepted", "rejected")
COLUMNS = [
    "decision_id",
    "decided_at",
    "lead_id",
    "lead_email",
    "lead_company",
    "lead_domain",
    "outcome",
    "total",
    "max_total",
    "threshold",
    "matrix_version",
    "reasons",
    "sdr_user_id",
    "ae_user_id",
    "handoff_status",
    "handoff_outcome",
    "handoff_answered_at",
    "reject_reason_code",
    "meeting_on",
    "handoff_clock_started_at",
    "handoff_clock_stopped_at",
    "handoff_clock_status",
    "meeting_clock_status",
]


@dataclass(frozen=True)
class Window:
    """Decisions made from `since` (included) to `until` (excluded), UTC."""

    since: datetime
    until: datetime | None = None


def parse_moment(text: str, zone: ZoneInfo, *, is_end: bool = False) -> datetime:
    """A date or an ISO time as a UTC instant; a date alone read in `zone`.

    As an end, a date means the end of that day, so `--until 2026-11-30`
    takes in all of November 30th.
    """
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        day += timedelta(days=1) if is_end else timedelta(0)
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    try:
        moment = isoparse(text)
    except (ValueError, OverflowError):
        raise ValueError(
            f"{text!r} is not a date or an ISO 8601 time; write it like "
            "2026-11-01 or 2026-11-01T09:00:00+01:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def iter_decisions(
    engine: Engine, window: Window, *, page: int = PAGE
) -> Iterator[dict]:
    """Export rows of the decisions in `window`, oldest ID first."""
    last_id = 0
    while True:
        with Session(engine) as session:
            rows = session.execute(
                _in_window(select(Decision, Lead), window)
                .join(Lead, Lead.id == Decision.lead_id)
                .where(Decision.id > last_id)
                .order_by(Decision.id)
                .limit(page)
            ).all()
            if not rows:
                return
            context = _PageContext.load(session, [decision for decision, _ in rows])
        for decision, lead in rows:
            yield _row(decision, lead, context)
        last_id = rows[-1][0].id


def criteria_in(
    engine: Engine, window: Window, current: Iterable[str] = ()
) -> list[str]:
    """The current matrix's criteria, then those of every other matrix version
    used in `window`: the columns stay the same whether or not the window
    holds decisions."""
    with Session(engine) as session:
        versions = session.scalars(
            _in_window(select(Decision.matrix_version).distinct(), window)
        ).all()
        contents = session.scalars(
            select(MatrixVersion.content)
            .where(MatrixVersion.version.in_(versions))
            .order_by(MatrixVersion.created_at)
        ).all()
    names: dict[str, None] = dict.fromkeys(current)
    for content in contents:
        names.update(dict.fromkeys(content.get("criteria", {})))
    return list(names)


def write_jsonl(rows: Iterable[dict], file: IO[str]) -> int:
    """One JSON object per line; the number of rows written."""
    count = 0
    for row in rows:
        file.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict], file: IO[str], criteria: list[str]) -> int:
    """A header, then one line per decision; the number of rows written.

    Each criterion gets a `<criterion>_level` column; the whole breakdown
    (weights, points, notes) is in `breakdown_json`, and lists are JSON too.
    """
    level_columns = [f"{criterion}_level" for criterion in criteria]
    writer = csv.writer(file)
    writer.writerow([*COLUMNS, *level_columns, "breakdown_json"])
    count = 0
    for row in rows:
        levels = {score["criterion"]: score["level"] for score in row["breakdown"]}
        writer.writerow(
            [
                *(_csv_value(row[column]) for column in COLUMNS),
                *(_csv_value(levels.get(criterion)) for criterion in criteria),
                json.dumps(row["breakdown"], ensure_ascii=False),
            ]
        )
        count += 1
    return count


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _in_window(statement, window: Window):
    statement = statement.where(Decision.decided_at >= window.since)
    if window.until is not None:
        statement = statement.where(Decision.decided_at < window.until)
    return statement


@dataclass(frozen=True)
class _PageContext:
    """What one page of decisions needs beyond the decisions and leads."""

    handoffs: dict[int, Handoff]
    answers: dict[int, list[HandoffAnswer]]
    handoff_clocks: dict[int, SlaClock]
    meeting_clocks: dict[int, list[SlaClock]]

    @classmethod
    def load(cls, session: Session, decisions: list[Decision]) -> "_PageContext":
        handoffs = {
            handoff.decision_id: handoff
            for handoff in session.scalars(
                select(Handoff).where(
                    Handoff.decision_id.in_([d.id for d in decisions])
                )
            )
        }
        handoff_ids = [handoff.id for handoff in handoffs.values()]
        answers: dict[int, list[HandoffAnswer]] = {}
        for answer in session.scalars(
            select(HandoffAnswer)
            .where(HandoffAnswer.handoff_id.in_(handoff_ids))
            .order_by(HandoffAnswer.at, HandoffAnswer.id)
        ):
            answers.setdefault(answer.handoff_id, []).append(answer)
        handoff_clocks = {
            clock.subject_id: clock
            for clock in session.scalars(
                select(SlaClock)
                .where(SlaClock.kind == "handoff_answer")
                .where(SlaClock.subject_id.in_(handoff_ids))
                .order_by(SlaClock.started_at, SlaClock.id)
            )
        }
        meeting_clocks: dict[int, list[SlaClock]] = {}
        for clock in session.scalars(
            select(SlaClock)
            .where(SlaClock.kind == "sql_meeting")
            .where(SlaClock.lead_id.in_({d.lead_id for d in decisions}))
            .order_by(SlaClock.started_at, SlaClock.id)
        ):
            meeting_clocks.setdefault(clock.lead_id, []).append(clock)
        return cls(handoffs, answers, handoff_clocks, meeting_clocks)


def _row(decision: Decision, lead: Lead, context: _PageContext) -> dict:
    handoff = context.handoffs.get(decision.id)
    answers = context.answers.get(handoff.id, []) if handoff else []
    settled = [answer for answer in answers if answer.action in OUTCOMES]
    outcome = settled[-1] if settled else None
    meeting = next((a for a in answers if a.action == "meeting_booked"), None)
    handoff_clock = context.handoff_clocks.get(handoff.id) if handoff else None
    meeting_clock = _meeting_clock(decision, context.meeting_clocks)
    return {
        "decision_id": decision.id,
        "decided_at": _iso(decision.decided_at),
        "lead_id": lead.id,
        "lead_email": lead.email,
        "lead_company": lead.company,
        "lead_domain": lead.domain,
        "outcome": decision.outcome,
        "total": decision.total,
        "max_total": decision.max_total,
        "threshold": decision.threshold,
        "matrix_version": decision.matrix_version,
        "reasons": list(decision.reasons),
        "breakdown": list(decision.breakdown),
        "sdr_user_id": decision.sdr_user_id,
        "ae_user_id": handoff.ae_user_id if handoff else None,
        "handoff_status": handoff.status if handoff else None,
        "handoff_outcome": outcome.action if outcome else None,
        "handoff_answered_at": _iso(outcome.at) if outcome else None,
        "reject_reason_code": (
            outcome.reason_code if outcome and outcome.action == "rejected" else None
        ),
        "meeting_on": meeting.meeting_on.date().isoformat() if meeting else None,
        "handoff_clock_started_at": _iso(handoff_clock and handoff_clock.started_at),
        "handoff_clock_stopped_at": _iso(handoff_clock and handoff_clock.stopped_at),
        "handoff_clock_status": handoff_clock.status if handoff_clock else None,
        "meeting_clock_status": meeting_clock.status if meeting_clock else None,
    }


def _meeting_clock(
    decision: Decision, by_lead: dict[int, list[SlaClock]]
) -> SlaClock | None:
    """The lead's meeting clock running when the decision was made.

    The clock is the lead's, not the decision's (it starts at the claim or
    the first /qualify), so the latest one started by the decision is taken.
    """
    started = [
        clock
        for clock in by_lead.get(decision.lead_id, [])
        if clock.started_at <= decision.decided_at
    ]
    return started[-1] if started else None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None
