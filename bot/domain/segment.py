"""Segment messages read into the items `ingest` stores.

A body is one message, or `{"batch": [...]}` or a bare list of them, which is
what Segment's HTTP API and its webhook destinations send. Each message is
checked on its own: a bad one is rejected with its place and the reason
(`batch[3].timestamp: ...`) and never costs the others. track and page calls
become events, identify and group calls profiles; alias and screen calls are
refused.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from dateutil.parser import isoparse

from bot.config import Engagement, normalise_event_name
from bot.domain.identity import MAX_IDENTITY, EmailError, normalise_email
from bot.domain.ingest import Item, Person, Profile, TrackedEvent
from bot.domain.leads import DOMAIN, normalise_domain

logger = logging.getLogger(__name__)

SOURCE = "segment"
BAD_URL = "{!r} is not a URL"
TOO_DEEP = "is nested too deeply to store"
UNREADABLE = "could not be read as a Segment message; check its fields' types"
# Properties and traits kept per message, as UTF-8 JSON. Segment caps a
# whole message at 32 KB; an SDR reads a few fields, not a product catalogue.
MAX_PROPERTIES_BYTES = 4096
MAX_EVENT_NAME = 200
MAX_TEXT = 255
MAX_EMPLOYEES = 2**31 - 1
# Clocks drift; a time further ahead than this is a bug in the sender, and
# stored it would count as fresh intent for days.
MAX_AHEAD = timedelta(hours=1)
# Where a message's time is read from, best first. Segment sets timestamp
# (corrected for the device's clock) on everything it forwards.
TIME_FIELDS = ("timestamp", "originalTimestamp", "receivedAt")
TRUNCATED = "_truncated"
TYPES = ("track", "identify", "page", "group")
# Traits read into the lead's own fields; the other plain ones become attributes.
IDENTIFY_TRAITS = frozenset(
    {
        "email",
        "name",
        "firstName",
        "first_name",
        "lastName",
        "last_name",
        "title",
        "company",
        "industry",
        "website",
        "address",
        "country",
    }
)

NOT_JSON = 'the body is not JSON ({}); send one Segment message or {{"batch": [...]}}'
NOT_MESSAGE = (
    'the body is not a Segment message: expected an object with "type" (track, '
    'identify, page, group), an object with "batch" (a list of such objects), or '
    "a list of them"
)
NOT_A_LIST = '"batch" must be a list of messages'
NOT_AN_OBJECT = "a message must be an object, not {}"
BAD_TYPE = "must be one of {} (got {!r})"
NOT_USED = {
    "alias": (
        "alias calls are not used; send an identify call with the person's "
        "email and userId instead"
    ),
    "screen": (
        "screen calls are not used; send a track call for the in-app actions "
        "that show buying intent"
    ),
}
NO_TIME = (
    "is missing; send timestamp (or originalTimestamp) as an ISO 8601 time with "
    "an offset, like 2024-05-01T14:30:00Z (the time of arrival is not used)"
)
NAIVE_TIME = "{!r} has no time zone; add Z or an offset like +02:00"
BAD_TIME = "{!r} is not an ISO 8601 time like 2024-05-01T14:30:00Z"
FUTURE_TIME = "{!r} is more than an hour ahead of the server's clock"
NO_PERSON = (
    "a message needs a userId, an anonymousId or an email in its traits; this "
    "one has none"
)
LONG_ID = f"is longer than {MAX_IDENTITY} characters"
NOT_TEXT = "must be text"
LONG_TEXT = f"is longer than {MAX_TEXT} characters"
NO_EVENT = "is missing; a track call needs the event's name"
LONG_EVENT = f"is longer than {MAX_EVENT_NAME} characters"
BAD_EMPLOYEES = "must be a whole number of people like 250, not {!r}"
NUL = "contains a NUL character (\\u0000), which the database cannot store"
BAD_UNICODE = "contains text that is not valid Unicode (a lone surrogate)"


class BodyError(ValueError):
    """The body as a whole is not JSON or not Segment's; nothing in it is used."""


class _Rejected(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


@dataclass
class ParsedBody:
    """The messages of one body: (index, item) pairs and (index, reason) ones."""

    is_batch: bool
    items: list[tuple[int, Item]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def describe(self, index: int, reason: str, path: str = "") -> str:
        """`reason` prefixed with where it applies: `batch[3].timestamp: ...`."""
        place = f"batch[{index}]" if self.is_batch else ""
        where = ".".join(part for part in (place, path) if part)
        return f"{where}: {reason}" if where else reason


def parse_body(body: bytes, *, engagement: Engagement, now: datetime) -> ParsedBody:
    """Read a request body; raises BodyError when it is not Segment's at all."""
    data = _load_json(body)
    if isinstance(data, dict) and "batch" in data:
        messages = data["batch"]
        if not isinstance(messages, list):
            raise BodyError(NOT_A_LIST)
        parsed = ParsedBody(is_batch=True)
    elif isinstance(data, list) and data:
        # Webhooks (Actions) with batching on, and other tools, send a bare list.
        messages, parsed = data, ParsedBody(is_batch=True)
    elif isinstance(data, dict) and "type" in data:
        messages, parsed = [data], ParsedBody(is_batch=False)
    else:
        raise BodyError(NOT_MESSAGE)

    for index, message in enumerate(messages):
        try:
            parsed.items.append((index, parse_message(message, engagement, now)))
        except _Rejected as rejection:
            reason = parsed.describe(index, rejection.reason, rejection.path)
            parsed.rejected.append((index, reason))
        except (TypeError, ValueError, OverflowError, RecursionError) as error:
            # A shape no check above foresaw: that message is refused, the
            # others still count, and the sender gets a 200 with the reason.
            logger.warning(
                "segment message unreadable index=%s error=%s",
                index,
                type(error).__name__,
            )
            parsed.rejected.append((index, parsed.describe(index, UNREADABLE, "")))
    return parsed


def parse_message(message: Any, engagement: Engagement, now: datetime) -> Item:
    """One Segment message as an event or a profile."""
    if not isinstance(message, dict):
        raise _Rejected("", NOT_AN_OBJECT.format(type(message).__name__))
    _check_text(message)
    kind = message.get("type")
    if not isinstance(kind, str):
        raise _Rejected("type", BAD_TYPE.format(", ".join(TYPES), kind))
    if kind in NOT_USED:
        raise _Rejected("type", NOT_USED[kind])
    if kind not in TYPES:
        raise _Rejected("type", BAD_TYPE.format(", ".join(TYPES), kind))

    occurred_at = _occurred_at(message, now)
    if kind == "track":
        return _track(message, occurred_at)
    if kind == "page":
        return _page(message, occurred_at, engagement)
    if kind == "identify":
        return _identify(message)
    return _group(message)


def _load_json(body: bytes) -> Any:
    def refuse_constant(name: str):
        raise ValueError(f"{name} is not a JSON value")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=refuse_constant)
    except UnicodeDecodeError:
        raise BodyError(NOT_JSON.format("it is not UTF-8 text")) from None
    except RecursionError:
        raise BodyError(NOT_JSON.format("it is nested too deeply")) from None
    except ValueError as error:
        raise BodyError(NOT_JSON.format(error)) from None


def _check_text(message: dict) -> None:
    # Either would make the database refuse the whole request's transaction.
    pending = [message]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
        elif isinstance(value, str):
            if "\x00" in value:
                raise _Rejected("", NUL)
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Rejected("", BAD_UNICODE) from None


def _occurred_at(message: dict, now: datetime) -> datetime:
    name = next((name for name in TIME_FIELDS if message.get(name)), None)
    if name is None:
        raise _Rejected("timestamp", NO_TIME)
    value = message[name]
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        moment = isoparse(value)
        if moment.tzinfo is None:
            raise _Rejected(name, NAIVE_TIME.format(value))
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Rejected(name, BAD_TIME.format(value)) from None
    if moment > now + MAX_AHEAD:
        raise _Rejected(name, FUTURE_TIME.format(value))
    return moment


def _track(message: dict, occurred_at: datetime) -> TrackedEvent:
    event = message.get("event")
    if event is None or (isinstance(event, str) and not event.strip()):
        raise _Rejected("event", NO_EVENT)
    if not isinstance(event, str):
        raise _Rejected("event", NOT_TEXT)
    if len(event) > MAX_EVENT_NAME:
        raise _Rejected("event", LONG_EVENT)

    properties = _object(message, "properties")
    emails = [("context.traits.email", _context_traits(message).get("email"))]
    emails.append(("properties.email", properties.get("email")))
    return TrackedEvent(
        person=_person(message, emails),
        name=normalise_event_name(event),
        occurred_at=occurred_at,
        source=SOURCE,
        source_id=_message_id(message),
        properties=capped(properties),
    )


def _page(message: dict, occurred_at: datetime, engagement: Engagement):
    properties = _object(message, "properties")
    page = _object(_object(message, "context"), "page", "context.page")
    path = _page_path(properties, "properties") or _page_path(page, "context.page")
    for key in ("name", "category"):
        if isinstance(message.get(key), str) and key not in properties:
            properties = {key: message[key], **properties}

    emails = [("context.traits.email", _context_traits(message).get("email"))]
    emails.append(("properties.email", properties.get("email")))
    return TrackedEvent(
        person=_person(message, emails),
        name=(path and engagement.event_for_path(path)) or "page_view",
        occurred_at=occurred_at,
        source=SOURCE,
        source_id=_message_id(message),
        properties=capped(properties),
    )


def _page_path(values: dict, prefix: str) -> str | None:
    path, url = values.get("path"), values.get("url")
    if path is not None and not isinstance(path, str):
        raise _Rejected(f"{prefix}.path", NOT_TEXT)
    if not path and isinstance(url, str):
        try:
            path = urlsplit(url).path
        except ValueError:
            raise _Rejected(f"{prefix}.url", BAD_URL.format(url[:80])) from None
    return path or None


def _identify(message: dict) -> Profile:
    traits = _object(message, "traits")
    emails = [("traits.email", traits.get("email"))]
    emails.append(("context.traits.email", _context_traits(message).get("email")))
    company = traits.get("company")
    if isinstance(company, dict):
        fields = _company_fields(company, "traits.company")
        fields["company"] = _text(company, "name", "traits.company")
    else:
        fields = {"company": _text(traits, "company", "traits")}

    fields["name"] = _text(traits, "name", "traits") or _full_name(traits)
    fields["title"] = _text(traits, "title", "traits")
    fields["industry"] = fields.get("industry") or _text(traits, "industry", "traits")
    fields["domain"] = fields.get("domain") or _domain(traits.get("website"))
    address = _object(traits, "address", "traits.address")
    fields["country"] = _text(address, "country", "traits.address") or _text(
        traits, "country", "traits"
    )
    return Profile(
        person=_person(message, emails),
        fields={name: value for name, value in fields.items() if value},
        attributes=capped(_scalars(traits, exclude=IDENTIFY_TRAITS), mark=False),
    )


def _group(message: dict) -> Profile:
    """The company a person belongs to; the traits are the company's, not theirs."""
    traits = _object(message, "traits")
    # traits.email is the company's address here, never the person's.
    emails = [("context.traits.email", _context_traits(message).get("email"))]
    fields = _company_fields(traits, "traits")
    fields["company"] = _text(traits, "name", "traits")
    attributes = {}
    if isinstance(message.get("groupId"), str | int):
        attributes["segment_group_id"] = str(message["groupId"])
    return Profile(
        person=_person(message, emails),
        fields={name: value for name, value in fields.items() if value},
        attributes=attributes,
    )


def _company_fields(company: dict, prefix: str) -> dict[str, Any]:
    employees = None
    for key in ("employee_count", "employeeCount", "employees"):
        if company.get(key) not in (None, ""):
            employees = _employees(company[key], f"{prefix}.{key}")
            break
    return {
        "industry": _text(company, "industry", prefix),
        "domain": _domain(company.get("website")),
        "employees": employees,
    }


def _person(message: dict, emails: list[tuple[str, Any]]) -> Person:
    user_id = _identifier(message, "userId")
    anonymous_id = _identifier(message, "anonymousId")
    email = None
    for path, value in emails:
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise _Rejected(path, NOT_TEXT)
        try:
            email = normalise_email(value)
        except EmailError as error:
            raise _Rejected(path, str(error)) from None
        break
    if email is None and user_id and "@" in user_id:
        # Some tools send the address as the userId; anything else there is
        # an ID of theirs, even with an @ in it.
        try:
            email = normalise_email(user_id)
        except EmailError:
            pass
    if not (email or user_id or anonymous_id):
        raise _Rejected("", NO_PERSON)
    return Person(email=email, user_id=user_id, anonymous_id=anonymous_id)


def _identifier(message: dict, key: str) -> str | None:
    value = message.get(key)
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, str | int):
        raise _Rejected(key, NOT_TEXT)
    value = str(value).strip()
    if len(value) > MAX_IDENTITY:
        raise _Rejected(key, LONG_ID)
    return value or None


def _message_id(message: dict) -> str | None:
    value = message.get("messageId")
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value) or None
    return None


def _object(values: dict, key: str, path: str | None = None) -> dict:
    value = values.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Rejected(path or key, "must be an object")
    return value


def _context_traits(message: dict) -> dict:
    return _object(_object(message, "context"), "traits", "context.traits")


def _text(values: dict, key: str, prefix: str) -> str:
    value = values.get(key)
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise _Rejected(f"{prefix}.{key}", NOT_TEXT)
    if len(value) > MAX_TEXT:
        raise _Rejected(f"{prefix}.{key}", LONG_TEXT)
    return value.strip()


def _full_name(traits: dict) -> str:
    # Segment takes reserved traits in camelCase or snake_case.
    first, last = (
        _text(traits, camel, "traits") or _text(traits, snake, "traits")
        for camel, snake in (("firstName", "first_name"), ("lastName", "last_name"))
    )
    return " ".join(part for part in (first, last) if part)


def _domain(website: Any) -> str:
    # A website that is not a plain domain ("n/a", an IP) is not worth
    # refusing the person's other traits over; it is left out.
    if not isinstance(website, str):
        return ""
    domain = normalise_domain(website)
    return domain if DOMAIN.match(domain) else ""


def _employees(value: Any, path: str) -> int:
    # isdecimal, not isdigit: "²" is a digit int() refuses. Ten figures is
    # already more than MAX_EMPLOYEES.
    if isinstance(value, str) and value.strip().isdecimal():
        if len(value.strip()) > 10:
            raise _Rejected(path, BAD_EMPLOYEES.format(value[:20]))
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Rejected(path, BAD_EMPLOYEES.format(value))
    if not 0 <= value <= MAX_EMPLOYEES:
        raise _Rejected(path, BAD_EMPLOYEES.format(value))
    return value


def _scalars(values: dict, *, exclude: frozenset[str]) -> dict[str, Any]:
    return {
        key: value
        for key, value in values.items()
        if key not in exclude and isinstance(value, str | int | float | bool)
    }


def capped(values: dict[str, Any], *, mark: bool = True) -> dict[str, Any]:
    """`values` if small enough to store, else the top-level values that fit.

    Nested objects are left out first; `_truncated: true` says so.
    """
    if _size(values) <= MAX_PROPERTIES_BYTES:
        return values
    kept, budget = {}, MAX_PROPERTIES_BYTES - _size({TRUNCATED: True})
    for key, value in values.items():
        if isinstance(value, dict | list) or value is None:
            continue
        cost = _size({key: value})
        if cost <= budget:
            kept[key] = value
            budget -= cost
    if mark:
        kept[TRUNCATED] = True
    return kept


def _size(values: dict) -> int:
    try:
        return len(json.dumps(values, ensure_ascii=False).encode("utf-8"))
    except RecursionError:
        raise _Rejected("properties", TOO_DEEP) from None
