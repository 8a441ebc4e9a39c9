"""Rotations that skip people who are away or at capacity."""

import tomllib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import DEFAULTS_PATH, merge, parse_config
from bot.db import session_scope
from bot.domain import routing
from bot.models import Handoff, Lead, Mql
from tests.domain.handoff_rows import add_handoff
from tests.factories import add_lead

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
SDRS = ["U0SDR1", "U0SDR2"]
AES = ["U0AE1", "U0AE2", "U0AE3"]


def config_with(**routing_limits):
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    team = {"team": {"sdrs": SDRS, "aes": AES, "managers": ["U0MGR1"]}}
    return parse_config(merge(defaults, {**team, "routing": routing_limits}))


@pytest.fixture
def config():
    return config_with()


def away(engine, user_id: str, until: datetime) -> None:
    with session_scope(engine) as session:
        routing.set_away(user_id, until, set_by=user_id, session=session, now=NOW)


def pick(engine, config, lead_id: int | None = None, now: datetime = NOW) -> str:
    with session_scope(engine) as session:
        lead = session.get(Lead, lead_id) if lead_id else Lead(id=0)
        return routing.pick_ae_anyway(lead, session=session, config=config, now=now)


def test_the_rotation_goes_round_every_ae_in_turn(engine, config):
    picked = [pick(engine, config) for _ in range(4)]

    assert picked == ["U0AE1", "U0AE2", "U0AE3", "U0AE1"]


def test_the_rotation_skips_an_ae_who_is_away(engine, config):
    away(engine, "U0AE2", NOW + timedelta(days=3))

    picked = [pick(engine, config) for _ in range(4)]

    assert picked == ["U0AE1", "U0AE3", "U0AE1", "U0AE3"]


def test_an_absence_that_has_run_out_is_not_skipped(engine, config):
    away(engine, "U0AE1", NOW + timedelta(days=1))

    before = pick(engine, config)
    after = pick(engine, config, now=NOW + timedelta(days=1))

    assert (before, after) == ("U0AE2", "U0AE3")
    assert pick(engine, config, now=NOW + timedelta(days=1)) == "U0AE1"


def test_a_lead_goes_to_its_owner_unless_they_are_away(engine, config):
    lead_id = add_lead(engine, owner_user_id="U0AE3")

    first = pick(engine, config, lead_id)
    away(engine, "U0AE3", NOW + timedelta(days=2))
    second = pick(engine, config, lead_id)

    assert (first, second) == ("U0AE3", "U0AE1")


def test_an_ae_at_the_open_handoff_limit_is_skipped(engine):
    config = config_with(max_open_handoffs_per_ae=1)
    add_handoff(engine, config, 1, now=NOW, sdr="U0SDR1")

    picked = [pick(engine, config) for _ in range(2)]

    assert picked == ["U0AE2", "U0AE3"]


def test_a_rejected_handoff_no_longer_counts_against_the_limit(engine):
    config = config_with(max_open_handoffs_per_ae=1)
    handoff_id = add_handoff(engine, config, 1, now=NOW, sdr="U0SDR1")
    with session_scope(engine) as session:
        session.get(Handoff, handoff_id).status = "rejected"

    assert pick(engine, config) == "U0AE2"
    assert pick(engine, config) == "U0AE3"
    assert pick(engine, config) == "U0AE1"


def test_when_every_ae_not_away_is_at_the_limit_one_over_it_is_chosen(engine):
    config = config_with(max_open_handoffs_per_ae=1)
    away(engine, "U0AE3", NOW + timedelta(days=2))
    add_handoff(engine, config, 1, now=NOW, sdr="U0SDR1")
    add_handoff(engine, config, 2, now=NOW, sdr="U0SDR1")

    assert pick(engine, config) == "U0AE1"


def test_an_owner_at_the_limit_still_gets_their_lead(engine):
    config = config_with(max_open_handoffs_per_ae=1)
    add_handoff(engine, config, 1, now=NOW, sdr="U0SDR1", owner_user_id="U0AE2")
    lead_id = add_lead(engine, email="o@owned.example", owner_user_id="U0AE2")

    assert pick(engine, config, lead_id) == "U0AE2"


def test_an_sql_still_goes_to_someone_when_every_ae_is_away(engine, config):
    for ae in AES:
        away(engine, ae, NOW + timedelta(days=2))

    with session_scope(engine) as session:
        nobody = routing.pick_ae(Lead(id=0), session=session, config=config, now=NOW)

    assert nobody is None
    assert pick(engine, config) == "U0AE1"


def test_the_sdr_rotation_skips_an_sdr_at_the_claimed_mql_limit(engine):
    config = config_with(max_claimed_mqls_per_sdr=1)
    lead_id = add_lead(engine)
    with session_scope(engine) as session:
        session.add(
            Mql(
                lead_id=lead_id,
                reached_at=NOW,
                reason="score",
                engagement_level=2,
                status="claimed",
                claimed_by="U0SDR1",
                claimed_at=NOW,
            )
        )

    with session_scope(engine) as session:
        picked = [routing.pick_sdr(config, session=session, now=NOW) for _ in range(2)]

    assert picked == ["U0SDR2", "U0SDR2"]


def test_the_sdr_rotation_skips_an_sdr_who_is_away_and_can_run_dry(engine, config):
    away(engine, "U0SDR2", NOW + timedelta(hours=1))

    with session_scope(engine) as session:
        first = routing.pick_sdr(config, session=session, now=NOW)
        second = routing.pick_sdr(config, session=session, now=NOW, exclude={"U0SDR1"})

    assert (first, second) == ("U0SDR1", None)


def test_coming_back_ends_the_absence_once(engine):
    away(engine, "U0AE1", NOW + timedelta(days=1))

    with session_scope(engine) as session:
        ended = routing.end_absence("U0AE1", session=session, now=NOW)
    with session_scope(engine) as session:
        again = routing.end_absence("U0AE1", session=session, now=NOW)
        is_away = routing.is_away("U0AE1", session=session, now=NOW)

    assert (ended, again, is_away) == (True, False, False)


def test_marking_someone_away_again_moves_their_return(engine):
    away(engine, "U0AE1", NOW + timedelta(days=5))
    away(engine, "U0AE1", NOW + timedelta(days=1))

    with session_scope(engine) as session:
        later = routing.is_away("U0AE1", session=session, now=NOW + timedelta(days=2))

    assert later is False


@pytest.mark.parametrize(
    ("text", "until"),
    [
        ("2026-12-10", datetime(2026, 12, 11, tzinfo=UTC)),
        ("Dec 10", datetime(2026, 12, 11, tzinfo=UTC)),
        ("friday", datetime(2026, 12, 5, tzinfo=UTC)),
        ("tomorrow", datetime(2026, 12, 5, tzinfo=UTC)),
    ],
)
def test_an_away_day_lasts_to_the_end_of_that_day(text, until):
    assert routing.parse_until(text, now=NOW, zone=ZoneInfo("UTC")) == until


def test_an_away_day_ends_at_midnight_in_the_teams_zone():
    berlin = ZoneInfo("Europe/Berlin")

    until = routing.parse_until("2026-12-10", now=NOW, zone=berlin)

    assert until == datetime(2026, 12, 10, 23, 0, tzinfo=UTC)


def test_text_that_names_no_day_is_not_a_date():
    assert routing.parse_until("whenever", now=NOW, zone=ZoneInfo("UTC")) is None
