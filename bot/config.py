"""The team's configuration: channels, people, the Q-matrix, ICP and signals.

The shipped defaults live in `defaults.toml`; a team's file is merged over
them key by key, then the whole is validated so that an error names the key.
"""

import hashlib
import json
import re
import tomllib
from datetime import date, time
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULTS_PATH = Path(__file__).with_name("defaults.toml")
DEFAULT_TEAM_FILE = Path("qualify.toml")
LEVELS = (0, 1, 2, 3)
MAX_LEVEL = 3
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Slack caps a button label at 75 characters; "3 · " takes four of them.
MAX_LEVEL_LABEL = 70
SUB_KEY = re.compile(r"^(?P<key>(\[\d+\]|[a-z_][\w\-]*)(\[\d+\]|\.[\w\-]+)*): ")


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the key."""


class _Strict(BaseModel):
    # strict: TOML has real types, so "18" for a number is a mistake to report.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Channels(_Strict):
    sql: str = ""
    nurture: str = ""
    handoff: str = ""
    digest: str = ""
    # Where new MQLs wait for an SDR to claim them.
    queue: str = ""
    # Where SLA breaches are announced.
    sla: str = ""

    @field_validator("*")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if value and not CHANNEL_ID.match(value):
            raise ValueError(
                f"{value!r} is not a Slack channel ID (it looks like C0123ABCD; "
                "copy it from the channel's details)"
            )
        return value


class Team(_Strict):
    sdrs: list[str] = []
    aes: list[str] = []
    managers: list[str] = []

    @field_validator("*")
    @classmethod
    def _check_ids(cls, ids: list[str]) -> list[str]:
        for index, value in enumerate(ids):
            if not USER_ID.match(value):
                raise ValueError(
                    f"[{index}]: {value!r} is not a Slack user ID (it looks like "
                    "U0123ABCD; copy it from the person's profile)"
                )
        return ids


class Criterion(_Strict):
    label: str = Field(min_length=1, max_length=40)
    weight: int = Field(ge=0, le=10)
    source: Literal["interview", "icp", "engagement"]
    question: str = Field(min_length=1, max_length=300)
    levels: list[str] = Field(min_length=4, max_length=4)

    @model_validator(mode="after")
    def _check_levels(self) -> "Criterion":
        for level, text in enumerate(self.levels):
            if not text.strip() or len(text) > MAX_LEVEL_LABEL:
                raise ValueError(
                    f"levels[{level}]: must be 1-{MAX_LEVEL_LABEL} characters "
                    "(it becomes a button label)"
                )
        return self


class Condition(_Strict):
    criterion: str
    at_least: int | None = Field(default=None, ge=0, le=MAX_LEVEL)
    at_most: int | None = Field(default=None, ge=0, le=MAX_LEVEL)

    @model_validator(mode="after")
    def _one_bound(self) -> "Condition":
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most")
        return self

    def holds(self, levels: dict[str, int]) -> bool:
        level = levels.get(self.criterion, 0)
        if self.at_least is not None:
            return level >= self.at_least
        return level <= self.at_most

    def describe(self, label: str) -> str:
        if self.at_least is not None:
            return f"{label} ≥ {self.at_least}"
        return f"{label} ≤ {self.at_most}"


class Rule(_Strict):
    when: list[Condition] = Field(min_length=1)
    unless: list[Condition] = []
    reason: str = Field(min_length=1, max_length=200)
    waived: str = ""


class Matrix(_Strict):
    name: str = Field(min_length=1, max_length=60)
    threshold: int = Field(ge=0)
    # More would not fit a review in Slack's 50 blocks per message.
    criteria: dict[str, Criterion] = Field(min_length=1, max_length=20)
    rules: dict[str, Rule] = {}

    @model_validator(mode="after")
    def _check_references(self) -> "Matrix":
        if self.threshold > self.max_total:
            raise ValueError(
                f"threshold: {self.threshold} is above the highest possible "
                f"total ({self.max_total})"
            )
        sources = [c.source for c in self.criteria.values()]
        for source in ("icp", "engagement"):
            if sources.count(source) > 1:
                raise ValueError(f"criteria: only one criterion may use {source!r}")
        for rule_id, rule in self.rules.items():
            for part in ("when", "unless"):
                for index, condition in enumerate(getattr(rule, part)):
                    if condition.criterion not in self.criteria:
                        raise ValueError(
                            f"rules.{rule_id}.{part}[{index}].criterion: "
                            f"{condition.criterion!r} is not a criterion "
                            f"(known: {', '.join(self.criteria)})"
                        )
        return self

    @property
    def max_total(self) -> int:
        return sum(c.weight * MAX_LEVEL for c in self.criteria.values())

    @property
    def version(self) -> str:
        """A short content hash: equal matrices share a version."""
        canonical = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def criterion_for(self, source: str) -> str | None:
        return next((k for k, c in self.criteria.items() if c.source == source), None)


class Icp(_Strict):
    industries: list[str] = []
    employees_min: int = Field(default=0, ge=0)
    employees_max: int = Field(default=0, ge=0)
    countries: list[str] = []

    @model_validator(mode="after")
    def _check_size(self) -> "Icp":
        if self.employees_max and self.employees_min > self.employees_max:
            raise ValueError(
                f"employees_min: {self.employees_min} is above employees_max "
                f"({self.employees_max}), so no company could match"
            )
        return self


class Signal(_Strict):
    label: str = Field(min_length=1, max_length=60)
    weight: float = Field(ge=0)
    events: list[str] = Field(min_length=1)
    # Page paths (shell patterns like "/pricing*") whose page views are
    # stored under this signal's first event name.
    paths: list[str] = []
    # One such event means buying now: it alerts the lead's SDR at once.
    high_intent: bool = False


class Sequence(_Strict):
    """Signals in this order within `within_days` mean buying, not learning."""

    label: str = Field(min_length=1, max_length=80)
    steps: list[str] = Field(min_length=2, max_length=8)
    within_days: int = Field(gt=0)
    boost: float = Field(ge=0)
    high_intent: bool = False


class Engagement(_Strict):
    half_life_days: float = Field(gt=0)
    window_days: int = Field(gt=0)
    level_thresholds: list[float] = Field(min_length=3, max_length=3)
    signals: dict[str, Signal] = {}
    sequences: dict[str, Sequence] = {}

    @model_validator(mode="after")
    def _check(self) -> "Engagement":
        low, mid, high = self.level_thresholds
        if not 0 < low <= mid <= high:
            raise ValueError("level_thresholds: must be positive and ascending")
        seen: dict[str, str] = {}
        for kind, signal in self.signals.items():
            for name in signal.events:
                key = normalise_event_name(name)
                if key in seen and seen[key] != kind:
                    raise ValueError(
                        f"signals.{kind}.events: {name!r} is already mapped "
                        f"to {seen[key]!r}"
                    )
                seen[key] = kind
        for name, sequence in self.sequences.items():
            for index, step in enumerate(sequence.steps):
                if step not in self.signals:
                    raise ValueError(
                        f"sequences.{name}.steps[{index}]: {step!r} is not a "
                        f"signal (known: {', '.join(self.signals)})"
                    )
        return self

    def signal_for(self, event_name: str) -> str | None:
        """The signal kind an event name maps to, or None."""
        return self._event_index.get(normalise_event_name(event_name))

    def events_of(self, kind: str) -> list[str]:
        """The normalised event names stored for a signal kind."""
        return [normalise_event_name(name) for name in self.signals[kind].events]

    def event_for_path(self, path: str) -> str | None:
        """The event name a page view of `path` is stored under, if any.

        The longest matching pattern wins, so "/pricing*" beats "/*" whatever
        order the signals are listed in.
        """
        patterns = sorted(
            (
                (pattern.lower(), kind)
                for kind in self.signals
                for pattern in self.signals[kind].paths
            ),
            key=lambda item: -len(item[0]),
        )
        path = path.lower()
        for pattern, kind in patterns:
            if fnmatchcase(path, pattern):
                return self.events_of(kind)[0]
        return None

    @property
    def high_intent_kinds(self) -> set[str]:
        return {kind for kind, signal in self.signals.items() if signal.high_intent}

    @cached_property
    def _event_index(self) -> dict[str, str]:
        return {
            normalise_event_name(name): kind
            for kind, signal in self.signals.items()
            for name in signal.events
        }


class Mql(_Strict):
    """When a lead becomes a marketing-qualified lead for the SDR queue."""

    min_engagement: int = Field(default=2, ge=0, le=MAX_LEVEL)
    min_fit: int = Field(default=2, ge=0, le=MAX_LEVEL)
    # A high-intent event this recent makes an MQL whatever the levels:
    # someone who asked for a demo should not wait for their fit data.
    hand_raiser_days: int = Field(default=7, ge=0)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK_TIME = re.compile(r"^(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)$")


class Duration(_Strict):
    """How long a clock runs: exactly one of minutes, hours, business_days."""

    minutes: int | None = Field(default=None, gt=0)
    hours: float | None = Field(default=None, gt=0)
    # One business day is one day's business hours (09:00-17:00: 8 hours).
    business_days: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_unit(self) -> "Duration":
        given = [unit for unit, value in self if value is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of minutes, hours or business_days, "
                "like { hours = 4 }"
            )
        return self


class Clock(_Strict):
    duration: Duration
    # True: the clock only runs during business hours (nights, weekends and
    # holidays do not count); False: it runs round the clock.
    pause_outside_hours: bool = True
    # Fractions of the duration at which the owner is reminded.
    reminders: list[float] = [0.5, 0.8]
    # On breach, hand the clock's work to the next person in rotation.
    reassign: bool = False

    @model_validator(mode="after")
    def _check(self) -> "Clock":
        for index, fraction in enumerate(self.reminders):
            if not 0 < fraction < 1:
                raise ValueError(
                    f"reminders[{index}]: {fraction} must be between 0 and 1 "
                    "(a fraction of the duration, like 0.5)"
                )
        if self.reminders != sorted(set(self.reminders)):
            raise ValueError("reminders: must be ascending, each once")
        if self.duration.business_days is not None and not self.pause_outside_hours:
            raise ValueError(
                "duration: business_days counts business hours only; set "
                "pause_outside_hours = true, or give hours for a round-the-clock clock"
            )
        return self


class Clocks(_Strict):
    first_touch: Clock
    mql_claim: Clock
    sql_meeting: Clock
    handoff_answer: Clock


class Sla(_Strict):
    """The team's business hours and its SLA clocks."""

    # An IANA zone name, like "Europe/Berlin".
    time_zone: str = "UTC"
    day_starts: str = "09:00"
    day_ends: str = "17:00"
    weekdays: list[str] = Field(default=list(WEEKDAYS[:5]), min_length=1)
    holidays: list[date] = []
    # Whose manager hears of a breach: a person's user ID to a manager's.
    # People not listed escalate to the first of team.managers.
    managers: dict[str, str] = {}
    clocks: Clocks

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{name!r} is not an IANA time zone (like Europe/Berlin or "
                "America/New_York)"
            ) from None
        return name

    @field_validator("day_starts", "day_ends")
    @classmethod
    def _check_time(cls, value: str) -> str:
        if not CLOCK_TIME.match(value):
            raise ValueError(f'{value!r} is not a time of day like "09:00"')
        return value

    @field_validator("weekdays")
    @classmethod
    def _check_weekdays(cls, days: list[str]) -> list[str]:
        for index, day in enumerate(days):
            if day not in WEEKDAYS:
                raise ValueError(
                    f"[{index}]: {day!r} is not a weekday (use {', '.join(WEEKDAYS)})"
                )
        return days

    @field_validator("managers")
    @classmethod
    def _check_managers(cls, managers: dict[str, str]) -> dict[str, str]:
        for person, manager in managers.items():
            for value in (person, manager):
                if not USER_ID.match(value):
                    raise ValueError(
                        f"{person}: {value!r} is not a Slack user ID (it looks "
                        "like U0123ABCD)"
                    )
        return managers

    @model_validator(mode="after")
    def _check_hours(self) -> "Sla":
        if self.opens >= self.closes:
            raise ValueError(
                f"day_ends: {self.day_ends} must be later than day_starts "
                f"({self.day_starts}); overnight hours are not supported"
            )
        return self

    @property
    def opens(self) -> time:
        return time.fromisoformat(self.day_starts)

    @property
    def closes(self) -> time:
        return time.fromisoformat(self.day_ends)

    @property
    def weekday_numbers(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(day) for day in self.weekdays)

    def clock(self, kind: str) -> Clock:
        return getattr(self.clocks, kind)


REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class Handoff(_Strict):
    """How an AE answers a handoff: the reasons a Reject may give."""

    # code -> label; the labels become a menu's options (75 characters each).
    reject_reasons: dict[str, str] = Field(min_length=1, max_length=100)
    # Codes whose Reject needs a note ("other" says nothing by itself).
    note_required: list[str] = []

    @model_validator(mode="after")
    def _check_reasons(self) -> "Handoff":
        for code, label in self.reject_reasons.items():
            if not REASON_CODE.match(code):
                raise ValueError(
                    f"reject_reasons.{code}: codes are lower-case letters, digits "
                    "and underscores, at most 40 (like not_icp)"
                )
            if not label.strip() or len(label) > 75:
                raise ValueError(
                    f"reject_reasons.{code}: the label must be 1-75 characters "
                    "(it becomes a menu option)"
                )
        for index, code in enumerate(self.note_required):
            if code not in self.reject_reasons:
                raise ValueError(
                    f"note_required[{index}]: {code!r} is not a reject reason "
                    f"(known: {', '.join(self.reject_reasons)})"
                )
        return self


class Routing(_Strict):
    """Capacity limits the rotation respects; 0 means no limit."""

    # Handoffs an AE holds that are pending or accepted without a meeting.
    max_open_handoffs_per_ae: int = Field(default=0, ge=0)
    # MQLs an SDR has claimed that are still open.
    max_claimed_mqls_per_sdr: int = Field(default=0, ge=0)


class DigestChannel(_Strict):
    """One channel's digest; what it leaves out comes from [digest]."""

    # Empty: channels.digest.
    channel: str = ""
    time: str | None = None
    time_zone: str | None = None

    @field_validator("channel")
    @classmethod
    def _check_channel(cls, value: str) -> str:
        return _check_channel_id(value)

    @field_validator("time")
    @classmethod
    def _check_time(cls, value: str | None) -> str | None:
        return value if value is None else _check_clock_time(value)

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, name: str | None) -> str | None:
        return name if name is None else _check_zone_name(name)


class Digest(_Strict):
    """When the manager's digest is sent, and where."""

    time: str = "08:30"
    # Filled from sla.time_zone when the file leaves it out.
    time_zone: str = "UTC"
    channels: list[DigestChannel] = []

    @field_validator("time")
    @classmethod
    def _check_time(cls, value: str) -> str:
        return _check_clock_time(value)

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, name: str) -> str:
        return _check_zone_name(name)

    def targets(self, config: "Config") -> list[tuple[str, str, ZoneInfo]]:
        """Each digest to send: (channel ID, local "HH:MM", its time zone).

        Without [[digest.channels]] it is channels.digest alone; an entry
        without a channel means channels.digest; no channel, no digest.
        """
        entries = self.channels or [DigestChannel()]
        targets = []
        for entry in entries:
            channel = entry.channel or config.channels.digest
            if not channel:
                continue
            zone = ZoneInfo(entry.time_zone or self.time_zone)
            targets.append((channel, entry.time or self.time, zone))
        return targets


def _check_channel_id(value: str) -> str:
    if value and not CHANNEL_ID.match(value):
        raise ValueError(
            f"{value!r} is not a Slack channel ID (it looks like C0123ABCD; "
            "copy it from the channel's details)"
        )
    return value


def _check_clock_time(value: str) -> str:
    if not CLOCK_TIME.match(value):
        raise ValueError(f'{value!r} is not a time of day like "08:30"')
    return value


def _check_zone_name(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone (like Europe/Berlin or "
            "America/New_York)"
        ) from None
    return name


class Config(_Strict):
    channels: Channels = Channels()
    team: Team = Team()
    matrix: Matrix
    icp: Icp = Icp()
    engagement: Engagement
    mql: Mql = Mql()
    handoff: Handoff
    routing: Routing = Routing()
    sla: Sla
    digest: Digest = Digest()

    @model_validator(mode="before")
    @classmethod
    def _digest_zone(cls, data):
        # The digest follows the team's business-hours zone unless told not to.
        if isinstance(data, dict):
            digest = data.get("digest")
            digest = dict(digest) if isinstance(digest, dict) else {}
            sla = data.get("sla")
            if "time_zone" not in digest and isinstance(sla, dict):
                zone = sla.get("time_zone")
                if isinstance(zone, str):
                    digest["time_zone"] = zone
                    data = {**data, "digest": digest}
        return data

    def require_slack_setup(self) -> None:
        """Fail if the channels and people a live bot needs are missing."""
        missing = [
            f"channels.{name}"
            for name in ("sql", "nurture", "handoff")
            if not getattr(self.channels, name)
        ]
        missing += [
            f"team.{role}" for role in ("sdrs", "aes") if not getattr(self.team, role)
        ]
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} must be set in the config file (qualify.toml, "
                "or the file QUALIFY_CONFIG names) before the bot can run in "
                "Slack (see the README's configuration reference)."
            )


def normalise_event_name(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


def merge(base: dict, override: dict) -> dict:
    """Merge `override` into `base`: tables key by key, anything else replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None) -> Config:
    """Load the defaults, merge the team's file over them, and validate.

    An explicit path must exist; without one, ./qualify.toml is used when
    present and the shipped defaults otherwise.
    """
    data = _read_toml(DEFAULTS_PATH)
    if path is None and DEFAULT_TEAM_FILE.exists():
        path = DEFAULT_TEAM_FILE
    if path is not None:
        if not path.is_file():
            raise ConfigError(
                f"{path}: no such config file (QUALIFY_CONFIG points here); fix the "
                "path, or unset QUALIFY_CONFIG to use ./qualify.toml or the defaults"
            )
        data = merge(data, _read_toml(path))
    return parse_config(data, origin=str(path) if path else "defaults")


def parse_config(data: dict, origin: str = "config") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, origin)) from None


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None


def _key_path(loc: tuple) -> str:
    """('matrix', 'rules', 'x', 'when', 0) -> 'matrix.rules.x.when[0]'."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key


def _describe(error: ValidationError, origin: str) -> str:
    lines = []
    for problem in error.errors():
        key = _key_path(problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check its spelling against the README)"
        # Validators of a whole table start their message with the sub-key.
        sub_key = SUB_KEY.match(message)
        if sub_key:
            joiner = "" if sub_key["key"].startswith("[") or not key else "."
            key = f"{key}{joiner}{sub_key['key']}"
            message = message[sub_key.end() :]
        lines.append(f"{key}: {message}" if key else message)
    return f"{origin}: invalid configuration:\n  " + "\n  ".join(lines)
