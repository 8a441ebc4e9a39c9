"""Engagement: a lead's stored events, weighted by kind and decayed by age.

The database does the counting and the decay (one GROUP BY over the leads'
window) and finds the intent sequences (index seeks, one query per step and
lead); Python only folds the few resulting rows into signals and a level.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, bindparam, case, func, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from bot.config import Engagement, normalise_event_name
from bot.db import UTCDateTime
from bot.models import Event

WEEK = timedelta(days=7)
LN2 = math.log(2)


@dataclass(frozen=True)
class NameTally:
    """One event name's events in a lead's window, as the database sums them."""

    name: str
    count: int
    week_count: int
    # Sum over the events of 0.5 ** (age in days / half-life).
    decayed: float
    last_seen: datetime


@dataclass(frozen=True)
class SignalSummary:
    kind: str
    label: str
    count: int
    score: float
    last_seen: datetime
    week_count: int = 0
    # An intent sequence rather than a kind of event.
    is_sequence: bool = False

    def describe(self, now: datetime) -> str:
        if self.is_sequence:
            return self.label
        if self.week_count == self.count:
            return f"{self.label} ×{self.count} this week"
        if self.week_count:
            return f"{self.label} ×{self.count} ({self.week_count} this week)"
        days = (now - self.last_seen).days
        return f"{self.label} ×{self.count}, latest {days}d ago"


@dataclass(frozen=True)
class EngagementAssessment:
    level: int
    score: float
    signals: list[SignalSummary]
    # When the latest high-intent signal or sequence happened, if any did.
    high_intent_at: datetime | None = None

    def explain(self, now: datetime, limit: int = 4) -> str:
        if not self.signals:
            return "no recent signals"
        shown = ", ".join(signal.describe(now) for signal in self.signals[:limit])
        return f"Signals: {shown}"


def summarise(
    config: Engagement,
    tallies: Iterable[NameTally],
    completed: dict[str, datetime],
    now: datetime,
) -> EngagementAssessment:
    """Fold per-name tallies and completed sequences into signals and a level."""
    kinds: dict[str, list] = {}
    for tally in tallies:
        kind = config.signal_for(tally.name)
        if kind is None:
            continue
        entry = kinds.setdefault(kind, [0, 0, 0.0, tally.last_seen])
        entry[0] += tally.count
        entry[1] += tally.week_count
        entry[2] += tally.decayed * config.signals[kind].weight
        entry[3] = max(entry[3], tally.last_seen)

    signals = [
        SignalSummary(
            kind, config.signals[kind].label, count, score, last_seen, week_count
        )
        for kind, (count, week_count, score, last_seen) in kinds.items()
    ]
    for name, at in completed.items():
        sequence = config.sequences[name]
        signals.append(
            SignalSummary(name, sequence.label, 1, sequence.boost, at, is_sequence=True)
        )
    signals.sort(key=lambda signal: -signal.score)

    score = sum(signal.score for signal in signals)
    level = sum(1 for threshold in config.level_thresholds if score >= threshold)
    return EngagementAssessment(
        level=level,
        score=round(score, 2),
        signals=signals,
        high_intent_at=_high_intent_at(config, kinds, completed),
    )


def _high_intent_at(
    config: Engagement, kinds: dict[str, list], completed: dict[str, datetime]
) -> datetime | None:
    moments = [kinds[kind][3] for kind in config.high_intent_kinds if kind in kinds]
    moments += [
        at for name, at in completed.items() if config.sequences[name].high_intent
    ]
    return max(moments, default=None)


def assess_leads(
    lead_ids: Iterable[int], *, session: Session, config: Engagement, now: datetime
) -> dict[int, EngagementAssessment]:
    """Engagement of stored leads as of `now`, computed in the database."""
    lead_ids = sorted(set(lead_ids))
    tallies: dict[int, list[NameTally]] = {lead_id: [] for lead_id in lead_ids}
    completed: dict[int, dict[str, datetime]] = {lead_id: {} for lead_id in lead_ids}
    if not lead_ids or not config.signals:
        return {lead_id: summarise(config, [], {}, now) for lead_id in lead_ids}

    connection = session.connection()
    queries = _queries_for(config, connection.dialect.name)
    for lead_id, tally in queries.tally(connection, lead_ids, now):
        tallies[lead_id].append(tally)
    for name, sequence in config.sequences.items():
        horizon = now - timedelta(days=min(sequence.within_days, config.window_days))
        for lead_id in lead_ids:
            # A lead missing a step's signal in the window cannot have done
            # the sequence: no need to look for its order.
            kinds = {config.signal_for(tally.name) for tally in tallies[lead_id]}
            if not kinds.issuperset(sequence.steps):
                continue
            at = queries.complete(connection, name, lead_id, horizon, now)
            if at is not None:
                completed[lead_id][name] = at
    return {
        lead_id: summarise(config, tallies[lead_id], completed[lead_id], now)
        for lead_id in lead_ids
    }


def assess_lead(
    lead_id: int, *, session: Session, config: Engagement, now: datetime
) -> EngagementAssessment:
    """Engagement of one stored lead as of `now`."""
    return assess_leads([lead_id], session=session, config=config, now=now)[lead_id]


class _Queries:
    """The engagement statements of one config, built once and reused.

    Building a statement costs more than SQLite takes to run it, so each is
    built with bound parameters on first use and only executed afterwards.
    """

    def __init__(self, config: Engagement, dialect: str) -> None:
        self.config = config
        self.dialect = dialect
        self._tally = self._build_tally()
        # (sequence, step, is_first_step) -> statement
        self._steps: dict[tuple[str, int], object] = {}

    def tally(self, connection, lead_ids: list[int], now: datetime):
        params = {
            "lead_ids": lead_ids,
            "horizon": now - timedelta(days=self.config.window_days),
            "week_ago": now - WEEK,
            "now": now,
            "now_text": now.astimezone(UTC).replace(tzinfo=None).isoformat(" "),
        }
        for lead_id, name, count, week_count, decayed, last_seen in connection.execute(
            self._tally, params
        ):
            yield lead_id, NameTally(name, count, int(week_count), decayed, last_seen)

    def complete(
        self, connection, sequence: str, lead_id: int, horizon, now
    ) -> datetime | None:
        """When the lead did the sequence's steps in order: the last step's time.

        Taking each step's earliest event after the previous step finds an
        ordered match whenever one exists in the window.
        """
        after = None
        steps = self.config.sequences[sequence].steps
        for index in range(len(steps)):
            params = {"lead_id": lead_id, "horizon": horizon, "now": now}
            if after is not None:
                params["after"] = after
            statement = self._step(sequence, index, after is None)
            found = [at for at in connection.execute(statement, params).one() if at]
            if not found:
                return None
            after = min(found)
        return after

    def _build_tally(self):
        decay = func.exp(self._age_in_days() * (-LN2 / self.config.half_life_days))
        recent = case((Event.occurred_at >= bindparam("week_ago"), 1), else_=0)
        names = sorted(
            {
                name
                for kind in self.config.signals
                for name in self.config.events_of(kind)
            }
        )
        return (
            select(
                Event.lead_id,
                Event.name,
                func.count(),
                func.sum(recent),
                func.sum(decay),
                type_coerce(func.max(Event.occurred_at), UTCDateTime),
            )
            .where(
                Event.lead_id.in_(bindparam("lead_ids", expanding=True)),
                Event.name.in_(names),
                Event.occurred_at >= bindparam("horizon", type_=UTCDateTime),
                Event.occurred_at <= bindparam("now", type_=UTCDateTime),
            )
            .group_by(Event.lead_id, Event.name)
        )

    def _age_in_days(self) -> ColumnElement:
        """now - occurred_at in days, in the dialect's own date arithmetic."""
        if self.dialect == "sqlite":
            now = bindparam("now_text", type_=String)
            return func.julianday(now) - func.julianday(Event.occurred_at)
        elapsed = bindparam("now", type_=UTCDateTime) - Event.occurred_at
        # date_part, not extract: extract returns numeric, several times slower.
        return func.date_part("epoch", elapsed) / 86400.0

    def _step(self, sequence: str, index: int, is_first: bool):
        """One index seek per event name of the step's signal (LIMIT 1 each)."""
        key = (sequence, index, is_first)
        if key not in self._steps:
            kind = self.config.sequences[sequence].steps[index]
            firsts = []
            for name in self.config.events_of(kind):
                conditions = [
                    Event.lead_id == bindparam("lead_id"),
                    Event.name == name,
                    Event.occurred_at >= bindparam("horizon", type_=UTCDateTime),
                    Event.occurred_at <= bindparam("now", type_=UTCDateTime),
                ]
                if not is_first:
                    after = bindparam("after", type_=UTCDateTime)
                    conditions.append(Event.occurred_at > after)
                first = select(Event.occurred_at).where(*conditions)
                firsts.append(
                    first.order_by(Event.occurred_at).limit(1).scalar_subquery()
                )
            self._steps[key] = select(*firsts)
        return self._steps[key]


_QUERIES: dict[tuple[int, str], _Queries] = {}


def _queries_for(config: Engagement, dialect: str) -> _Queries:
    queries = _QUERIES.get((id(config), dialect))
    # The identity check guards against a new config reusing a freed id.
    if queries is None or queries.config is not config:
        queries = _QUERIES[(id(config), dialect)] = _Queries(config, dialect)
    return queries


def tally_events(
    events: Iterable[tuple[str, datetime]], config: Engagement, now: datetime
) -> tuple[list[NameTally], dict[str, datetime]]:
    """The tallies and completed sequences of in-memory (name, time) events.

    The same arithmetic as the database's, for the demo's previews and as
    the reference the SQL is tested against.
    """
    horizon = now - timedelta(days=config.window_days)
    window = sorted(
        (normalise_event_name(name), at)
        for name, at in events
        if horizon <= at <= now and config.signal_for(name) is not None
    )
    by_name: dict[str, list] = {}
    for name, at in window:
        entry = by_name.setdefault(name, [0, 0, 0.0, at])
        entry[0] += 1
        entry[1] += at >= now - WEEK
        age_days = (now - at).total_seconds() / 86400
        entry[2] += 0.5 ** (age_days / config.half_life_days)
        entry[3] = max(entry[3], at)
    tallies = [NameTally(name, *values) for name, values in by_name.items()]

    completed = {}
    in_order = sorted(window, key=lambda item: item[1])
    for name, sequence in config.sequences.items():
        start = now - timedelta(days=min(sequence.within_days, config.window_days))
        at = _first_ordered_match(config, sequence.steps, in_order, start)
        if at is not None:
            completed[name] = at
    return tallies, completed


def _first_ordered_match(config, steps, in_order, start) -> datetime | None:
    step, previous = 0, None
    for name, at in in_order:
        if at < start or (previous is not None and at <= previous):
            continue
        if config.signal_for(name) == steps[step]:
            previous, step = at, step + 1
            if step == len(steps):
                return at
    return None


def assess_events(
    config: Engagement, events: Iterable[tuple[str, datetime]], now: datetime
) -> EngagementAssessment:
    """Level 0-3 from in-memory (event name, time) pairs."""
    tallies, completed = tally_events(events, config, now)
    return summarise(config, tallies, completed, now)
