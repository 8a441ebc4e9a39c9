from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.db import session_scope
from bot.domain.ingest import Person, Profile, TrackedEvent, ingest
from bot.models import Event, Lead, LeadIdentity, LeadMoment, Mql
from tests.factories import add_lead

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def track(name="pricing_page_view", *, minutes_ago=5, source_id=None, **person):
    return TrackedEvent(
        person=Person(**person),
        name=name,
        occurred_at=NOW - timedelta(minutes=minutes_ago),
        source="segment",
        source_id=source_id,
    )


def run(engine, config, *items):
    with session_scope(engine) as session:
        return ingest(list(enumerate(items)), session=session, config=config, now=NOW)


def count(engine, model, *where) -> int:
    with session_scope(engine) as session:
        statement = select(func.count()).select_from(model)
        return session.scalar(statement.where(*where))


def test_an_event_for_an_unknown_email_creates_the_lead(engine, config):
    result = run(engine, config, track(email="new.person@initech.example"))

    assert (result.stored, result.created_leads, result.rejected) == (1, 1, [])
    with session_scope(engine) as session:
        lead = session.scalars(select(Lead)).one()
    assert (lead.email, lead.domain) == (
        "new.person@initech.example",
        "initech.example",
    )


def test_a_personal_mailbox_does_not_become_the_company_domain(engine, config):
    run(engine, config, track(email="sam@gmail.com"))

    with session_scope(engine) as session:
        assert session.scalars(select(Lead.domain)).one() == ""


def test_the_same_message_twice_is_stored_once(engine, config):
    event = track(email="dana@northwind.example", source_id="msg-1")

    first = run(engine, config, event)
    again = run(engine, config, event)

    assert (first.stored, again.stored, again.duplicates) == (1, 0, 1)
    assert count(engine, Event) == 1


def test_events_without_an_id_are_deduplicated_by_content(engine, config):
    add_lead(engine)
    event = track(email="dana@northwind.example")

    run(engine, config, event, event)

    assert count(engine, Event) == 1


def test_an_identify_links_an_anonymous_id_sent_earlier_in_the_batch(engine, config):
    anonymous = track(anonymous_id="anon-7")
    identify = Profile(
        person=Person(email="ana@acme.example", anonymous_id="anon-7"),
        fields={"name": "Ana Lopez", "company": "Acme", "employees": 800},
    )

    result = run(engine, config, anonymous, identify)

    assert (result.stored, result.profiles, result.rejected) == (1, 1, [])
    with session_scope(engine) as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.name, lead.company, lead.employees) == ("Ana Lopez", "Acme", 800)
        assert session.scalars(select(Event.lead_id)).one() == lead.id


def test_a_user_id_linked_once_finds_the_lead_later(engine, config):
    run(engine, config, Profile(person=Person(email="ana@acme.example", user_id="u1")))

    result = run(engine, config, track(user_id="u1"))

    assert (result.stored, result.rejected) == (1, [])
    assert count(engine, LeadIdentity) == 1


def test_an_event_naming_nobody_known_is_rejected_with_its_position(engine, config):
    add_lead(engine)

    result = run(
        engine,
        config,
        track(email="dana@northwind.example"),
        track(anonymous_id="never-identified"),
    )

    assert result.stored == 1
    assert [position for position, _ in result.rejected] == [1]
    assert "identify" in result.rejected[0][1]


def test_a_demo_request_makes_an_unclaimed_lead_an_mql_once(engine, config):
    add_lead(engine)
    demo = [
        track("demo_request", email="dana@northwind.example", minutes_ago=n)
        for n in range(10)
    ]

    first = run(engine, config, *demo)
    second = run(engine, config, track("demo_request", email="dana@northwind.example"))

    assert len(first.new_mql_ids) == 1
    assert second.new_mql_ids == []
    assert count(engine, Mql) == 1
    assert count(engine, LeadMoment, LeadMoment.kind == "mql") == 1


def test_high_intent_from_a_claimed_lead_records_an_alert_for_its_sdr(engine, config):
    lead_id = add_lead(engine, sdr_user_id="USDR1")

    result = run(engine, config, track("demo_request", email="dana@northwind.example"))

    assert (result.alerts, result.new_mql_ids) == (1, [])
    with session_scope(engine) as session:
        moment = session.scalars(select(LeadMoment)).one()
    assert (moment.lead_id, moment.kind, moment.user_id) == (
        lead_id,
        "high_intent",
        "USDR1",
    )
    assert moment.at == NOW - timedelta(minutes=5)
    assert moment.notified_at is None


def test_pricing_after_a_comparison_is_high_intent_but_a_web_visit_is_not(
    engine, config
):
    add_lead(engine, sdr_user_id="USDR1")
    email = "dana@northwind.example"

    visit = run(engine, config, track("page_view", email=email))
    compared = run(engine, config, track("g2_profile_view", email=email, minutes_ago=4))
    priced = run(engine, config, track("pricing_page", email=email, minutes_ago=3))

    assert (visit.alerts, compared.alerts, priced.alerts) == (0, 0, 1)


def test_a_late_backfill_of_old_intent_alerts_nobody(engine, config):
    add_lead(engine, sdr_user_id="USDR1")

    result = run(
        engine,
        config,
        track("demo_request", email="dana@northwind.example", minutes_ago=3 * 24 * 60),
    )

    assert (result.stored, result.alerts) == (1, 0)
