"""Live engagement in: events and profiles resolved to leads, stored once.

Each item names a person by email, by the sending tool's user ID, or by an
anonymous ID that an earlier profile linked to an email. Unknown emails
create leads. Storing is idempotent (a source event ID where there is one,
else a content hash), and the same transaction records the MQLs and the
high-intent moments the new events cause.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_, type_coerce
from sqlmodel import Session

from bot.config import Config
from bot.db import UTCDateTime, dialect_insert
from bot.domain import mql as mqls
from bot.domain import sla
from bot.domain.engagement import EngagementAssessment, assess_leads
from bot.domain.identity import company_domain
from bot.domain.importer import event_dedupe_key, source_event_dedupe_key
from bot.models import Event, Lead, LeadIdentity, LeadMoment

logger = logging.getLogger(__name__)

# Intent older than this is news to nobody: a late backfill alerts no one.
ALERT_WITHIN = timedelta(hours=24)
PROFILE_FIELDS = ("name", "title", "company", "domain", "industry", "country")
UNRESOLVED = (
    "no email, and its userId/anonymousId is not linked to one yet (send an "
    "identify call with the person's email first)"
)


@dataclass(frozen=True)
class Person:
    """Who an event or profile is about; email is already normalised."""

    email: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None

    def identities(self) -> list[tuple[str, str]]:
        found = [("user_id", self.user_id), ("anonymous_id", self.anonymous_id)]
        return [(kind, value) for kind, value in found if value]


@dataclass(frozen=True)
class TrackedEvent:
    person: Person
    name: str
    occurred_at: datetime
    source: str
    source_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    person: Person
    # Keys among PROFILE_FIELDS and "employees"; empty values are skipped.
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


Item = TrackedEvent | Profile


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    profiles: int = 0
    created_leads: int = 0
    # (position in the request, reason), for items that could not be used.
    rejected: list[tuple[int, str]] = field(default_factory=list)
    lead_ids: set[int] = field(default_factory=set)
    new_mql_ids: list[int] = field(default_factory=list)
    alerts: int = 0


def ingest(
    items: Sequence[tuple[int, Item]],
    *,
    session: Session,
    config: Config,
    now: datetime,
) -> IngestResult:
    """Store (position, item) pairs in the caller's transaction."""
    result = IngestResult()
    leads = _resolve(items, session, now, result)
    _lock_leads(set(leads.values()), session)

    rows, profiles = [], []
    for position, item in items:
        lead_id = leads.get(position)
        if lead_id is None:
            result.rejected.append((position, UNRESOLVED))
        elif isinstance(item, Profile):
            profiles.append((lead_id, position, item))
        else:
            rows.append(_event_values(item, lead_id))
    for lead_id, _, profile in sorted(profiles, key=lambda entry: entry[:2]):
        _apply_profile(session.get(Lead, lead_id), profile, now)
        result.profiles += 1
        result.lead_ids.add(lead_id)

    stored = _insert_events(rows, session)
    result.stored = len(stored)
    result.duplicates = len(rows) - len(stored)
    result.lead_ids |= {lead_id for lead_id, _, _ in stored}

    # One assessment per lead serves both the intent check and the MQL bar.
    intent_ids = _with_fresh_intent(stored, config, now)
    candidates = {
        lead.id for lead in mqls.mql_candidates(result.lead_ids, session=session)
    }
    engagement = assess_leads(
        intent_ids | candidates, session=session, config=config.engagement, now=now
    )
    result.alerts = _record_high_intent(
        stored, intent_ids, engagement, session, config, now
    )
    created = mqls.detect_mqls(
        candidates, session=session, config=config, now=now, engagement=engagement
    )
    result.new_mql_ids = [mql.id for mql in created]
    result.rejected.sort()
    return result


def _lock_leads(lead_ids: set[int], session: Session) -> None:
    """Lock the request's leads in ID order, so that two requests never wait
    on each other's leads in opposite orders (a deadlock on PostgreSQL).

    FOR NO KEY UPDATE: new events' foreign keys still take their share lock.
    SQLite ignores it; BEGIN IMMEDIATE already serialises its writers.
    """
    if lead_ids:
        session.execute(
            select(Lead.id)
            .where(Lead.id.in_(lead_ids))
            .order_by(Lead.id)
            .with_for_update(key_share=True)
        ).all()


def _with_fresh_intent(stored: list[tuple], config: Config, now: datetime) -> set:
    """Leads whose new events may bring high intent: a high-intent signal,
    or the last step of a high-intent sequence, recent enough to alert."""
    settings = config.engagement
    kinds = set(settings.high_intent_kinds)
    kinds |= {s.steps[-1] for s in settings.sequences.values() if s.high_intent}
    fresh = now - ALERT_WITHIN
    return {
        lead_id
        for lead_id, name, occurred_at in stored
        if occurred_at >= fresh and settings.signal_for(name) in kinds
    }


def _resolve(
    items: Sequence[tuple[int, Item]], session: Session, now: datetime, result
) -> dict[int, int]:
    """The lead ID of each item that names a known or new person."""
    emails = {item.person.email for _, item in items if item.person.email}
    by_email = _leads_by_email(emails, session)
    for email in sorted(emails - by_email.keys()):
        by_email[email] = _create_lead(email, session, now, result)

    # Link IDs to emails before resolving, so that an identify call later in
    # the same batch still claims the anonymous events before it.
    # Sorted, like every write here, so concurrent requests take locks in
    # one order.
    links = sorted(
        {
            (kind, value, by_email[item.person.email])
            for _, item in items
            if item.person.email
            for kind, value in item.person.identities()
        }
    )
    for kind, value, lead_id in links:
        session.execute(
            dialect_insert(session, LeadIdentity)
            .values(kind=kind, value=value, lead_id=lead_id, created_at=now)
            .on_conflict_do_nothing()
        )
    wanted = {pair for _, item in items for pair in item.person.identities()}
    by_identity = _leads_by_identity(wanted, session)

    resolved = {}
    for position, item in items:
        person = item.person
        lead_id = by_email.get(person.email) if person.email else None
        for pair in person.identities():
            lead_id = lead_id or by_identity.get(pair)
        if lead_id is not None:
            resolved[position] = lead_id
    return resolved


def _leads_by_email(emails: set[str], session: Session) -> dict[str, int]:
    if not emails:
        return {}
    statement = select(Lead.email, Lead.id).where(Lead.email.in_(emails))
    return dict(session.execute(statement).all())


def _leads_by_identity(pairs: set[tuple[str, str]], session: Session) -> dict:
    if not pairs:
        return {}
    statement = select(LeadIdentity.kind, LeadIdentity.value, LeadIdentity.lead_id)
    statement = statement.where(
        tuple_(LeadIdentity.kind, LeadIdentity.value).in_(sorted(pairs))
    )
    return {
        (kind, value): lead_id for kind, value, lead_id in session.execute(statement)
    }


def _create_lead(email: str, session: Session, now: datetime, result) -> int:
    """A lead for a new email; another request creating it at once is fine."""
    values = {
        "email": email,
        "domain": company_domain(email) or "",
        "attributes": {},
        "created_at": now,
        "updated_at": now,
    }
    inserted = session.execute(
        dialect_insert(session, Lead)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(Lead.id)
    ).first()
    if inserted is not None:
        result.created_leads += 1
        return inserted[0]
    return session.scalars(select(Lead.id).where(Lead.email == email)).one()


def _apply_profile(lead: Lead, profile: Profile, now: datetime) -> None:
    for name in PROFILE_FIELDS:
        value = profile.fields.get(name)
        if value:
            setattr(lead, name, value)
    if profile.fields.get("employees") is not None:
        lead.employees = profile.fields["employees"]
    if profile.attributes:
        # A new dict: the JSON column does not see changes made in place.
        lead.attributes = {**(lead.attributes or {}), **profile.attributes}
    lead.updated_at = now


def _event_values(event: TrackedEvent, lead_id: int) -> dict[str, Any]:
    if event.source_id:
        key = source_event_dedupe_key(event.source, event.source_id)
    else:
        identity = event.person.email or f"lead:{lead_id}"
        key = event_dedupe_key(identity, event.name, event.occurred_at)
    return {
        "lead_id": lead_id,
        "name": event.name,
        "occurred_at": event.occurred_at,
        "source": event.source,
        "dedupe_key": key,
        "properties": event.properties,
    }


def _insert_events(rows: list[dict], session: Session) -> list[tuple]:
    """(lead_id, name, occurred_at) of the rows that were not stored before."""
    if not rows:
        return []
    rows = sorted(rows, key=lambda row: row["dedupe_key"])
    table = Event.__table__
    statement = (
        dialect_insert(session, Event)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.lead_id, table.c.name, table.c.occurred_at)
    )
    return [tuple(row) for row in session.execute(statement)]


def _record_high_intent(
    stored: list[tuple],
    intent_ids: set[int],
    engagement: dict[int, EngagementAssessment],
    session: Session,
    config: Config,
    now: datetime,
) -> int:
    """A moment per lead whose new events show buying intent now.

    A lead claimed by an SDR gets a pending alert for that SDR; the moment
    is what the first-touch clock starts from.
    """
    if not intent_ids:
        return 0
    oldest_new = {}
    for lead_id, _, occurred_at in stored:
        oldest_new[lead_id] = min(oldest_new.get(lead_id, occurred_at), occurred_at)
    owners = dict(
        session.execute(
            select(Lead.id, Lead.sdr_user_id).where(Lead.id.in_(intent_ids))
        ).all()
    )
    recorded = _latest_high_intent(intent_ids, session)

    alerts = 0
    for lead_id in sorted(intent_ids):
        assessment = engagement[lead_id]
        at = assessment.high_intent_at
        # The latest high-intent signal came with this request exactly when
        # it is no older than the request's oldest new event of the lead.
        if at is None or at < max(oldest_new[lead_id], now - ALERT_WITHIN):
            continue
        # An event older than the intent, arriving late (sources deliver out
        # of order), finds that intent already recorded: no second alert.
        if lead_id in recorded and recorded[lead_id] >= at:
            continue
        session.add(
            LeadMoment(
                lead_id=lead_id,
                kind="high_intent",
                at=at,
                user_id=owners[lead_id],
                detail={
                    "intent": _intent_label(assessment, config),
                    "signals": [s.describe(now) for s in assessment.signals[:4]],
                },
            )
        )
        sla.start_clock(
            "first_touch",
            lead_id=lead_id,
            subject_id=None,
            owner_user_id=owners[lead_id],
            at=at,
            session=session,
            config=config,
        )
        alerts += owners[lead_id] is not None
    return alerts


def _latest_high_intent(lead_ids: set[int], session: Session) -> dict[int, datetime]:
    statement = (
        select(LeadMoment.lead_id, type_coerce(func.max(LeadMoment.at), UTCDateTime))
        .where(LeadMoment.lead_id.in_(lead_ids), LeadMoment.kind == "high_intent")
        .group_by(LeadMoment.lead_id)
    )
    return dict(session.execute(statement).all())


def _intent_label(engagement: EngagementAssessment, config: Config) -> str:
    """What the buying intent was: the high-intent signal that happened last."""
    settings = config.engagement
    for signal in engagement.signals:
        if signal.is_sequence:
            is_high = settings.sequences[signal.kind].high_intent
        else:
            is_high = signal.kind in settings.high_intent_kinds
        if is_high and signal.last_seen == engagement.high_intent_at:
            return signal.label
    return ""
