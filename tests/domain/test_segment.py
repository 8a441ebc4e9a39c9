"""Segment messages read into events and profiles, and the reasons for refusals."""

import json
from datetime import UTC, datetime

import pytest

from bot.domain.ingest import Person, Profile, TrackedEvent
from bot.domain.segment import (
    MAX_PROPERTIES_BYTES,
    BodyError,
    capped,
    parse_body,
)

NOW = datetime(2024, 5, 1, 15, 0, tzinfo=UTC)
AT = "2024-05-01T14:30:00Z"


def _parse(body, engagement):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_body(raw, engagement=engagement, now=NOW)


def _one(message: dict, engagement):
    parsed = _parse(message, engagement)
    assert parsed.rejected == []
    ((index, item),) = parsed.items
    assert index == 0
    return item


def _reasons(messages: list, engagement) -> list[str]:
    return [reason for _, reason in _parse({"batch": messages}, engagement).rejected]


@pytest.fixture
def engagement(config):
    return config.engagement


def test_a_track_call_becomes_an_event_named_in_snake_case(engagement):
    message = {
        "type": "track",
        "event": "Demo Requested",
        "userId": "u-1",
        "messageId": "msg-1",
        "timestamp": "2024-05-01T16:30:00+02:00",
        "properties": {"plan": "team"},
    }

    event = _one(message, engagement)

    assert event == TrackedEvent(
        person=Person(user_id="u-1"),
        name="demo_requested",
        occurred_at=datetime(2024, 5, 1, 14, 30, tzinfo=UTC),
        source="segment",
        source_id="msg-1",
        properties={"plan": "team"},
    )


def test_an_email_comes_from_context_traits_then_properties_then_the_user_id(
    engagement,
):
    base = {"type": "track", "event": "x", "timestamp": AT}

    from_context = _one(
        {**base, "context": {"traits": {"email": " Ana@Acme.com "}}}, engagement
    )
    from_properties = _one({**base, "properties": {"email": "bo@acme.com"}}, engagement)
    from_user_id = _one({**base, "userId": "Cy@Acme.com"}, engagement)
    plain_user_id = _one({**base, "userId": "team@acme"}, engagement)

    assert from_context.person.email == "ana@acme.com"
    assert from_properties.person.email == "bo@acme.com"
    assert from_user_id.person == Person(email="cy@acme.com", user_id="Cy@Acme.com")
    assert plain_user_id.person == Person(user_id="team@acme")


def test_a_page_view_is_named_by_the_signal_its_path_matches(engagement):
    def page(properties: dict) -> str:
        message = {"type": "page", "anonymousId": "a", "timestamp": AT}
        return _one({**message, "properties": properties}, engagement).name

    assert page({"path": "/pricing"}) == "pricing_page_view"
    assert page({"url": "https://acme.example/demo?utm=x"}) == "demo_request"
    assert page({"path": "/blog/how-to"}) == "web_visit"
    assert page({}) == "page_view"


def test_a_page_view_keeps_its_name_among_its_properties(engagement):
    message = {
        "type": "page",
        "anonymousId": "a",
        "timestamp": AT,
        "name": "Pricing",
        "properties": {"path": "/pricing", "title": "Plans"},
    }

    event = _one(message, engagement)

    assert event.properties == {"name": "Pricing", "path": "/pricing", "title": "Plans"}


def test_identify_traits_fill_the_lead_fields_in_either_case_style(engagement):
    message = {
        "type": "identify",
        "userId": "u-9",
        "anonymousId": "anon-9",
        "timestamp": AT,
        "traits": {
            "email": "ana@acme.example",
            "first_name": "Ana",
            "lastName": "Lopez",
            "title": "CFO",
            "company": {"name": "Acme", "industry": "Fintech", "employeeCount": "80"},
            "website": "https://www.acme.example/about",
            "address": {"city": "Austin", "country": "US"},
            "plan": "trial",
            "logins": 5,
            "tags": ["a", "b"],
        },
    }

    profile = _one(message, engagement)

    assert profile == Profile(
        person=Person("ana@acme.example", "u-9", "anon-9"),
        fields={
            "industry": "Fintech",
            "employees": 80,
            "company": "Acme",
            "name": "Ana Lopez",
            "title": "CFO",
            "domain": "acme.example",
            "country": "US",
        },
        attributes={"plan": "trial", "logins": 5},
    )


def test_a_company_given_as_text_is_the_company_name(engagement):
    message = {
        "type": "identify",
        "userId": "u-9",
        "timestamp": AT,
        "traits": {"company": "Acme", "industry": "Retail", "website": "n/a"},
    }

    profile = _one(message, engagement)

    assert profile.fields == {"company": "Acme", "industry": "Retail"}


def test_group_traits_describe_the_company_and_never_give_the_persons_email(
    engagement,
):
    message = {
        "type": "group",
        "userId": "u-9",
        "groupId": "g-1",
        "timestamp": AT,
        "traits": {
            "name": "Acme",
            "email": "billing@acme.example",
            "industry": "Software",
            "employees": 420,
            "website": "acme.example",
        },
    }

    profile = _one(message, engagement)

    assert profile == Profile(
        person=Person(user_id="u-9"),
        fields={
            "industry": "Software",
            "domain": "acme.example",
            "employees": 420,
            "company": "Acme",
        },
        attributes={"segment_group_id": "g-1"},
    )


def test_the_time_falls_back_to_original_timestamp_then_received_at(engagement):
    base = {"type": "track", "event": "x", "userId": "u"}

    original = _one(
        {**base, "originalTimestamp": "2024-05-01T10:00:00-04:00"}, engagement
    )
    received = _one({**base, "receivedAt": "2024-05-01T13:00:00.250Z"}, engagement)

    assert original.occurred_at == datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
    assert received.occurred_at == datetime(2024, 5, 1, 13, 0, 0, 250000, tzinfo=UTC)


def test_unusable_times_are_refused_naming_the_field(engagement):
    base = {"type": "track", "event": "x", "userId": "u"}

    reasons = _reasons(
        [
            {**base, "timestamp": "yesterday"},
            {**base, "originalTimestamp": 1714573800},
            {**base, "timestamp": "2024-05-01T14:30:00"},
            {**base, "timestamp": "2024-05-01T17:00:00+00:00"},
        ],
        engagement,
    )

    assert reasons == [
        "batch[0].timestamp: 'yesterday' is not an ISO 8601 time like "
        "2024-05-01T14:30:00Z",
        "batch[1].originalTimestamp: 1714573800 is not an ISO 8601 time like "
        "2024-05-01T14:30:00Z",
        "batch[2].timestamp: '2024-05-01T14:30:00' has no time zone; add Z or an "
        "offset like +02:00",
        "batch[3].timestamp: '2024-05-01T17:00:00+00:00' is more than an hour ahead "
        "of the server's clock",
    ]


def test_calls_qualify_does_not_use_are_refused_with_what_to_send_instead(
    engagement,
):
    base = {"userId": "u", "timestamp": AT}

    reasons = _reasons(
        [
            {**base, "type": "alias", "previousId": "anon"},
            {**base, "type": "screen", "name": "Home"},
            {**base, "type": "Track", "event": "x"},
            {**base},
            "track",
        ],
        engagement,
    )

    assert reasons == [
        "batch[0].type: alias calls are not used; send an identify call with the "
        "person's email and userId instead",
        "batch[1].type: screen calls are not used; send a track call for the in-app "
        "actions that show buying intent",
        "batch[2].type: must be one of track, identify, page, group (got 'Track')",
        "batch[3].type: must be one of track, identify, page, group (got None)",
        "batch[4]: a message must be an object, not str",
    ]


def test_bad_fields_are_refused_with_their_path(engagement):
    base = {"type": "track", "event": "x", "timestamp": AT}

    reasons = _reasons(
        [
            {**base, "context": {"traits": {"email": "ana@"}}},
            {**base, "userId": "u", "properties": ["a"]},
            {"type": "track", "timestamp": AT, "userId": "u"},
            {**base},
            {**base, "userId": "u" * 201},
            {
                "type": "identify",
                "userId": "u",
                "timestamp": AT,
                "traits": {"company": {"employee_count": "lots"}},
            },
            {**base, "userId": "u", "properties": {"notes": ["a\x00b"]}},
            {**base, "userId": "u", "properties": {"note": "\ud800"}},
        ],
        engagement,
    )

    assert reasons[0].startswith(
        "batch[0].context.traits.email: not an email address like ana@acme.com: "
    )
    assert reasons[1:] == [
        "batch[1].properties: must be an object",
        "batch[2].event: is missing; a track call needs the event's name",
        "batch[3]: a message needs a userId, an anonymousId or an email in its "
        "traits; this one has none",
        "batch[4].userId: is longer than 200 characters",
        "batch[5].traits.company.employee_count: must be a whole number of people "
        "like 250, not 'lots'",
        "batch[6]: contains a NUL character (\\u0000), which the database cannot store",
        "batch[7]: contains text that is not valid Unicode (a lone surrogate)",
    ]


def test_a_bare_list_of_messages_is_read_as_a_batch(engagement):
    track = {"type": "track", "event": "x", "userId": "u", "timestamp": AT}

    parsed = _parse([track, {**track, "event": ""}], engagement)

    assert [index for index, _ in parsed.items] == [0]
    assert parsed.rejected == [
        (1, "batch[1].event: is missing; a track call needs the event's name")
    ]


def test_a_single_message_is_refused_without_a_batch_index(engagement):
    parsed = _parse({"type": "track", "userId": "u", "timestamp": AT}, engagement)

    assert parsed.rejected == [
        (0, "event: is missing; a track call needs the event's name")
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\xff\xfe", "the body is not JSON (it is not UTF-8 text)"),
        (b'{"type": "track", "n": NaN}', "the body is not JSON (NaN is not a JSON"),
        (b"[" * 100_000, "the body is not JSON (it is nested too deeply)"),
        (b"[]", "the body is not a Segment message"),
        (b'{"batch": {"type": "track"}}', '"batch" must be a list of messages'),
    ],
)
def test_a_body_that_is_not_segment_json_is_refused_whole(body, error, engagement):
    with pytest.raises(BodyError) as raised:
        _parse(body, engagement)

    assert str(raised.value).startswith(error)


def test_large_properties_keep_the_small_top_level_values_and_say_so():
    properties = {
        "path": "/pricing",
        "cart": [{"sku": n} for n in range(500)],
        "html": "x" * 5000,
        "plan": "team",
    }

    kept = capped(properties)

    assert kept == {"path": "/pricing", "plan": "team", "_truncated": True}


def test_properties_at_the_limit_are_kept_whole():
    properties = {"note": "x" * (MAX_PROPERTIES_BYTES - len('{"note": ""}'))}

    assert capped(properties) is properties
    assert capped({**properties, "n": 1}) == {"n": 1, "_truncated": True}


def test_messages_of_shapes_nobody_foresaw_are_rejected_alone(engagement):
    good = {
        "type": "track",
        "event": "Demo Requested",
        "messageId": "m-1",
        "timestamp": AT,
        "context": {"traits": {"email": "ana@acme.com"}},
    }
    identify = {"type": "identify", "timestamp": AT, "userId": "ana@acme.com"}
    batch = [
        good,
        {**good, "type": ["track"]},
        {**good, "type": {}},
        {"type": "page", "timestamp": AT, "properties": {"url": "http://[x/p"}},
        {**identify, "traits": {"company": {"name": "c", "employees": "²"}}},
        {**identify, "traits": {"company": {"name": "c", "employees": "9" * 5000}}},
    ]

    parsed = _parse({"batch": batch}, engagement)

    assert [index for index, _ in parsed.items] == [0]
    assert [index for index, _ in parsed.rejected] == [1, 2, 3, 4, 5]
    assert parsed.rejected[2][1].startswith("batch[3].properties.url:")
