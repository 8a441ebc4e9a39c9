"""Importing leads and their engagement events from CSV files.

A file is read and checked as a whole first (encoding, CSV syntax, header),
so a whole-file problem stops the import before anything is written. Rows
are then validated one by one and written in batches; a bad row is reported
with its line number and never costs the good rows around it.
"""

import csv
import hashlib
import io
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dateutil.parser import isoparse
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session

from bot.config import USER_ID, Config, normalise_event_name
from bot.db import session_scope, utcnow
from bot.domain.leads import DOMAIN, normalise_domain
from bot.models import Event, Lead

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_FIELD = 10_000
UNCLOSED_QUOTE = (
    "line {line}: a value runs over {limit:,} characters, which almost always "
    'means a quote (") opened there is never closed; fix the quoting and import '
    "again (nothing was imported)."
)
SPANS_LINES = (
    'a value runs over {lines} lines, which usually means a quote (") opened on '
    "this line is never closed; the lines it swallowed were not imported either"
)
OTHER_SEPARATOR = (
    " The header looks split by another character: save as comma-separated CSV."
)
MAX_EVENT_NAME = 200
LONG_EVENT = "event name is over {} characters; is the event column the right one?"
REFUSED = "the database refused a value in this row: {}"
NUL_BYTE = "the row contains a NUL byte (\\x00); remove it and import the row again"
LEAD_COLUMNS = (
    "email",
    "name",
    "title",
    "company",
    "domain",
    "industry",
    "employees",
    "country",
)
# Optional: the Slack user ID of the lead's owner; an AE owner gets its SQLs.
OWNER_COLUMN = "owner_user_id"
BAD_OWNER = "owner_user_id {!r} is not a Slack user ID like U0123ABCD"
LEAD_TEXT_FIELDS = ("name", "title", "company", "industry", "country")
EVENT_COLUMNS = ("email", "event", "occurred_at")
# The width of leads.email and the largest value PostgreSQL's INTEGER holds:
# longer or larger values would fail the whole batch at the database instead
# of failing their own row here. (DOMAIN caps a domain at its column's 253.)
MAX_EMAIL = 320
MAX_EMPLOYEES = 2**31 - 1
EMPLOYEES = re.compile(r"\d+|\d{1,3}(,\d{3})+")

NEEDS_EMAIL_OR_COMPANY = "needs an email, or a company and a domain"
BAD_EMAIL = "email is not an address like ana@acme.com"
LONG_EMAIL = f"email is longer than {MAX_EMAIL} characters"
BAD_DOMAIN = "domain {!r} is not a domain like acme.com"
BAD_EMPLOYEES = "employees must be a number of people like 1200 or 1,200, not {!r}"
BIG_EMPLOYEES = f"employees must be at most {MAX_EMPLOYEES:,}, not {{!r}}"
TOO_MANY_VALUES = (
    "has {} values but the header names {} columns (is a comma in a value "
    "missing its quotes?)"
)
NO_EMAIL = "email is empty"
NO_EVENT = "event is empty"
NO_TIME = "occurred_at is empty"
NO_LEAD = "no lead with this email; import it with `import leads` first"
NAIVE_TIME = (
    "occurred_at {!r} has no time zone; add Z or an offset like +02:00 "
    "(the importer does not guess one)"
)
BAD_TIME = (
    "occurred_at {!r} is not an ISO 8601 time (write it like 2024-05-01T14:30:00Z)"
)
CONFLICT = "another import wrote this row at the same moment; import the file again"


class ImportFileError(Exception):
    """The file cannot be imported at all; nothing was written."""


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
    """

    kind: str
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    unmapped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Record:
    """One CSV record: the line it starts on and its values by column."""

    line: int
    values: dict[str, str]
    extras: dict[str, str]
    problem: str | None = None


class _RowRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _LeadRow:
    line: int
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


@dataclass(frozen=True)
class _EventRow:
    line: int
    email: str
    name: str
    occurred_at: datetime
    properties: dict[str, str]


@dataclass
class _Tally:
    """What committed writes did; a batch's counts are added after its commit."""

    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    unmapped: Counter = field(default_factory=Counter)

    def add(self, other: "_Tally") -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.errors += other.errors
        self.unmapped += other.unmapped

    def result(self, kind: str) -> ImportResult:
        return ImportResult(
            kind=kind,
            imported=self.imported,
            updated=self.updated,
            duplicates=self.duplicates,
            errors=sorted(self.errors, key=lambda error: error.line),
            unmapped=dict(self.unmapped),
        )


def import_leads(
    path: Path, *, engine: Engine, now: datetime | None = None
) -> ImportResult:
    """Create or update leads from a CSV file, matched by email."""
    now = now or utcnow()
    records = _read_records(path, LEAD_COLUMNS)
    rows, tally = _parse_all(records, _parse_lead)

    def write(batch: Sequence[_LeadRow], session: Session) -> _Tally:
        return _write_leads(batch, session=session, now=now)

    tally.add(_write_all(rows, write, engine))
    result = tally.result("leads")
    _log_finished(result, path)
    return result


def import_events(path: Path, *, engine: Engine, config: Config) -> ImportResult:
    """Add engagement events of stored leads; rows already stored are skipped."""
    records = _read_records(path, EVENT_COLUMNS)
    rows, tally = _parse_all(records, _parse_event)

    def write(batch: Sequence[_EventRow], session: Session) -> _Tally:
        return _write_events(batch, session=session, config=config)

    tally.add(_write_all(rows, write, engine))
    result = tally.result("events")
    _log_finished(result, path)
    return result


def event_dedupe_key(email: str, name: str, occurred_at: datetime) -> str:
    """The key that makes one event of one lead at one moment stored once."""
    moment = occurred_at.astimezone(UTC).isoformat()
    identity = "\n".join((email, normalise_event_name(name), moment))
    return hashlib.sha256(identity.encode()).hexdigest()


def _read_records(path: Path, columns: Sequence[str]) -> list[_Record]:
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _read_header(reader, path, columns)
        return list(_iter_records(reader, header))
    except csv.Error as error:
        raise ImportFileError(
            f"{path.name}: line {reader.line_num} is not valid CSV ({error})."
        ) from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            f"{path.name} is not UTF-8 text; if it is a spreadsheet, save it as "
            "CSV (UTF-8) and import that."
        ) from None
    except OSError as error:
        raise ImportFileError(f"{path}: cannot be read ({error.strerror}).") from None


def _read_header(
    reader: Iterator[list[str]], path: Path, columns: Sequence[str]
) -> list[tuple[str, bool]]:
    fields = next((fields for fields in reader if _has_values(fields)), None)
    if fields is None:
        raise ImportFileError(
            f"{path.name} is empty; its first line must be the header "
            f"{','.join(columns)}."
        )

    header = [_column_name(name, columns) for name in fields]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise ImportFileError(
            f"{path.name}: the header names {', '.join(repeated)} more than once."
        )
    missing = [column for column in columns if column not in header]
    if missing:
        hint = ""
        if len(fields) == 1 and any(mark in fields[0] for mark in ";\t|"):
            hint = OTHER_SEPARATOR
        raise ImportFileError(
            f"{path.name} is missing the column(s) {', '.join(missing)}; its "
            f"header must name {','.join(columns)} (more columns are kept too).{hint}"
        )
    return [(name, name in columns) for name in header]


def _column_name(name: str, columns: Sequence[str]) -> str:
    name = name.strip()
    return name.lower() if name.lower() in columns else name


def _iter_records(
    reader: Iterator[list[str]], header: list[tuple[str, bool]]
) -> Iterator[_Record]:
    # line_num is the line a record ends on; a quoted value may span several.
    last_line = reader.line_num
    for fields in reader:
        line, last_line = last_line + 1, reader.line_num
        if not _has_values(fields):
            continue
        values, extras = {}, {}
        for (name, is_known), value in zip(header, fields, strict=False):
            if is_known:
                values[name] = value.strip()
            elif name and value.strip():
                extras[name] = value.strip()
        for name, is_known in header[len(fields) :]:
            if is_known:
                values[name] = ""
        if any(len(value) > MAX_FIELD for value in fields):
            # csv reads an unclosed quote as one value running on through the
            # following lines, which would swallow them without a word.
            raise ImportFileError(UNCLOSED_QUOTE.format(line=line, limit=MAX_FIELD))
        problem = None
        if _has_values(fields[len(header) :]):
            problem = TOO_MANY_VALUES.format(len(fields), len(header))
        elif any("\x00" in value for value in fields):
            problem = NUL_BYTE
        elif any("\n" in value for value in values.values()):
            problem = SPANS_LINES.format(lines=reader.line_num - line + 1)
        yield _Record(line, values, extras, problem)


def _has_values(fields: Sequence[str]) -> bool:
    return any(value.strip() for value in fields)


def _parse_all(records: list[_Record], parse: Callable) -> tuple[list, _Tally]:
    """The valid rows, and a tally holding the errors of the others."""
    rows, tally = [], _Tally()
    for record in records:
        try:
            if record.problem:
                raise _RowRejected(record.problem)
            rows.append(parse(record))
        except _RowRejected as rejection:
            tally.errors.append(RowError(record.line, rejection.reason))
    return rows, tally


def _parse_lead(record: _Record) -> _LeadRow:
    values = record.values
    email = _parse_email(values["email"])
    domain = _parse_domain(values["domain"])
    is_domain_derived = bool(email and not domain)
    if is_domain_derived:
        domain = email.rpartition("@")[2]
    if not email and not (values["company"] and domain):
        raise _RowRejected(NEEDS_EMAIL_OR_COMPANY)

    return _LeadRow(
        line=record.line,
        email=email,
        domain=domain,
        is_domain_derived=is_domain_derived,
        texts={name: values[name] for name in LEAD_TEXT_FIELDS},
        employees=_parse_employees(values["employees"]),
        attributes={k: v for k, v in record.extras.items() if k != OWNER_COLUMN},
        owner_user_id=_parse_owner(record.extras.get(OWNER_COLUMN, "")),
    )


def _parse_owner(value: str) -> str | None:
    if not value:
        return None
    if not USER_ID.match(value):
        raise _RowRejected(BAD_OWNER.format(value))
    return value


def _parse_email(value: str) -> str | None:
    email = value.lower()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    if not (local and at) or re.search(r"\s", local) or not DOMAIN.match(domain):
        raise _RowRejected(BAD_EMAIL)
    if len(email) > MAX_EMAIL:
        raise _RowRejected(LONG_EMAIL)
    return email


def _parse_domain(value: str) -> str:
    # The same form an SDR's typed domain is stored in, so both find a lead.
    domain = normalise_domain(value)
    if domain and not DOMAIN.match(domain):
        raise _RowRejected(BAD_DOMAIN.format(value))
    return domain


def _parse_employees(value: str) -> int | None:
    if not value:
        return None
    if not EMPLOYEES.fullmatch(value):
        raise _RowRejected(BAD_EMPLOYEES.format(value))
    employees = int(value.replace(",", ""))
    if employees > MAX_EMPLOYEES:
        raise _RowRejected(BIG_EMPLOYEES.format(value))
    return employees


def _parse_event(record: _Record) -> _EventRow:
    values = record.values
    for column, reason in (
        ("email", NO_EMAIL),
        ("event", NO_EVENT),
        ("occurred_at", NO_TIME),
    ):
        if not values[column]:
            raise _RowRejected(reason)
    if len(values["event"]) > MAX_EVENT_NAME:
        raise _RowRejected(LONG_EVENT.format(MAX_EVENT_NAME))

    return _EventRow(
        line=record.line,
        email=values["email"].lower(),
        name=normalise_event_name(values["event"]),
        occurred_at=_parse_time(values["occurred_at"]),
        properties=record.extras,
    )


def _parse_time(value: str) -> datetime:
    try:
        moment = isoparse(value)
        if moment.tzinfo is None:
            raise _RowRejected(NAIVE_TIME.format(value))
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _RowRejected(BAD_TIME.format(value)) from None


def _write_all(rows: list, write: Callable, engine: Engine) -> _Tally:
    """Write in batches, one transaction each."""
    total = _Tally()
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        try:
            with session_scope(engine) as session:
                tally = write(batch, session)
        except (IntegrityError, DataError) as error:
            # Another writer stored a conflicting row after our lookups, or
            # the database refused a value our checks let through.
            logger.warning(
                "import batch refused; retrying row by row error=%s",
                type(error.orig).__name__,
            )
            tally = _write_one_by_one(batch, write, engine)
        total.add(tally)
    return total


def _write_one_by_one(batch: Sequence, write: Callable, engine: Engine) -> _Tally:
    """Each row in its own transaction, so a conflict costs only its row."""
    total = _Tally()
    for row in batch:
        try:
            with session_scope(engine) as session:
                tally = write([row], session)
        except IntegrityError:
            tally = _Tally(errors=[RowError(row.line, CONFLICT)])
        except DataError as error:
            reason = REFUSED.format(str(error.orig).splitlines()[0])
            tally = _Tally(errors=[RowError(row.line, reason)])
        total.add(tally)
    return total


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


def _write_events(
    rows: Sequence[_EventRow], *, session: Session, config: Config
) -> _Tally:
    tally = _Tally()
    emails = {row.email for row in rows}
    lead_ids = dict(
        session.execute(select(Lead.email, Lead.id).where(Lead.email.in_(emails))).all()
    )

    values = []
    for row in rows:
        if row.email not in lead_ids:
            tally.errors.append(RowError(row.line, NO_LEAD))
            continue
        values.append(_event_values(row, lead_ids[row.email]))
        if config.engagement.signal_for(row.name) is None:
            tally.unmapped[row.name] += 1
    if not values:
        return tally

    statement = _insert_events_ignoring_duplicates(session, values)
    tally.imported = len(session.execute(statement).scalars().all())
    tally.duplicates = len(values) - tally.imported
    return tally


def _event_values(row: _EventRow, lead_id: int) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "name": row.name,
        "occurred_at": row.occurred_at,
        "source": "csv",
        "dedupe_key": event_dedupe_key(row.email, row.name, row.occurred_at),
        "properties": row.properties,
    }


def _insert_events_ignoring_duplicates(session: Session, values: list[dict]):
    """One INSERT of the batch that skips rows whose dedupe_key is stored."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    return (
        insert(Event.__table__)
        .values(values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Event.__table__.c.id)
    )


def _log_finished(result: ImportResult, path: Path) -> None:
    logger.info(
        "import finished kind=%s file=%s imported=%s updated=%s duplicates=%s "
        "errors=%s unmapped=%s",
        result.kind,
        path.name,
        result.imported,
        result.updated,
        result.duplicates,
        len(result.errors),
        sum(result.unmapped.values()),
    )
