"""Engagement: a lead's stored events, weighted by kind and decayed by age."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from bot.config import Engagement
from bot.models import Event


@dataclass(frozen=True)
class SignalSummary:
    kind: str
    label: str
    count: int
    score: float
    last_seen: datetime

    def describe(self, now: datetime) -> str:
        days = (now - self.last_seen).days
        when = "today" if days == 0 else f"{days}d ago"
        return f"{self.label} ×{self.count}, latest {when}"


@dataclass(frozen=True)
class EngagementAssessment:
    level: int
    score: float
    signals: list[SignalSummary]

    def explain(self, now: datetime, limit: int = 4) -> str:
        if not self.signals:
            return "no recent signals"
        shown = "; ".join(signal.describe(now) for signal in self.signals[:limit])
        return f"Signals: {shown}"


def assess_events(
    config: Engagement, events: Iterable[tuple[str, datetime]], now: datetime
) -> EngagementAssessment:
    """Level 0-3 from (event name, time) pairs, strongest signals first."""
    horizon = now - timedelta(days=config.window_days)
    totals: dict[str, list] = {}
    for name, occurred_at in events:
        kind = config.signal_for(name)
        if kind is None or not horizon <= occurred_at <= now:
            continue
        age_days = (now - occurred_at).total_seconds() / 86400
        decayed = config.signals[kind].weight * 0.5 ** (
            age_days / config.half_life_days
        )
        entry = totals.setdefault(kind, [0, 0.0, occurred_at])
        entry[0] += 1
        entry[1] += decayed
        entry[2] = max(entry[2], occurred_at)

    signals = [
        SignalSummary(kind, config.signals[kind].label, count, score, last_seen)
        for kind, (count, score, last_seen) in totals.items()
    ]
    signals.sort(key=lambda signal: -signal.score)
    score = sum(signal.score for signal in signals)
    level = sum(1 for threshold in config.level_thresholds if score >= threshold)
    return EngagementAssessment(level=level, score=round(score, 2), signals=signals)


def assess_lead(
    lead_id: int, *, session: Session, config: Engagement, now: datetime
) -> EngagementAssessment:
    """Engagement of one stored lead as of `now`."""
    horizon = now - timedelta(days=config.window_days)
    rows = session.execute(
        select(Event.name, Event.occurred_at).where(
            Event.lead_id == lead_id,
            Event.occurred_at >= horizon,
            Event.occurred_at <= now,
        )
    ).all()
    return assess_events(config, rows, now)
