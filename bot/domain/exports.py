"""Reading export files: a stream of records, each with the line it starts on.

A file is read line by line and never held whole, so its size does not
matter. Its header is matched to our fields (through a preset and the
`--map` columns) before any row is read, so a wrong header stops the import
before anything is written. A problem with one record (too many values, a
NUL byte) rejects that record only; a problem that makes the rest of the file
unreadable (bytes that are not UTF-8, a quote never closed) raises
`FileProblem`, and the importer stops after storing the rows before it.
"""

import codecs
import csv
import difflib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.presets import FIELDS, PRESETS, Preset

# A value longer than this is taken for an unclosed quote (see records()).
MAX_FIELD = 10_000
# Enough of the first line to tell how the file ends its lines.
FIRST_LINE_LIMIT = 64 * 1024
CR_CHUNK = 256 * 1024
UNCLOSED_QUOTE = (
    "line {line}: a value runs over {limit:,} characters, which almost always "
    'means a quote (") opened there is never closed; fix the quoting and import '
    "again"
)
LONG_VALUE = "a value is over {limit:,} characters; shorten it or drop that column"
NOT_UTF8 = (
    "{name} is not UTF-8 text; if it is a spreadsheet, save it as CSV (UTF-8) "
    "and import that."
)
NOT_UTF8_AT = (
    "line {line} is not UTF-8 text; if the file is a spreadsheet, save it as "
    "CSV (UTF-8) and import that"
)
NOT_CSV = "line {line} is not valid CSV ({error})"
NOTHING_IMPORTED = " (nothing was imported)."
PARTLY_IMPORTED = (
    ". The {rows:,} rows before it were read and the good ones stored; "
    "importing the fixed file again does not add them twice."
)
SPANS_LINES = (
    'a value runs over {lines} lines, which usually means a quote (") opened on '
    "this line is never closed; the lines it swallowed were not imported either"
)
TOO_MANY_VALUES = (
    "has {} values but the header names {} columns (is a comma in a value "
    "missing its quotes?)"
)
NUL_BYTE = "the row contains a NUL byte (\\x00); remove it and import the row again"
OTHER_SEPARATOR = (
    " The header looks split by another character: save as comma-separated CSV."
)
NAIVE_TIME = (
    "{column} {value!r} has no time zone; pass --tz with the zone the file was "
    "written in (like --tz Europe/Berlin), or add Z or an offset like +02:00 "
    "(the importer does not guess one)"
)
BAD_TIME = "{column} {value!r} is not {hint}"


class ImportFileError(Exception):
    """The file cannot be imported, or not past a line; the message says which.

    `result` holds what was stored before an import stopped mid-file, and is
    None when nothing was written.
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class FileProblem(Exception):
    """The file cannot be read past `line`; the rows before it are good."""

    def __init__(self, line: int, reason: str, is_encoding: bool = False) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason
        self.is_encoding = is_encoding
        self.rows_before = 0

    def message(self, name: str) -> str:
        if self.rows_before == 0 and self.is_encoding:
            # Usually the whole file is in another encoding, not one line.
            return NOT_UTF8.format(name=name)
        if self.rows_before == 0:
            return f"{name}: {self.reason}{NOTHING_IMPORTED}"
        return f"{name}: {self.reason}{PARTLY_IMPORTED.format(rows=self.rows_before)}"


class RowRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Layout:
    """Where each field is in a file's rows, and what the file calls it."""

    header: list[str]
    columns: list[tuple[str, int]]
    labels: dict[str, str]
    extras: list[tuple[int, str]]

    def label(self, field: str) -> str:
        return self.labels.get(field, field)


@dataclass(slots=True)
class Record:
    """One CSV record: its first line, raw values, mapped values and the rest."""

    line: int
    fields: list[str]
    values: dict[str, str]
    extras: dict[str, str]
    problem: str | None = None


class Export:
    """An open export file, read one record at a time."""

    def __init__(
        self, binary: BinaryIO, reader, layout: Layout, footer_marks: tuple[str, ...]
    ) -> None:
        self._binary = binary
        self._reader = reader
        self._footer_marks = footer_marks
        self._in_footer = False
        self.layout = layout
        self.rows_read = 0

    @property
    def bytes_read(self) -> int:
        return self._binary.tell()

    def records(self) -> Iterator[Record]:
        """Every record with values, blank lines skipped but counted."""
        # line_num is the line a record ends on; a quoted value may span several.
        last_line = self._reader.line_num
        while (fields := self._next(last_line + 1)) is not None:
            line, last_line = last_line + 1, self._reader.line_num
            joined = "".join(fields)
            if not joined.strip() or self._is_footer(fields):
                continue
            long = (
                [v for v in fields if len(v) > MAX_FIELD]
                if len(joined) > MAX_FIELD
                else []
            )
            if any("\n" in value for value in long):
                # csv reads an unclosed quote as one value running on through
                # the following lines, which would swallow them without a word.
                raise self._problem(line, None)
            self.rows_read += 1
            record = self._record(line, last_line, fields, joined)
            if long:
                # One long value on one line is a real (quoted) value: only
                # its row is refused.
                record = replace(record, problem=LONG_VALUE.format(limit=MAX_FIELD))
            yield record

    def _next(self, line: int) -> list[str] | None:
        try:
            return next(self._reader, None)
        except csv.Error as error:
            raise self._problem(line, error) from None
        except FileProblem as problem:
            problem.rows_before = self.rows_read
            raise

    def _is_footer(self, fields: list[str]) -> bool:
        if not self._footer_marks or not _is_lone_value(fields):
            return False
        self._in_footer = self._in_footer or fields[0].startswith(self._footer_marks)
        return self._in_footer

    def _record(
        self, line: int, last_line: int, fields: list[str], joined: str
    ) -> Record:
        layout, width = self.layout, len(self.layout.header)
        padded = fields
        if len(fields) < width:
            padded = fields + [""] * (width - len(fields))
        values = {field: padded[index].strip() for field, index in layout.columns}
        extras = {
            name: value
            for index, name in layout.extras
            if (value := padded[index].strip())
        }

        problem = None
        if len(fields) > width and "".join(fields[width:]).strip():
            problem = TOO_MANY_VALUES.format(len(fields), width)
        elif "\x00" in joined:
            problem = NUL_BYTE
        elif "\n" in joined and any("\n" in value for value in values.values()):
            problem = SPANS_LINES.format(lines=last_line - line + 1)
        return Record(line, fields, values, extras, problem)

    def _problem(self, line: int, error: csv.Error | None) -> FileProblem:
        # csv's own limit (128 KiB a value) stops an unclosed quote that runs
        # to the end of a large file before it fills the memory.
        if error is None or "field larger than field limit" in str(error):
            reason = UNCLOSED_QUOTE.format(line=line, limit=MAX_FIELD)
        else:
            reason = NOT_CSV.format(line=line, error=error)
        problem = FileProblem(line, reason)
        problem.rows_before = self.rows_read
        return problem


@contextmanager
def open_export(
    path: Path, kind: str, preset: Preset, mapping: Mapping[str, str]
) -> Iterator[Export]:
    """Open `path` and match its header; ImportFileError if it cannot be used."""
    try:
        binary = path.open("rb")
    except OSError as error:
        raise ImportFileError(f"{path}: cannot be read ({error.strerror}).") from None
    with binary:
        reader = csv.reader(_decoded_lines(binary))
        try:
            header = _read_header(reader, path, kind, preset)
        except csv.Error as error:
            raise ImportFileError(
                f"{path.name}: line {reader.line_num} is not valid CSV ({error})."
            ) from None
        except FileProblem:
            raise ImportFileError(NOT_UTF8.format(name=path.name)) from None
        layout = match_header(header, path, kind, preset, mapping)
        yield Export(binary, reader, layout, preset.footer_marks)


def _is_lone_value(fields: list[str]) -> bool:
    return bool(fields[0].strip()) and not "".join(fields[1:]).strip()


def _decoded_lines(binary: BinaryIO) -> Iterator[str]:
    # Decoding line by line, rather than through a text file's 8 KB chunks,
    # is what lets an undecodable byte be named by its line.
    for number, raw in enumerate(_raw_lines(binary), start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            reason = NOT_UTF8_AT.format(line=number)
            raise FileProblem(number, reason, is_encoding=True) from None


def _raw_lines(binary: BinaryIO) -> Iterator[bytes]:
    first = binary.readline(FIRST_LINE_LIMIT).removeprefix(codecs.BOM_UTF8)
    if b"\r" in first.rstrip(b"\r\n"):
        yield from _lines_ending_in_cr(first, binary)
        return
    if first and not first.endswith(b"\n"):
        first += binary.readline()
    if first:
        yield first
        yield from binary


def _lines_ending_in_cr(start: bytes, binary: BinaryIO) -> Iterator[bytes]:
    """The lines of a file that ends them with CR alone, as old Mac Excel does."""
    pending, chunk = b"", start
    while chunk:
        *lines, pending = (pending + chunk).split(b"\r")
        yield from (line + b"\r" for line in lines)
        chunk = binary.read(CR_CHUNK)
    if pending:
        yield pending


def _read_header(reader, path: Path, kind: str, preset: Preset) -> list[str]:
    for fields in reader:
        if "".join(fields).strip():
            return fields
    raise ImportFileError(
        f"{path.name} is empty; its first line must be the header "
        f"{','.join(_required_columns(preset, kind))}."
    )


def _required_columns(preset: Preset, kind: str) -> list[str]:
    columns = preset.columns[kind]
    return [
        next(column for column, target in columns.items() if target == field)
        for field in preset.required[kind]
    ]


def match_header(
    header: list[str],
    path: Path,
    kind: str,
    preset: Preset,
    mapping: Mapping[str, str],
) -> Layout:
    """Which column holds each field: `mapping` first, then the preset."""
    names = [name.strip() for name in header]
    keys = [name.casefold() for name in names]
    _check_mapped_columns(mapping, keys, names, path, kind)
    explicit = {column.casefold(): field for column, field in mapping.items()}
    by_preset = {
        column.casefold(): field
        for column, field in preset.columns[kind].items()
        if field not in explicit.values()
    }

    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    extras: list[tuple[int, str]] = []
    for index, key in enumerate(keys):
        field = explicit.get(key) or by_preset.get(key)
        if field is None:
            if names[index]:
                extras.append((index, names[index]))
            continue
        if field in columns:
            raise ImportFileError(_twice(path, names, columns[field], index, field))
        columns[field] = index
        labels[field] = field if key == field else names[index]
    _check_repeated_extras(extras, path)
    _check_required(header, columns, path, kind, preset)
    return Layout(
        header=header, columns=list(columns.items()), labels=labels, extras=extras
    )


def _check_mapped_columns(
    mapping: Mapping[str, str],
    keys: list[str],
    names: list[str],
    path: Path,
    kind: str,
) -> None:
    for column, field in mapping.items():
        if field not in FIELDS[kind]:
            raise ImportFileError(
                f"--map {column}={field}: {field!r} is not a field of {kind}; "
                f"choose from {', '.join(FIELDS[kind])}."
            )
        if column.casefold() not in keys:
            shown = ", ".join(repr(name) for name in names[:12] if name)
            more = ", ..." if len(names) > 12 else ""
            raise ImportFileError(
                f"--map {column}={field}: {path.name} has no column {column!r}; "
                f"its header names {shown}{more}."
            )


def _twice(path: Path, names: list[str], first: int, second: int, field: str) -> str:
    if names[first].casefold() == names[second].casefold():
        label = field if names[first].casefold() == field else names[first]
        return f"{path.name}: the header names {label} more than once."
    return (
        f"{path.name}: the columns {names[first]!r} and {names[second]!r} both "
        f'give {field}; choose one with --map "{names[first]}={field}".'
    )


def _check_repeated_extras(extras: list[tuple[int, str]], path: Path) -> None:
    seen: set[str] = set()
    for _, name in extras:
        if name in seen:
            raise ImportFileError(
                f"{path.name}: the header names {name} more than once."
            )
        seen.add(name)


def _check_required(
    header: list[str], columns: dict[str, int], path: Path, kind: str, preset: Preset
) -> None:
    present = set(columns)
    if "first_name" in present or "last_name" in present:
        present.add("name")
    missing = [field for field in preset.required[kind] if field not in present]
    if not missing:
        return
    hint = ""
    if len(header) == 1 and any(mark in header[0] for mark in ";\t|"):
        hint = OTHER_SEPARATOR
    if preset.name == "generic":
        raise ImportFileError(
            f"{path.name} is missing the column(s) {', '.join(missing)}; its "
            f"header must name {','.join(preset.required[kind])} (more columns "
            f"are kept too).{hint}"
        )
    expected = dict(
        zip(preset.required[kind], _required_columns(preset, kind), strict=True)
    )
    raise ImportFileError(
        f"{path.name} has no column for {', '.join(missing)}; the {preset.name} "
        f"preset reads {', '.join(repr(expected[f]) for f in missing)}. Name "
        f'yours with --map, like --map "Your column={missing[0]}".{hint}'
    )


def find_preset(name: str, kind: str) -> Preset:
    """The preset of that name, if it reads this kind of file."""
    preset = PRESETS.get(name)
    if preset is None:
        raise ImportFileError(
            f"there is no preset {name!r}; choose from {', '.join(PRESETS)}."
        )
    if kind not in preset.columns:
        readable = [other for other, p in PRESETS.items() if kind in p.columns]
        raise ImportFileError(
            f"the {name} preset reads {' and '.join(preset.columns)} only; for "
            f"{kind} use --preset {' or '.join(readable)}, with --map for "
            "columns it does not know."
        )
    return preset


def parse_column_map(items: Sequence[str], kind: str) -> dict[str, str]:
    """`--map COLUMN=FIELD` options as {column: field}; ValueError if wrong."""
    mapping: dict[str, str] = {}
    for item in items:
        column, equals, field = item.rpartition("=")
        column, field = column.strip(), field.strip().lower()
        if not (equals and column and field):
            raise ValueError(
                f'{item!r} is not COLUMN=FIELD; write it like --map "Work Email=email".'
            )
        if field not in FIELDS[kind]:
            raise ValueError(
                f"{item!r}: {field!r} is not a field of {kind}; choose from "
                f"{', '.join(FIELDS[kind])}."
            )
        if column.casefold() in (known.casefold() for known in mapping):
            raise ValueError(f"{item!r}: column {column!r} is mapped twice.")
        if field in mapping.values():
            raise ValueError(f"{item!r}: {field} is given by two columns.")
        mapping[column] = field
    return mapping


def find_zone(name: str) -> ZoneInfo:
    """The IANA time zone of that name; ValueError naming close ones if none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, available_timezones(), n=3)
        hint = (
            f"; did you mean {' or '.join(close)}?"
            if close
            else " (use an IANA name like Europe/Berlin or America/New_York)."
        )
        raise ValueError(f"{name!r} is not a time zone{hint}") from None


class TimeReader:
    """Reads one file's times as aware UTC datetimes.

    ISO 8601 first, then the preset's formats, the one that last matched
    tried first (a file keeps to one format, so the search is rarely
    repeated). A time without an offset, and a date alone (taken as the
    start of its day), are in `zone`; with no zone such a time is rejected,
    never guessed.
    """

    def __init__(self, preset: Preset, zone: ZoneInfo | None, label: str) -> None:
        self._formats = list(preset.time_formats)
        self._hint = preset.time_hint
        self._zone = zone
        self._label = label

    def __call__(self, value: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = self._parse_other(value)
        if moment.tzinfo is None:
            if self._zone is None:
                raise RowRejected(NAIVE_TIME.format(column=self._label, value=value))
            moment = moment.replace(tzinfo=self._zone)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise RowRejected(self._bad(value)) from None

    def _parse_other(self, value: str) -> datetime:
        for position, time_format in enumerate(self._formats):
            try:
                moment = datetime.strptime(value, time_format)
            except ValueError:
                continue
            if position:
                self._formats.insert(0, self._formats.pop(position))
            return moment
        raise RowRejected(self._bad(value))

    def _bad(self, value: str) -> str:
        return BAD_TIME.format(column=self._label, value=value, hint=self._hint)


class RejectedFile:
    """Rejected rows beside the input: line, reason, then the row as it was.

    Opened at the first rejection, so an import without one leaves no file
    (and removes the one an earlier import of the same file left).
    """

    def __init__(self, source: Path, header: list[str]) -> None:
        stem = source.name
        if stem.lower().endswith(".csv"):
            stem = stem[:-4]
        self.path = source.with_name(f"{stem}.rejected.csv")
        self._header = header
        self._file = None
        self._writer = None
        self.count = 0

    def write(self, line: int, reason: str, fields: list[str]) -> None:
        if self._writer is None:
            try:
                self._file = self.path.open("w", encoding="utf-8", newline="")
            except OSError as error:
                raise ImportFileError(
                    f"cannot write the rejected rows to {self.path} "
                    f"({error.strerror}); copy the file to a folder you can write "
                    "to and import it again (rows already stored are not added "
                    "twice)."
                ) from None
            self._writer = csv.writer(self._file)
            self._writer.writerow(["line", "reason", *self._header])
        self._writer.writerow([line, reason, *fields])
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        elif self.count == 0 and self.path.is_file():
            # What an earlier import of this file rejected is stale now.
            self.path.unlink(missing_ok=True)
