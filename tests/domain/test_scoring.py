import tomllib

import pytest

from bot.config import DEFAULTS_PATH, merge, parse_config
from bot.domain.scoring import NURTURE, SQL, score_levels

NO_BUDGET = "No budget identified"
NO_BUDGET_WAIVED = (
    "No budget yet, but pain is acute and the timeline is within a quarter"
)
DISTANT_TIMELINE = "Timeline is 12+ months away"


def levels(**overrides: int) -> dict[str, int]:
    """Every criterion at 3 unless overridden."""
    base = {
        "pain": 3,
        "fit": 3,
        "budget": 3,
        "authority": 3,
        "timeline": 3,
        "engagement": 3,
    }
    return base | overrides


def matrix_with(overrides: dict):
    with DEFAULTS_PATH.open("rb") as file:
        data = tomllib.load(file)
    return parse_config(merge(data, {"matrix": overrides})).matrix


def test_points_are_weight_times_level_with_the_default_weights(config):
    card = score_levels(config.matrix, levels(pain=2, fit=1, budget=2, timeline=1))

    assert [(s.criterion, s.weight, s.level, s.points) for s in card.scores] == [
        ("pain", 3, 2, 6),
        ("fit", 2, 1, 2),
        ("budget", 2, 2, 4),
        ("authority", 2, 3, 6),
        ("timeline", 1, 1, 1),
        ("engagement", 1, 3, 3),
    ]
    assert (card.total, card.max_total, card.threshold) == (22, 33, 20)


def test_every_criterion_at_three_scores_the_max_of_33(config):
    card = score_levels(config.matrix, levels())

    assert (card.total, card.max_total) == (33, 33)
    assert card.outcome == SQL


def test_total_of_19_is_nurture(config):
    nineteen = levels(fit=2, budget=1, authority=1, timeline=1, engagement=1)

    card = score_levels(config.matrix, nineteen)

    assert card.total == 19
    assert card.outcome == NURTURE
    assert card.reasons == ["Total 19/33 is below the bar of 20"]


def test_total_of_20_is_sql(config):
    twenty = levels(fit=2, budget=1, authority=1, timeline=1, engagement=2)

    card = score_levels(config.matrix, twenty)

    assert card.total == 20
    assert card.outcome == SQL
    assert card.is_sql
    assert card.reasons == ["Total 20/33 meets the bar of 20"]


def test_no_budget_sends_a_high_total_to_nurture(config):
    card = score_levels(config.matrix, levels(budget=0, timeline=1))

    assert card.total == 25
    assert card.outcome == NURTURE
    assert card.reasons == [NO_BUDGET]


def test_no_budget_is_waived_when_pain_is_acute_and_timeline_is_near(config):
    card = score_levels(config.matrix, levels(budget=0, timeline=2))

    assert card.total == 26
    assert card.outcome == SQL
    assert card.reasons == ["Total 26/33 meets the bar of 20", NO_BUDGET_WAIVED]


def test_waived_no_budget_still_follows_a_low_total(config):
    low = {"pain": 3, "budget": 0, "timeline": 2}

    card = score_levels(config.matrix, low)

    assert card.total == 11
    assert card.outcome == NURTURE
    assert card.reasons == ["Total 11/33 is below the bar of 20", NO_BUDGET_WAIVED]


def test_no_budget_is_not_waived_when_pain_is_below_three(config):
    card = score_levels(config.matrix, levels(pain=2, budget=0, timeline=3))

    assert card.total == 24
    assert card.outcome == NURTURE
    assert card.reasons == [NO_BUDGET]


def test_distant_timeline_sends_30_of_33_to_nurture(config):
    card = score_levels(config.matrix, levels(timeline=0))

    assert card.total == 30
    assert card.outcome == NURTURE
    assert card.reasons == [DISTANT_TIMELINE]


def test_both_rules_give_both_reasons(config):
    card = score_levels(config.matrix, levels(budget=0, timeline=0))

    assert card.outcome == NURTURE
    assert card.reasons == [NO_BUDGET, DISTANT_TIMELINE]


def test_criterion_without_a_level_scores_zero(config):
    given = levels()
    del given["engagement"]

    card = score_levels(config.matrix, given)

    assert card.scores[-1].level == 0
    assert card.scores[-1].level_text == "No recent signals"
    assert card.total == 30


def test_weakest_orders_criteria_by_points_lost(config):
    card = score_levels(
        config.matrix, levels(pain=1, budget=1, authority=2, timeline=0)
    )

    weakest = card.weakest(4)

    assert [(s.criterion, s.points_lost) for s in weakest] == [
        ("pain", 6),
        ("budget", 4),
        ("timeline", 3),
        ("authority", 2),
    ]
    assert [s.criterion for s in card.weakest()] == ["pain", "budget"]


def test_weakest_puts_the_lower_level_first_on_equal_points_lost(config):
    card = score_levels(config.matrix, levels(pain=2, timeline=0))

    weakest = card.weakest()

    assert [(s.criterion, s.level, s.points_lost) for s in weakest] == [
        ("timeline", 0, 3),
        ("pain", 2, 3),
    ]


def test_weakest_leaves_out_criteria_at_full_marks(config):
    card = score_levels(config.matrix, levels(fit=2))

    assert [s.criterion for s in card.weakest(3)] == ["fit"]


@pytest.mark.parametrize("level", [4, -1])
def test_level_outside_zero_to_three_raises(config, level):
    with pytest.raises(ValueError) as caught:
        score_levels(config.matrix, levels(budget=level))

    assert str(caught.value) == f"budget: level {level} is outside 0-3"


def test_breakdown_keeps_level_text_and_notes(config):
    notes = {"pain": "Losing two deals a month"}

    card = score_levels(config.matrix, levels(pain=2), notes)

    assert card.breakdown()[0] == {
        "criterion": "pain",
        "label": "Pain",
        "level": 2,
        "level_text": "Real problem with a felt cost",
        "weight": 3,
        "points": 6,
        "note": "Losing two deals a month",
    }
    assert card.breakdown()[1]["note"] == ""


def test_scorecard_records_the_matrix_version(config):
    card = score_levels(config.matrix, levels())

    assert card.matrix_version == config.matrix.version
    assert len(card.matrix_version) == 12


def test_equal_matrices_share_a_version(config):
    same = matrix_with({"name": "default"})

    assert same.version == config.matrix.version


def test_changed_weight_changes_the_matrix_version(config):
    changed = matrix_with({"criteria": {"pain": {"weight": 4}}})

    card = score_levels(changed, levels())

    assert card.matrix_version != config.matrix.version
    assert card.max_total == 36


def test_changed_threshold_changes_the_matrix_version(config):
    changed = matrix_with({"threshold": 21})

    assert changed.version != config.matrix.version
