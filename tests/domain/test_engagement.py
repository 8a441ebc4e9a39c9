from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Engagement
from bot.db import session_scope
from bot.domain.engagement import assess_events, assess_lead, assess_leads
from tests.factories import add_events, add_lead

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_pricing_page_view_weighs_more_than_a_newsletter_open(config):
    pricing = assess_events(config.engagement, [("pricing_page_view", NOW)], NOW)
    newsletter = assess_events(config.engagement, [("newsletter_open", NOW)], NOW)

    assert (pricing.score, pricing.level) == (3.0, 1)
    assert (newsletter.score, newsletter.level) == (0.25, 0)


def test_same_events_assessed_four_weeks_later_score_a_quarter(config):
    events = [("demo_request", NOW), ("pricing_page_view", NOW)]

    today = assess_events(config.engagement, events, NOW)
    later = assess_events(config.engagement, events, NOW + timedelta(weeks=4))

    assert (today.score, today.level) == (9.0, 3)
    assert (later.score, later.level) == (2.25, 1)


def test_event_halves_after_one_half_life(config):
    events = [("pricing_page_view", days_ago(14))]

    assessment = assess_events(config.engagement, events, NOW)

    assert assessment.score == 1.5


def test_events_outside_the_window_do_not_count(config):
    events = [("demo_request", days_ago(91)), ("email_click", days_ago(89))]

    assessment = assess_events(config.engagement, events, NOW)

    assert [(s.kind, s.count) for s in assessment.signals] == [("email_click", 1)]
    assert assessment.score == pytest.approx(1.0 * 0.5 ** (89 / 14), abs=0.01)


def test_events_in_the_future_do_not_count(config):
    events = [("demo_request", NOW + timedelta(hours=1))]

    assessment = assess_events(config.engagement, events, NOW)

    assert (assessment.score, assessment.level, assessment.signals) == (0, 0, [])


def test_unmapped_event_names_count_zero(config):
    events = [("logged_in", NOW), ("password_reset", NOW)]

    assessment = assess_events(config.engagement, events, NOW)

    assert (assessment.score, assessment.level, assessment.signals) == (0, 0, [])
    assert assessment.explain(NOW) == "no recent signals"


def test_event_names_ignore_case_spaces_and_dashes(config):
    events = [("Pricing Page-View", NOW)]

    assessment = assess_events(config.engagement, events, NOW)

    assert [s.kind for s in assessment.signals] == ["pricing_page"]


def test_a_score_equal_to_a_threshold_reaches_that_level(config):
    one_visit = assess_events(config.engagement, [("web_visit", NOW)], NOW)
    two_visits = assess_events(config.engagement, [("web_visit", NOW)] * 2, NOW)

    assert (one_visit.score, one_visit.level) == (0.5, 0)
    assert (two_visits.score, two_visits.level) == (1.0, 1)


def test_level_thresholds_come_from_the_config(config):
    settings = config.engagement.model_dump()
    settings["level_thresholds"] = [0.5, 1.0, 2.0]
    low_bar = Engagement.model_validate(settings)
    events = [("pricing_page_view", NOW)]

    default = assess_events(config.engagement, events, NOW)
    lowered = assess_events(low_bar, events, NOW)

    assert (default.level, lowered.level) == (1, 3)


def test_explain_names_the_signals_with_counts_strongest_first(config):
    events = [
        ("email_open", NOW),
        ("pricing_page_view", NOW),
        ("demo_request", days_ago(1)),
        ("email_open", days_ago(2)),
        ("pricing_page", days_ago(3)),
    ]

    assessment = assess_events(config.engagement, events, NOW)

    assert assessment.explain(NOW) == (
        "Signals: demo request ×1 this week, pricing page ×2 this week, "
        "email open ×2 this week"
    )
    assert assessment.explain(NOW, limit=1) == "Signals: demo request ×1 this week"


def test_assess_lead_counts_only_that_leads_recent_events(engine, config):
    lead_id = add_lead(engine)
    other_id = add_lead(engine, email="bo@globex.example", domain="globex.example")
    add_events(
        engine,
        lead_id,
        ("pricing_page_view", 0),
        ("demo_request", 2),
        ("email_open", 100),
        ("demo_request", -1),
        now=NOW,
    )
    add_events(engine, other_id, ("demo_request", 0), now=NOW)

    with session_scope(engine) as session:
        assessment = assess_lead(
            lead_id, session=session, config=config.engagement, now=NOW
        )

    assert [(s.kind, s.count) for s in assessment.signals] == [
        ("demo_request", 1),
        ("pricing_page", 1),
    ]
    assert assessment.score == round(3.0 + 6.0 * 0.5 ** (2 / 14), 2)
    assert assessment.level == 2
    assert assessment.signals[0].last_seen == days_ago(2)


def test_assess_lead_without_events_is_level_zero(engine, config):
    lead_id = add_lead(engine)

    with session_scope(engine) as session:
        assessment = assess_lead(
            lead_id, session=session, config=config.engagement, now=NOW
        )

    assert (assessment.level, assessment.score, assessment.signals) == (0, 0, [])


def test_buying_sequence_in_order_raises_the_level(config):
    in_order = [
        ("whitepaper_download", days_ago(25)),
        ("pricing_page_view", days_ago(22)),
        ("g2_profile_view", days_ago(21)),
        ("solutions_page_view", days_ago(20)),
    ]
    out_of_order = [
        ("pricing_page_view", days_ago(25)),
        ("solutions_page_view", days_ago(22)),
        ("whitepaper_download", days_ago(21)),
        ("g2_profile_view", days_ago(20)),
    ]

    buying = assess_events(config.engagement, in_order, NOW)
    learning = assess_events(config.engagement, out_of_order, NOW)

    assert (buying.level, learning.level) == (2, 1)
    assert buying.signals[0].describe(NOW) == (
        "read up, priced, compared us on a review site, came back to solutions"
    )
    assert "evaluation" not in [s.kind for s in learning.signals]


def test_a_sequence_spread_over_more_than_its_days_gets_no_boost(config):
    events = [
        ("ebook_download", days_ago(40)),
        ("pricing_page", days_ago(12)),
        ("capterra_view", days_ago(8)),
        ("solutions_page", days_ago(6)),
    ]

    assessment = assess_events(config.engagement, events, NOW)

    assert "evaluation" not in [s.kind for s in assessment.signals]


def test_pricing_page_after_a_comparison_is_high_intent(config):
    compared_then_priced = [("g2_profile_view", days_ago(1)), ("pricing_page", NOW)]
    priced_then_compared = [("pricing_page", days_ago(1)), ("g2_profile_view", NOW)]

    high = assess_events(config.engagement, compared_then_priced, NOW)
    low = assess_events(config.engagement, priced_then_compared, NOW)

    assert high.high_intent_at == NOW
    assert low.high_intent_at is None


def test_the_same_events_decay_to_a_lower_level_weeks_later(engine, config):
    lead_id = add_lead(engine)
    add_events(
        engine,
        lead_id,
        ("demo_request", 0),
        ("pricing_page_view", 0),
        ("pricing_page_view", 1),
        now=NOW,
    )

    with session_scope(engine) as session:
        levels = [
            assess_lead(
                lead_id, session=session, config=config.engagement, now=when
            ).level
            for when in (NOW, NOW + timedelta(weeks=3), NOW + timedelta(weeks=6))
        ]

    assert levels == [3, 2, 1]


def test_the_database_agrees_with_the_in_memory_reference(engine, config):
    lead_id = add_lead(engine)
    named = [
        ("ebook_download", 29.5),
        ("pricing_page_view", 20.25),
        ("pricing_page_view", 3),
        ("competitor_comparison", 2.5),
        ("pricing_page", 2),
        ("solutions_page", 0.5),
        ("email_open", 0.1),
        ("newsletter_open", 95),
        ("logged_in", 1),
        ("page_view", 6.9),
        ("page_view", 7.1),
    ]
    add_events(engine, lead_id, *named, now=NOW)
    reference = assess_events(
        config.engagement, [(n, days_ago(d)) for n, d in named], NOW
    )

    with session_scope(engine) as session:
        stored = assess_lead(
            lead_id, session=session, config=config.engagement, now=NOW
        )

    assert stored.level == reference.level
    assert stored.score == pytest.approx(reference.score, abs=0.01)
    assert stored.high_intent_at == reference.high_intent_at == days_ago(2)
    assert [s.describe(NOW) for s in stored.signals] == [
        s.describe(NOW) for s in reference.signals
    ]


def test_assess_leads_assesses_many_leads_in_one_pass(engine, config):
    busy = add_lead(engine)
    quiet = add_lead(engine, email="bo@globex.example", domain="globex.example")
    add_events(engine, busy, ("demo_request", 0), ("pricing_page", 0), now=NOW)

    with session_scope(engine) as session:
        found = assess_leads(
            [busy, quiet], session=session, config=config.engagement, now=NOW
        )

    assert (found[busy].level, found[quiet].level) == (3, 0)
    assert found[busy].explain(NOW) == (
        "Signals: demo request ×1 this week, pricing page ×1 this week"
    )
