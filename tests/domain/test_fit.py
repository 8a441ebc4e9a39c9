import pytest

from bot.config import Icp
from bot.domain.fit import assess_fit


def test_full_icp_match_is_level_three(config):
    fit = assess_fit(config.icp, "Software", 400, "US")

    assert fit.level == 3
    assert fit.matched == ["industry", "company size", "country"]
    assert fit.explain() == "matches industry, company size, country"


def test_one_dimension_off_profile_is_level_two(config):
    fit = assess_fit(config.icp, "Mining", 400, "US")

    assert fit.level == 2
    assert fit.missed == ["industry"]
    assert fit.explain() == "matches company size, country; outside industry"


def test_two_dimensions_off_profile_is_level_one(config):
    fit = assess_fit(config.icp, "Software", 12, "BR")

    assert fit.level == 1
    assert fit.missed == ["company size", "country"]


def test_every_dimension_off_profile_is_level_zero(config):
    fit = assess_fit(config.icp, "Mining", 20000, "BR")

    assert fit.level == 0


@pytest.mark.parametrize(
    ("industry", "employees", "country", "unknown"),
    [
        ("", 400, "US", ["industry"]),
        ("Software", None, "US", ["company size"]),
        ("Software", 400, "", ["country"]),
        ("Mining", None, "", ["company size", "country"]),
    ],
)
def test_any_unknown_dimension_leaves_the_level_unknown(
    config, industry, employees, country, unknown
):
    fit = assess_fit(config.icp, industry, employees, country)

    assert fit.level is None
    assert not fit.is_known
    assert fit.unknown == unknown


def test_unknown_dimension_is_named_in_the_explanation(config):
    fit = assess_fit(config.icp, "Mining", None, "US")

    assert fit.explain() == "matches country; outside industry; unknown company size"


def test_industry_and_country_match_ignoring_case_and_spaces(config):
    fit = assess_fit(config.icp, "  saas ", 400, "gb")

    assert fit.level == 3


@pytest.mark.parametrize(
    ("employees", "level"), [(49, 2), (50, 3), (5000, 3), (5001, 2)]
)
def test_company_size_bounds_are_inclusive(config, employees, level):
    fit = assess_fit(config.icp, "Software", employees, "US")

    assert fit.level == level


def test_dimensions_left_empty_in_the_icp_are_not_judged():
    icp = Icp(industries=["Software"])

    fit = assess_fit(icp, "software", None, "")

    assert (fit.level, fit.matched, fit.unknown) == (3, ["industry"], [])
