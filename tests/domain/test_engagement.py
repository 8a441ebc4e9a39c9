from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Engagement
from bot.db import session_scope
from bot.domain.engagement import assess_events, assess_lead
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
        "Signals: demo request ×1, latest 1d ago; pricing page ×2, latest "
        "today; email open ×2, latest today"
    )
    assert assessment.explain(NOW, limit=1) == "Signals: demo request ×1, latest 1d ago"


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
