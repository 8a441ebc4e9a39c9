"""MQLs: who crosses the bar, the queue's status changes, and one claim wins."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.db import session_scope
from bot.domain import mql as mqls
from bot.domain.ingest import Person, TrackedEvent, ingest
from bot.models import Lead, LeadMoment, Mql
from tests.factories import add_events, add_lead

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _detect(engine, config, lead_id: int, now: datetime = NOW) -> list[Mql]:
    with session_scope(engine) as session:
        return mqls.detect_mqls([lead_id], session=session, config=config, now=now)


def _moments(engine, kind: str) -> list[LeadMoment]:
    with session_scope(engine) as session:
        statement = select(LeadMoment).where(LeadMoment.kind == kind)
        return list(session.exec(statement.order_by(LeadMoment.id)))


def _new_mql(engine, config) -> int:
    lead_id = add_lead(engine)
    add_events(engine, lead_id, ("demo_request", 0.1), now=NOW)
    (mql,) = _detect(engine, config, lead_id)
    return mql.id


def _event(name: str, at: datetime, source_id: str) -> tuple[int, TrackedEvent]:
    person = Person(email="dana@northwind.example")
    return 0, TrackedEvent(person, name, at, source="segment", source_id=source_id)


def test_engagement_and_fit_at_the_bar_make_an_mql_with_its_signals(engine, config):
    lead_id = add_lead(engine)
    add_events(engine, lead_id, ("pricing_page_view", 1), ("pricing_page", 2), now=NOW)

    (mql,) = _detect(engine, config, lead_id)

    assert (mql.reason, mql.engagement_level, mql.fit_level) == ("score", 2, 3)
    assert mql.signals == ["pricing page ×2 this week"]
    assert mql.status == "new"
    (moment,) = _moments(engine, "mql")
    assert (moment.lead_id, moment.at) == (lead_id, NOW)
    assert moment.detail == {"mql_id": mql.id, "reason": "score"}


def test_engagement_below_the_bar_makes_no_mql(engine, config):
    lead_id = add_lead(engine)
    add_events(engine, lead_id, ("pricing_page_view", 1), now=NOW)

    assert _detect(engine, config, lead_id) == []


def test_fit_below_the_bar_makes_no_mql_however_engaged(engine, config):
    lead_id = add_lead(engine, industry="Mining", country="BR")
    add_events(engine, lead_id, *[("pricing_page_view", 1)] * 4, now=NOW)

    assert _detect(engine, config, lead_id) == []


def test_a_demo_request_from_a_lead_of_unknown_fit_is_a_hand_raiser(engine, config):
    lead_id = add_lead(engine, industry="", employees=None, country="")
    add_events(engine, lead_id, ("demo_request", 0.5), now=NOW)

    (mql,) = _detect(engine, config, lead_id)

    assert (mql.reason, mql.fit_level) == ("hand_raiser", None)
    assert mql.signals == ["demo request ×1 this week"]


def test_a_demo_request_older_than_the_hand_raiser_days_is_no_hand_raise(
    engine, config
):
    lead_id = add_lead(engine, industry="", employees=None, country="")
    add_events(engine, lead_id, ("demo_request", 8), now=NOW)

    assert _detect(engine, config, lead_id) == []


def test_a_lead_already_claimed_is_not_detected_again(engine, config):
    lead_id = add_lead(engine)
    add_events(engine, lead_id, ("demo_request", 0.1), now=NOW)
    (mql,) = _detect(engine, config, lead_id)
    with session_scope(engine) as session:
        mqls.claim(mql.id, user_id="USDR1", session=session, config=config, now=NOW)
        # Closed, the MQL no longer holds the lead; only the claim does.
        session.get(Mql, mql.id).status = "closed"

    again = _detect(engine, config, lead_id, now=NOW + timedelta(hours=1))

    assert again == []


def test_a_lead_with_an_open_mql_gets_no_second_one(engine, config):
    lead_id = add_lead(engine)
    add_events(engine, lead_id, ("demo_request", 0.1), now=NOW)
    _detect(engine, config, lead_id)

    later = _detect(engine, config, lead_id, now=NOW + timedelta(hours=1))

    assert later == []
    assert len(_moments(engine, "mql")) == 1


def test_an_mql_is_taken_for_posting_once(engine, config):
    mql_id = _new_mql(engine, config)

    with session_scope(engine) as session:
        first = mqls.take_unposted(session=session)
    with session_scope(engine) as session:
        second = mqls.take_unposted(session=session)

    assert [(mql.id, mql.status) for mql in first] == [(mql_id, "posting")]
    assert second == []


def test_a_released_mql_waits_for_the_next_post(engine, config):
    mql_id = _new_mql(engine, config)
    with session_scope(engine) as session:
        mqls.take_unposted(session=session)

    with session_scope(engine) as session:
        mqls.release_unposted(mql_id, session=session)
        waiting = mqls.count_unposted(session=session)

    assert waiting == 1


def test_a_claim_between_the_post_and_its_record_stays_claimed(engine, config):
    mql_id = _new_mql(engine, config)
    with session_scope(engine) as session:
        mqls.take_unposted(session=session)
    with session_scope(engine) as session:
        mqls.claim(mql_id, user_id="USDR1", session=session, config=config, now=NOW)

    with session_scope(engine) as session:
        mqls.mark_posted(mql_id, channel_id="CQUEUE", message_ts="1.2", session=session)
        mql = session.get(Mql, mql_id)

    assert (mql.status, mql.channel_id, mql.claimed_by) == (
        "claimed",
        "CQUEUE",
        "USDR1",
    )


def test_a_claim_gives_the_lead_to_the_sdr_and_records_the_moment(engine, config):
    mql_id = _new_mql(engine, config)

    with session_scope(engine) as session:
        result = mqls.claim(
            mql_id, user_id="USDR1", session=session, config=config, now=NOW
        )

    assert result.is_won
    assert (result.mql.claimed_by, result.mql.claimed_at) == ("USDR1", NOW)
    with session_scope(engine) as session:
        assert session.get(Lead, result.lead.id).sdr_user_id == "USDR1"
    (moment,) = _moments(engine, "claimed")
    assert (moment.user_id, moment.at, moment.detail) == (
        "USDR1",
        NOW,
        {"mql_id": mql_id},
    )


def test_a_second_claim_loses_and_names_the_first(engine, config):
    mql_id = _new_mql(engine, config)
    with session_scope(engine) as session:
        mqls.claim(mql_id, user_id="USDR1", session=session, config=config, now=NOW)

    with session_scope(engine) as session:
        result = mqls.claim(
            mql_id, user_id="USDR2", session=session, config=config, now=NOW
        )

    assert not result.is_won
    assert result.mql.claimed_by == "USDR1"
    assert result.lead.sdr_user_id == "USDR1"
    assert len(_moments(engine, "claimed")) == 1


def test_two_sdrs_claiming_at_once_make_exactly_one_winner(engine, config):
    mql_id = _new_mql(engine, config)
    start = threading.Barrier(2)
    results = {}

    def claim_as(user_id: str) -> None:
        start.wait()
        with session_scope(engine) as session:
            result = mqls.claim(
                mql_id, user_id=user_id, session=session, config=config, now=NOW
            )
        results[user_id] = result

    threads = [threading.Thread(target=claim_as, args=(u,)) for u in ("U1", "U2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [user_id for user_id, result in results.items() if result.is_won]
    assert len(winners) == 1
    assert {result.mql.claimed_by for result in results.values()} == set(winners)
    with session_scope(engine) as session:
        assert session.exec(select(Lead.sdr_user_id)).one() == winners[0]
    assert len(_moments(engine, "claimed")) == 1


def test_a_claim_of_a_forgotten_mql_says_it_is_not_found(engine, config):
    with session_scope(engine) as session, pytest.raises(mqls.MqlNotFound):
        mqls.claim(404, user_id="USDR1", session=session, config=config, now=NOW)


def test_a_demo_request_of_a_claimed_lead_is_a_pending_alert_for_its_sdr(
    engine, config
):
    add_lead(engine, sdr_user_id="USDR1")

    with session_scope(engine) as session:
        result = ingest(
            [_event("demo_request", NOW - timedelta(minutes=5), "e1")],
            session=session,
            config=config,
            now=NOW,
        )

    assert result.alerts == 1
    assert result.new_mql_ids == []
    (moment,) = _moments(engine, "high_intent")
    assert (moment.user_id, moment.at, moment.notified_at) == (
        "USDR1",
        NOW - timedelta(minutes=5),
        None,
    )
    assert moment.detail["intent"] == "demo request"
    assert moment.detail["signals"] == ["demo request ×1 this week"]


def test_a_late_earlier_event_does_not_alert_the_same_intent_twice(engine, config):
    add_lead(engine, sdr_user_id="USDR1")
    with session_scope(engine) as session:
        ingest(
            [_event("demo_request", NOW - timedelta(hours=1), "e1")],
            session=session,
            config=config,
            now=NOW,
        )

    # Segment delivers batches out of order: a page view from before the
    # demo request arrives after it.
    with session_scope(engine) as session:
        result = ingest(
            [_event("web_visit", NOW - timedelta(hours=2), "e0")],
            session=session,
            config=config,
            now=NOW + timedelta(minutes=1),
        )

    assert result.alerts == 0
    assert len(_moments(engine, "high_intent")) == 1


def test_an_mql_nobody_claimed_in_time_is_claimed_for_the_next_sdr(engine, config):
    from bot.domain import sla
    from bot.models import SlaClock

    team = config.team.model_copy(update={"sdrs": ["USDR1", "USDR2"]})
    config = config.model_copy(update={"team": team})
    mql_id = _new_mql(engine, config)
    with session_scope(engine) as session:
        clock = session.exec(select(SlaClock).where(SlaClock.kind == "mql_claim")).one()

    with session_scope(engine) as session:
        work = sla.take_due(session=session, config=config, now=clock.due_at, limit=9)

    with session_scope(engine) as session:
        mql = session.get(Mql, mql_id)
        lead = session.get(Lead, mql.lead_id)
        stopped = session.get(SlaClock, clock.id)
    assert (mql.status, mql.claimed_by, lead.sdr_user_id) == (
        "claimed",
        "USDR1",
        "USDR1",
    )
    assert stopped.status == "late"
    assert ("reassigned_to", "USDR1") in [(n.kind, n.recipient) for n in work.notices]
