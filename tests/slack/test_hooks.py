"""POST /hooks/events over real HTTP: signed Segment calls stored once per lead."""

import hashlib
import hmac
import json
import logging
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlmodel import select

from bot.db import session_scope, utcnow
from bot.models import Event, Lead, LeadIdentity, Mql
from tests.factories import add_lead
from tests.slack.harness import SlackHarness, segment_signature

SECRET = "hooks-secret-0123456789abcdef"
QUEUE = "CQUEUE"
EMAIL = "dana@northwind.example"


@pytest.fixture
def team_config(team_config):
    channels = team_config.channels.model_copy(update={"queue": QUEUE})
    return team_config.model_copy(update={"channels": channels})


@pytest.fixture
def hooks(fake_slack, team_config, engine):
    harness = SlackHarness(fake_slack, team_config, engine, hooks_secret=SECRET)
    yield harness
    harness.stop()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _track(event: str, email: str = EMAIL, minutes_ago: float = 0, **fields) -> dict:
    message = {
        "type": "track",
        "event": event,
        "messageId": str(uuid.uuid4()),
        "timestamp": _iso(utcnow() - timedelta(minutes=minutes_ago)),
        "context": {"traits": {"email": email}},
    }
    return {**message, **fields}


def _events(engine) -> list[tuple[str, str, datetime]]:
    """(lead email, event name, occurred_at) of every stored event."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Lead.email, Event.name, Event.occurred_at)
            .join(Lead, Lead.id == Event.lead_id)
            .order_by(Event.occurred_at, Event.id)
        )
        return [tuple(row) for row in rows]


def _leads(engine) -> list[Lead]:
    with session_scope(engine) as session:
        return list(session.exec(select(Lead).order_by(Lead.id)))


def _mqls(engine) -> list[Mql]:
    with session_scope(engine) as session:
        return list(session.exec(select(Mql)))


def test_a_signed_track_call_is_stored_for_its_lead(hooks, engine, caplog):
    add_lead(engine)
    caplog.set_level(logging.INFO, logger="bot")

    response = hooks.post_hook(_track("Email Clicked", properties={"campaign": "q3"}))

    assert response.status_code == 200
    assert response.json() == {
        "stored": 1,
        "duplicates": 0,
        "profiles": 0,
        "rejected": [],
    }
    assert [(email, name) for email, name, _ in _events(engine)] == [
        (EMAIL, "email_clicked")
    ]
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.web"]
    assert len(lines) == 1
    assert lines[0].startswith("hook events stored=1 duplicates=0 profiles=0 ")
    assert "dana" not in caplog.text and "q3" not in caplog.text


def test_a_batch_of_identify_page_and_track_fills_the_lead_and_its_events(
    hooks, engine
):
    now = utcnow()
    batch = [
        {
            "type": "identify",
            "userId": "u-42",
            "messageId": "m-1",
            "timestamp": _iso(now - timedelta(minutes=3)),
            "traits": {
                "email": "Ana.Lopez@Acme.example",
                "firstName": "Ana",
                "lastName": "Lopez",
                "title": "Head of RevOps",
                "company": {
                    "name": "Acme",
                    "industry": "Software",
                    "employee_count": 250,
                },
                "address": {"country": "US"},
                "plan": "trial",
            },
        },
        {
            "type": "page",
            "userId": "u-42",
            "messageId": "m-2",
            "timestamp": _iso(now - timedelta(minutes=2)),
            "name": "Pricing",
            "properties": {"path": "/pricing", "url": "https://acme.example/pricing"},
        },
        {
            "type": "track",
            "userId": "u-42",
            "messageId": "m-3",
            "timestamp": _iso(now - timedelta(minutes=1)),
            "event": "Content Downloaded",
        },
    ]

    response = hooks.post_hook({"batch": batch})

    assert response.json() == {
        "stored": 2,
        "duplicates": 0,
        "profiles": 1,
        "rejected": [],
    }
    (lead,) = _leads(engine)
    assert (lead.email, lead.name, lead.title, lead.company) == (
        "ana.lopez@acme.example",
        "Ana Lopez",
        "Head of RevOps",
        "Acme",
    )
    assert (lead.domain, lead.industry, lead.employees, lead.country) == (
        "acme.example",
        "Software",
        250,
        "US",
    )
    assert lead.attributes == {"plan": "trial"}
    assert [name for _, name, _ in _events(engine)] == [
        "pricing_page_view",
        "content_downloaded",
    ]


def test_anonymous_page_views_go_to_the_lead_an_identify_later_in_the_batch_names(
    hooks, engine
):
    now = utcnow()
    page = {
        "type": "page",
        "anonymousId": "anon-7",
        "timestamp": _iso(now - timedelta(minutes=5)),
        "properties": {"url": "https://northwind.example/solutions/routing"},
    }
    identify = {
        "type": "identify",
        "anonymousId": "anon-7",
        "timestamp": _iso(now),
        "traits": {"email": EMAIL},
    }

    response = hooks.post_hook({"batch": [page, identify]})

    assert response.json()["stored"] == 1
    assert [(email, name) for email, name, _ in _events(engine)] == [
        (EMAIL, "solutions_page_view")
    ]
    (lead,) = _leads(engine)
    with session_scope(engine) as session:
        identity = session.get(LeadIdentity, ("anonymous_id", "anon-7"))
    assert identity.lead_id == lead.id


def test_an_anonymous_id_nobody_identified_is_rejected_with_what_to_send(hooks, engine):
    page = {
        "type": "page",
        "anonymousId": "anon-never",
        "timestamp": _iso(utcnow()),
        "properties": {"path": "/pricing"},
    }

    response = hooks.post_hook({"batch": [page]})

    assert response.json()["rejected"] == [
        {
            "index": 0,
            "reason": "batch[0]: no email, and its userId/anonymousId is not linked "
            "to one yet (send an identify call with the person's email first)",
        }
    ]
    assert _leads(engine) == []


def test_events_for_an_unknown_email_create_the_lead(hooks, engine):
    response = hooks.post_hook(
        _track("pricing_page", email="New.Person@Globex.example")
    )

    assert response.json()["stored"] == 1
    (lead,) = _leads(engine)
    assert (lead.email, lead.domain) == ("new.person@globex.example", "globex.example")


def test_a_forged_signature_gets_401_and_stores_nothing(hooks, engine, caplog):
    body = json.dumps(_track("demo_request")).encode()
    forged = segment_signature(body, "not-the-shared-secret-at-all")

    response = hooks.post_hook(body, signature=forged)

    assert response.status_code == 401
    assert response.json() == {
        "error": "X-Signature does not match the body; check that the sender uses "
        "the same shared secret as HOOKS_SECRET and signs the body exactly as sent"
    }
    assert _leads(engine) == [] and _events(engine) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "hook events refused status=401 reason=mismatch"
    ]


def test_a_missing_signature_gets_401_and_stores_nothing(hooks, engine):
    response = hooks.post_hook(_track("demo_request"), signature="")

    assert response.status_code == 401
    assert response.json()["error"].startswith("the X-Signature header is missing")
    assert _leads(engine) == []


def test_a_signature_with_an_unknown_algorithm_prefix_gets_401(hooks, engine):
    body = json.dumps(_track("demo_request")).encode()
    sha512 = hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest()

    response = hooks.post_hook(body, signature=f"sha512={sha512}")

    assert response.status_code == 401
    assert response.json()["error"].startswith(
        "X-Signature names an algorithm this server does not take"
    )
    assert _leads(engine) == []


def test_a_sha256_digest_without_its_prefix_does_not_pass_for_sha1(hooks, engine):
    body = json.dumps(_track("demo_request")).encode()
    sha256 = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    response = hooks.post_hook(body, signature=sha256)

    assert response.status_code == 401
    assert _leads(engine) == []


def test_a_sha256_signature_with_its_prefix_is_accepted(hooks, engine):
    body = json.dumps(_track("demo_request")).encode()
    sha256 = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    response = hooks.post_hook(body, signature=f"sha256={sha256.upper()}")

    assert response.status_code == 200
    assert len(_events(engine)) == 1


def test_a_replayed_body_stores_nothing_new_and_says_so(hooks, engine):
    body = json.dumps({"batch": [_track("email_click"), _track("pricing_page")]})

    first = hooks.post_hook(body.encode())
    again = hooks.post_hook(body.encode())

    assert first.json()["stored"] == 2
    assert again.json() == {
        "stored": 0,
        "duplicates": 2,
        "profiles": 0,
        "rejected": [],
    }
    assert len(_events(engine)) == 2


@pytest.fixture
def small_hooks(fake_slack, team_config, engine):
    harness = SlackHarness(
        fake_slack, team_config, engine, hooks_secret=SECRET, hooks_max_bytes=4096
    )
    yield harness
    harness.stop()


def _padded_batch(size: int) -> bytes:
    """A valid batch of just over `size` bytes."""
    events = [_track("email_click", properties={"note": "x" * 500}) for _ in range(12)]
    body = json.dumps({"batch": events}).encode()
    assert len(body) > size
    return body


def test_an_oversized_body_gets_413_and_stores_nothing(small_hooks, engine):
    response = small_hooks.post_hook(_padded_batch(4096))

    assert response.status_code == 413
    assert response.json() == {
        "error": "the body is larger than 4,096 bytes (HOOKS_MAX_BYTES); send fewer "
        "messages per batch"
    }
    assert _leads(engine) == [] and _events(engine) == []


def test_an_oversized_chunked_body_without_a_length_gets_413(small_hooks, engine):
    body = _padded_batch(4096)
    chunks = [body[start : start + 1000] for start in range(0, len(body), 1000)]
    signature = segment_signature(body, SECRET)

    response = httpx.post(
        f"{small_hooks.base_url}/hooks/events",
        content=iter(chunks),
        headers={"X-Signature": signature, "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert _events(engine) == []


def test_a_partly_bad_batch_stores_the_good_and_lists_the_bad(hooks, engine):
    no_time = _track("email_click")
    del no_time["timestamp"]
    batch = [
        _track("email_click"),
        no_time,
        {**_track("pricing_page"), "timestamp": "2024-05-01 14:30"},
        {"type": "alias", "userId": "u-1", "previousId": "anon-1"},
        _track("webinar_attended"),
        _track("demo_request", email="not-an-address"),
    ]

    response = hooks.post_hook({"batch": batch})

    assert response.status_code == 200
    assert response.json() == {
        "stored": 2,
        "duplicates": 0,
        "profiles": 0,
        "rejected": [
            {
                "index": 1,
                "reason": "batch[1].timestamp: is missing; send timestamp (or "
                "originalTimestamp) as an ISO 8601 time with an offset, like "
                "2024-05-01T14:30:00Z (the time of arrival is not used)",
            },
            {
                "index": 2,
                "reason": "batch[2].timestamp: '2024-05-01 14:30' has no time zone; "
                "add Z or an offset like +02:00",
            },
            {
                "index": 3,
                "reason": "batch[3].type: alias calls are not used; send an identify "
                "call with the person's email and userId instead",
            },
            {
                "index": 5,
                "reason": "batch[5].context.traits.email: not an email address like "
                "ana@acme.com: it has no @",
            },
        ],
    }
    assert sorted(name for _, name, _ in _events(engine)) == [
        "email_click",
        "webinar_attended",
    ]


def test_timestamps_with_offsets_are_stored_as_the_same_moment_in_utc(hooks, engine):
    moment = utcnow().replace(microsecond=0) - timedelta(hours=3)
    batch = [
        {**_track("email_click"), "timestamp": _with_offset(moment, 2)},
        {**_track("email_open"), "timestamp": _with_offset(moment, -5)},
    ]

    response = hooks.post_hook({"batch": batch})

    assert batch[0]["timestamp"].endswith("+02:00")
    assert response.json()["stored"] == 2
    assert [occurred_at for _, _, occurred_at in _events(engine)] == [moment, moment]


def _with_offset(moment: datetime, hours: int) -> str:
    """`moment` written in UTC+hours' local time, like 2024-05-01T16:30:00+02:00."""
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat()


def test_a_single_message_without_a_timestamp_is_rejected_with_its_index(hooks, engine):
    message = _track("demo_request")
    del message["timestamp"]

    response = hooks.post_hook(message)

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert response.json()["rejected"] == [
        {
            "index": 0,
            "reason": "timestamp: is missing; send timestamp (or originalTimestamp) "
            "as an ISO 8601 time with an offset, like 2024-05-01T14:30:00Z (the time "
            "of arrival is not used)",
        }
    ]
    assert _leads(engine) == []


def test_a_compressed_body_gets_415_saying_to_send_it_plain(hooks, engine):
    body = json.dumps(_track("demo_request")).encode()

    response = hooks.post_hook(body, headers={"Content-Encoding": "gzip"})

    assert response.status_code == 415
    assert response.json() == {
        "error": "Content-Encoding 'gzip' is not supported; send the body uncompressed"
    }
    assert _leads(engine) == []


def test_a_body_that_is_not_json_gets_400(hooks, engine):
    response = hooks.post_hook(b"type=track&event=demo")

    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not JSON (")


def test_json_that_is_not_a_segment_message_gets_400(hooks, engine):
    response = hooks.post_hook({"event": "demo_request"})

    assert response.status_code == 400
    assert response.json() == {
        "error": 'the body is not a Segment message: expected an object with "type" '
        '(track, identify, page, group), an object with "batch" (a list of such '
        "objects), or a list of them"
    }


def test_without_a_secret_the_endpoint_answers_503_and_stores_nothing(slack, engine):
    body = json.dumps(_track("demo_request")).encode()

    response = slack.post_hook(body, signature=segment_signature(body, "anything"))

    assert response.status_code == 503
    assert response.json() == {
        "error": "live events are off: HOOKS_SECRET is not set on the server. Set "
        "it to the shared secret the sender signs with, then restart."
    }
    assert _leads(engine) == []


def test_ten_requests_at_once_for_one_new_lead_make_one_mql_posted_once(
    hooks, engine, fake_slack
):
    bodies = [json.dumps(_track("demo_request")).encode() for _ in range(10)]
    start = threading.Barrier(len(bodies))
    statuses = []

    def send(body: bytes) -> None:
        start.wait()
        statuses.append(hooks.post_hook(body, drain=False).status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    hooks.drain()

    assert statuses == [200] * 10
    assert len(_leads(engine)) == 1
    assert len(_events(engine)) == 10
    (mql,) = _mqls(engine)
    assert mql.reason == "hand_raiser"
    assert len(fake_slack.posts_to(QUEUE)) == 1


def test_concurrent_batches_about_the_same_people_in_any_order_never_deadlock(
    hooks, engine, caplog
):
    emails = [f"person{number}@acme{number}.example" for number in range(5)]
    shuffler = random.Random(3)
    bodies = []
    for request in range(10):
        batch = []
        for email in shuffler.sample(emails, len(emails)):
            batch.append(
                {
                    "type": "identify",
                    "userId": f"user-{email[:7]}",
                    "timestamp": _iso(utcnow()),
                    "traits": {"email": email, "title": f"Title {request}"},
                }
            )
            batch.append(_track("pricing_page", email=email))
        bodies.append(json.dumps({"batch": batch}).encode())
    start = threading.Barrier(len(bodies))
    statuses = []

    def send(body: bytes) -> None:
        start.wait()
        statuses.append(hooks.post_hook(body, drain=False).status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    with caplog.at_level(logging.WARNING, logger="bot.web"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    hooks.drain()

    assert statuses == [200] * 10
    assert len(_events(engine)) == 50
    assert "retried" not in caplog.text
