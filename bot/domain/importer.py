"""Importing leads and their engagement events from CSV exports.

A file is streamed (see `bot.domain.exports`): its header is matched to our
fields first, so a wrong header stops the import before anything is written.
Rows are then validated one by one and written in batches, one transaction
each; a bad row is reported with its line number, and written with the
reason to `<name>.rejected.csv` beside the file, and never costs the good
rows around it. Importing a file again adds nothing it already added.
"""

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session

from bot.config import USER_ID, Config, normalise_event_name
from bot.db import dialect_insert, session_scope, utcnow
from bot.domain.exports import (
    Export,
    FileProblem,
    ImportFileError,
    Layout,
    Record,
    RejectedFile,
    RowRejected,
    TimeReader,
    find_preset,
    find_zone,
    open_export,
    parse_column_map,
)
from bot.domain.identity import EmailError, company_domain, normalise_email
from bot.domain.leads import DOMAIN, normalise_domain
from bot.domain.mql import detect_mqls
from bot.models import Event, Lead

__all__ = [
    "ImportFileError",
    "ImportResult",
    "RowError",
    "event_dedupe_key",
    "find_preset",
    "find_zone",
    "import_events",
    "import_leads",
    "parse_column_map",
    "source_event_dedupe_key",
]

logger = logging.getLogger(__name__)

# Rows (with rejections) per transaction: each commit costs a disk flush.
BATCH_SIZE = 2000
# The rejected file holds every rejection; the result keeps the first ones.
MAX_REPORTED_ERRORS = 1000
MAX_EVENT_NAME = 200
LONG_EVENT = "event name is over {} characters; is the event column the right one?"
REFUSED = "the database refused a value in this row: {}"
LEAD_TEXT_FIELDS = ("name", "title", "company", "industry", "country")
BAD_OWNER = "{} {!r} is not a Slack user ID like U0123ABCD"
# The width of leads.email and the largest value PostgreSQL's INTEGER holds:
# longer or larger values would fail the whole batch at the database instead
# of failing their own row here. (DOMAIN caps a domain at its column's 253.)
MAX_EMAIL = 320
MAX_EMPLOYEES = 2**31 - 1
EMPLOYEES = re.compile(r"\d+|\d{1,3}(,\d{3})+")

NEEDS_EMAIL_OR_COMPANY = "needs an email, or a company and a domain"
BAD_EMAIL = "{} is not an address like ana@acme.com"
LONG_EMAIL = f"{{}} is longer than {MAX_EMAIL} characters"
BAD_DOMAIN = "{} {!r} is not a domain like acme.com"
BAD_EMPLOYEES = "{} must be a number of people like 1200 or 1,200, not {!r}"
BIG_EMPLOYEES = f"{{}} must be at most {MAX_EMPLOYEES:,}, not {{!r}}"
EMPTY = "{} is empty"
NO_LEAD = "no lead with this email; import it with `import leads` first"
CONFLICT = "another import wrote this row at the same moment; import the file again"

Progress = Callable[[int, int], None]


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class ImportResult:
    """What an import did.

    `updated` counts rows that matched a stored lead; `duplicates` counts
    events already stored or repeated in the file; `unmapped` counts, by
    normalised name, the valid event rows no signal maps (they score 0).
    `rejected` counts every rejected row, `errors` holds the first
    MAX_REPORTED_ERRORS of them and `rejected_path` the file holding all.
    `lead_ids` are the leads whose events were stored by this import.
    """

    kind: str
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    unmapped: dict[str, int] = field(default_factory=dict)
    lead_ids: set[int] = field(default_factory=set)
    rejected_path: Path | None = None
    # MQLs the imported events made (recorded; posting is the caller's).
    new_mql_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _LeadRow:
    line: int
    fields: list[str]
    email: str | None
    domain: str
    # Taken from the email because the file gave none; it fills a stored
    # lead's domain only when that is empty.
    is_domain_derived: bool
    texts: dict[str, str]
    employees: int | None
    attributes: dict[str, str]
    owner_user_id: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        if self.email:
            return ("email", self.email)
        return ("company", self.domain, self.texts["company"].casefold())


@dataclass(slots=True)
class _EventRow:
    line: int
    fields: list[str]
    email: str
    name: str
    occurred_at: datetime
    dedupe_key: str
    properties: dict[str, str]


@dataclass
class _Tally:
    """What committed writes did; a batch's counts are added after its commit."""

    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    unmapped: Counter = field(default_factory=Counter)
    lead_ids: set[int] = field(default_factory=set)

    def add(self, other: "_Tally") -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.errors += other.errors
        self.unmapped += other.unmapped
        self.lead_ids |= other.lead_ids


def import_leads(
    path: Path,
    *,
    engine: Engine,
    now: datetime | None = None,
    preset: str = "generic",
    mapping: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Create or update leads from a CSV file, matched by email."""
    now = now or utcnow()

    def write(batch: Sequence[_LeadRow], session: Session) -> _Tally:
        return _write_leads(batch, session=session, now=now)

    def parse_with(export: Export) -> Callable[[Record], _LeadRow]:
        return lambda record: _parse_lead(record, export.layout)

    return _import(
        path,
        "leads",
        preset,
        mapping,
        parse_with,
        write,
        engine=engine,
        progress=progress,
    )


def import_events(
    path: Path,
    *,
    engine: Engine,
    config: Config,
    preset: str = "generic",
    mapping: Mapping[str, str] | None = None,
    zone: ZoneInfo | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Add engagement events of stored leads; rows already stored are skipped.

    A time without an offset is read in `zone`; with no zone it is rejected.
    """
    found = find_preset(preset, "events")
    writer = _EventWriter(config, found.source)

    def parse_with(export: Export) -> Callable[[Record], _EventRow]:
        layout = export.layout
        read_time = TimeReader(found, zone, layout.label("occurred_at"))
        return lambda record: _parse_event(record, layout, read_time, found.source)

    try:
        result = _import(
            path,
            "events",
            preset,
            mapping,
            parse_with,
            writer.write,
            engine=engine,
            progress=progress,
        )
    except ImportFileError as error:
        # The rows stored before the problem count for MQLs all the same.
        if error.result is not None:
            error.result.new_mql_ids = _detect_mqls(error.result, engine, config)
        raise
    result.new_mql_ids = _detect_mqls(result, engine, config)
    return result


def _detect_mqls(result: ImportResult, engine: Engine, config: Config) -> list[int]:
    """The MQLs the imported events made, found in batches of leads."""
    lead_ids, now, created = sorted(result.lead_ids), utcnow(), []
    for start in range(0, len(lead_ids), BATCH_SIZE):
        with session_scope(engine) as session:
            found = detect_mqls(
                lead_ids[start : start + BATCH_SIZE],
                session=session,
                config=config,
                now=now,
            )
            created += [mql.id for mql in found]
    return created


def event_dedupe_key(email: str, name: str, occurred_at: datetime) -> str:
    """The key that makes one event of one lead at one moment stored once."""
    return _content_key(
        email.strip().lower(),
        normalise_event_name(name),
        occurred_at.astimezone(UTC),
    )


def source_event_dedupe_key(source: str, event_id: str) -> str:
    """The key of an event its source tool gave an ID, stored once per ID."""
    return hashlib.sha256(f"{source}:{event_id}".encode()).hexdigest()


def _content_key(email: str, name: str, moment: datetime) -> str:
    identity = "\n".join((email, name, moment.isoformat()))
    return hashlib.sha256(identity.encode()).hexdigest()


def _import(
    path: Path,
    kind: str,
    preset_name: str,
    mapping: Mapping[str, str] | None,
    parse_with: Callable[[Export], Callable[[Record], Any]],
    write: Callable,
    *,
    engine: Engine,
    progress: Progress | None,
) -> ImportResult:
    """Stream the file's records through a parser made for its header (by
    `parse_with`) into batches that `write` stores."""
    preset = find_preset(preset_name, kind)
    with open_export(path, kind, preset, mapping or {}) as export:
        rejected = RejectedFile(path, export.layout.header)
        batches = _Batches(write, engine, rejected)
        try:
            _read_all(export, parse_with(export), batches, progress)
        except FileProblem as problem:
            batches.flush()
            result = batches.result(kind)
            _log_finished(result, path, stopped_at=problem.line)
            raise ImportFileError(problem.message(path.name), result) from None
        finally:
            rejected.close()
    result = batches.result(kind)
    _log_finished(result, path)
    return result


def _read_all(
    export: Export,
    parse: Callable[[Record], Any],
    batches: "_Batches",
    progress: Progress | None,
) -> None:
    for record in export.records():
        try:
            if record.problem:
                raise RowRejected(record.problem)
            batches.add(parse(record))
        except RowRejected as rejection:
            batches.reject(record, rejection.reason)
        if batches.is_full():
            batches.flush()
            if progress:
                progress(export.bytes_read, export.rows_read)
    batches.flush()
    if progress:
        progress(export.bytes_read, export.rows_read)


class _Batches:
    """Rows waiting to be written, and the rejections of the same lines."""

    def __init__(self, write: Callable, engine: Engine, rejected: RejectedFile):
        self._write = write
        self._engine = engine
        self._rejected = rejected
        self._rows: list = []
        self._rejections: list[tuple[int, str, list[str]]] = []
        self._total = _Tally()

    def add(self, row) -> None:
        self._rows.append(row)

    def reject(self, record: Record, reason: str) -> None:
        self._rejections.append((record.line, reason, record.fields))

    def is_full(self) -> bool:
        return len(self._rows) + len(self._rejections) >= BATCH_SIZE

    def flush(self) -> None:
        rows, rejections = self._rows, self._rejections
        self._rows, self._rejections = [], []
        tally = _write_batch(rows, self._write, self._engine) if rows else _Tally()
        fields = {row.line: row.fields for row in rows}
        rejections += [(e.line, e.reason, fields[e.line]) for e in tally.errors]

        tally.errors = []
        room = MAX_REPORTED_ERRORS - len(self._total.errors)
        for line, reason, values in sorted(rejections, key=lambda r: r[0]):
            self._rejected.write(line, reason, values)
            if len(tally.errors) < room:
                tally.errors.append(RowError(line, reason))
        self._total.add(tally)

    def result(self, kind: str) -> ImportResult:
        total, rejected = self._total, self._rejected
        return ImportResult(
            kind=kind,
            imported=total.imported,
            updated=total.updated,
            duplicates=total.duplicates,
            rejected=rejected.count,
            errors=total.errors,
            unmapped=dict(total.unmapped),
            lead_ids=total.lead_ids,
            rejected_path=rejected.path if rejected.count else None,
        )


def _write_batch(rows: list, write: Callable, engine: Engine) -> _Tally:
    """Write one batch in one transaction, or row by row if it is refused."""
    try:
        with session_scope(engine) as session:
            return write(rows, session)
    except (IntegrityError, DataError) as error:
        # Another writer stored a conflicting row after our lookups, or
        # the database refused a value our checks let through.
        logger.warning(
            "import batch refused; retrying row by row error=%s",
            type(error.orig).__name__,
        )
        return _write_one_by_one(rows, write, engine)


def _write_one_by_one(batch: Sequence, write: Callable, engine: Engine) -> _Tally:
    """Each row under its own savepoint, so a refused row costs only itself.

    One transaction for the lot: a commit per row would cost a disk flush
    per row, which at this batch size takes longer than the import.
    """
    total = _Tally()
    with session_scope(engine) as session:
        for row in batch:
            try:
                with session.begin_nested():
                    tally = write([row], session)
            except IntegrityError:
                tally = _Tally(errors=[RowError(row.line, CONFLICT)])
            except DataError as error:
                reason = REFUSED.format(str(error.orig).splitlines()[0])
                tally = _Tally(errors=[RowError(row.line, reason)])
            total.add(tally)
    return total


def _parse_lead(record: Record, layout: Layout) -> _LeadRow:
    values = record.values
    email = _parse_email(values.get("email", ""), layout.label("email"))
    domain = _parse_domain(values.get("domain", ""), layout.label("domain"))
    # From the email when the file gives none, unless it is a mailbox
    # provider's: people at gmail.com are not one company.
    is_domain_derived = bool(email and not domain)
    if is_domain_derived:
        domain = company_domain(email) or ""
    texts = {name: values.get(name, "") for name in LEAD_TEXT_FIELDS}
    texts["name"] = texts["name"] or _full_name(values)
    if not email and not (texts["company"] and domain):
        raise RowRejected(NEEDS_EMAIL_OR_COMPANY)

    return _LeadRow(
        line=record.line,
        fields=record.fields,
        email=email,
        domain=domain,
        is_domain_derived=is_domain_derived,
        texts=texts,
        employees=_parse_employees(
            values.get("employees", ""), layout.label("employees")
        ),
        attributes=record.extras,
        owner_user_id=_parse_owner(
            values.get("owner_user_id", ""), layout.label("owner_user_id")
        ),
    )


def _full_name(values: dict[str, str]) -> str:
    parts = (values.get("first_name", ""), values.get("last_name", ""))
    return " ".join(part for part in parts if part)


def _parse_owner(value: str, label: str) -> str | None:
    if not value:
        return None
    if not USER_ID.match(value):
        raise RowRejected(BAD_OWNER.format(label, value))
    return value


def _parse_email(value: str, label: str) -> str | None:
    try:
        return normalise_email(value)
    except EmailError as error:
        if len(value.strip()) > MAX_EMAIL:
            raise RowRejected(LONG_EMAIL.format(label)) from None
        raise RowRejected(f"{BAD_EMAIL.format(label)} ({error.reason})") from None


def _parse_domain(value: str, label: str) -> str:
    # The same form an SDR's typed domain is stored in, so both find a lead.
    domain = normalise_domain(value)
    if domain and not DOMAIN.match(domain):
        raise RowRejected(BAD_DOMAIN.format(label, value))
    return domain


def _parse_employees(value: str, label: str) -> int | None:
    if not value:
        return None
    if not EMPLOYEES.fullmatch(value):
        raise RowRejected(BAD_EMPLOYEES.format(label, value))
    employees = int(value.replace(",", ""))
    if employees > MAX_EMPLOYEES:
        raise RowRejected(BIG_EMPLOYEES.format(label, value))
    return employees


def _parse_event(
    record: Record, layout: Layout, read_time: TimeReader, source: str
) -> _EventRow:
    values = record.values
    email, event, when = values["email"], values["event"], values["occurred_at"]
    if not (email and event and when):
        empty = "email" if not email else "event" if not event else "occurred_at"
        raise RowRejected(EMPTY.format(layout.label(empty)))
    if len(event) > MAX_EVENT_NAME:
        raise RowRejected(LONG_EVENT.format(MAX_EVENT_NAME))

    email, name, occurred_at = email.lower(), _event_name(event), read_time(when)
    event_id = values.get("event_id")
    if event_id:
        dedupe_key = source_event_dedupe_key(source, event_id)
    else:
        dedupe_key = _content_key(email, name, occurred_at)
    return _EventRow(
        record.line, record.fields, email, name, occurred_at, dedupe_key, record.extras
    )


# A file names few events many times; the bound keeps a file of unique names
# from growing the cache without end.
_event_name = lru_cache(maxsize=4096)(normalise_event_name)


def _write_leads(
    rows: Sequence[_LeadRow], *, session: Session, now: datetime
) -> _Tally:
    tally = _Tally()
    leads = _find_leads(rows, session=session)
    for row in rows:
        lead = leads.get(row.key)
        if lead is None:
            lead = leads[row.key] = Lead(email=row.email, created_at=now)
            session.add(lead)
            tally.imported += 1
        else:
            tally.updated += 1
        _update_lead(lead, row, now)
    return tally


def _find_leads(
    rows: Sequence[_LeadRow], *, session: Session
) -> dict[tuple[str, ...], Lead]:
    """The stored leads the rows refer to, by the rows' keys."""
    emails = {row.email for row in rows if row.email}
    domains = {row.domain for row in rows if not row.email}
    found = []
    if emails:
        found += session.scalars(select(Lead).where(Lead.email.in_(emails))).all()
    if domains:
        found += session.scalars(
            select(Lead)
            .where(Lead.email.is_(None), Lead.domain.in_(domains))
            .order_by(Lead.id)
        ).all()
    leads: dict[tuple[str, ...], Lead] = {}
    for lead in found:
        key = ("company", lead.domain, lead.company.casefold())
        leads.setdefault(("email", lead.email) if lead.email else key, lead)
    return leads


def _update_lead(lead: Lead, row: _LeadRow, now: datetime) -> None:
    for name, value in row.texts.items():
        if value:
            setattr(lead, name, value)
    if row.domain and not (row.is_domain_derived and lead.domain):
        lead.domain = row.domain
    if row.employees is not None:
        lead.employees = row.employees
    if row.owner_user_id:
        lead.owner_user_id = row.owner_user_id
    # A new dict, because the JSON column does not see changes made in place.
    lead.attributes = {**(lead.attributes or {}), **row.attributes}
    lead.updated_at = now


class _EventWriter:
    """Writes batches of events, remembering lead IDs and signals it looked up.

    The lead cache holds one entry per lead the file names, so it is bounded
    by the number of leads, not of rows.
    """

    def __init__(self, config: Config, source: str) -> None:
        self._engagement = config.engagement
        self._source = source
        self._lead_ids: dict[str, int] = {}
        self._is_mapped: dict[str, bool] = {}

    def write(self, rows: Sequence[_EventRow], session: Session) -> _Tally:
        tally = _Tally()
        lead_ids = self._find_lead_ids({row.email for row in rows}, session)

        values = []
        for row in rows:
            lead_id = lead_ids.get(row.email)
            if lead_id is None:
                tally.errors.append(RowError(row.line, NO_LEAD))
                continue
            values.append(
                {
                    "lead_id": lead_id,
                    "name": row.name,
                    "occurred_at": row.occurred_at,
                    "source": self._source,
                    "dedupe_key": row.dedupe_key,
                    "properties": row.properties,
                }
            )
            if not self._is_signal(row.name):
                tally.unmapped[row.name] += 1
        if not values:
            return tally

        statement = _insert_events_ignoring_duplicates(session)
        stored = session.execute(statement, values).all()
        tally.imported = len(stored)
        tally.duplicates = len(values) - len(stored)
        tally.lead_ids = {lead_id for _, lead_id in stored}
        return tally

    def _find_lead_ids(self, emails: set[str], session: Session) -> dict[str, int]:
        missing = emails - self._lead_ids.keys()
        if missing:
            found = session.execute(
                select(Lead.email, Lead.id).where(Lead.email.in_(missing))
            )
            self._lead_ids.update((email, id_) for email, id_ in found)
        return self._lead_ids

    def _is_signal(self, name: str) -> bool:
        known = self._is_mapped.get(name)
        if known is None:
            known = self._is_mapped[name] = (
                self._engagement.signal_for(name) is not None
            )
        return known


def _insert_events_ignoring_duplicates(session: Session):
    """An INSERT, run for many rows at once, that skips stored dedupe_keys."""
    table = Event.__table__
    return (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id, table.c.lead_id)
    )


def _log_finished(
    result: ImportResult, path: Path, stopped_at: int | None = None
) -> None:
    logger.info(
        "import %s kind=%s file=%s imported=%s updated=%s duplicates=%s "
        "errors=%s unmapped=%s",
        "finished" if stopped_at is None else f"stopped line={stopped_at}",
        result.kind,
        path.name,
        result.imported,
        result.updated,
        result.duplicates,
        result.rejected,
        sum(result.unmapped.values()),
    )
