import threading
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.config import DEFAULTS_PATH, merge, parse_config
from bot.db import session_scope
from bot.domain.decisions import record_decision
from bot.domain.interviews import (
    SUBMITTED,
    InterviewClosed,
    finish_interview,
    record_level,
    start_interview,
)
from bot.models import Decision, Handoff, MatrixVersion
from tests.factories import add_events, add_lead

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
DECIDED = NOW + timedelta(minutes=10)
SDR = "U0SDR1"
AES = ["U0AE1", "U0AE2"]
STRONG = {"pain": 3, "budget": 3, "authority": 3, "timeline": 3}
WEAK = {"pain": 1, "budget": 1, "authority": 1, "timeline": 1}


@pytest.fixture
def team_config():
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    return parse_config(merge(defaults, {"team": {"sdrs": [SDR], "aes": AES}}))


def decide(engine, config, lead_id: int, answers: dict[str, int]) -> int:
    """Run a whole interview for the lead and record its decision."""
    with session_scope(engine) as session:
        interview_id = start_interview(
            lead_id, SDR, "D0SDR1", session=session, config=config, now=NOW
        ).id
        for criterion, level in answers.items():
            record_level(
                interview_id,
                criterion,
                level,
                user_id=SDR,
                session=session,
                now=NOW,
            )
        state = finish_interview(
            interview_id, SUBMITTED, user_id=SDR, session=session, now=DECIDED
        )
        result = record_decision(state, session=session, config=config, now=DECIDED)
        return result.decision.id


def stored_decision(engine, decision_id: int) -> tuple[Decision, Handoff | None]:
    with session_scope(engine) as session:
        decision = session.get(Decision, decision_id)
        handoff = session.scalar(
            select(Handoff).where(Handoff.decision_id == decision_id)
        )
        return decision, handoff


def new_lead(engine, number: int, **fields) -> int:
    return add_lead(
        engine,
        email=f"lead{number}@northwind.example",
        company=f"Northwind {number}",
        **fields,
    )


def test_sql_decision_stores_outcome_total_breakdown_and_reasons(engine, team_config):
    lead_id = new_lead(engine, 1)
    add_events(engine, lead_id, ("pricing_page_view", 0), now=DECIDED)

    decision_id = decide(engine, team_config, lead_id, STRONG)

    decision, _ = stored_decision(engine, decision_id)
    assert (decision.lead_id, decision.sdr_user_id, decision.outcome) == (
        lead_id,
        SDR,
        "sql",
    )
    assert (decision.total, decision.max_total, decision.threshold) == (31, 33, 20)
    assert decision.reasons == ["Total 31/33 meets the bar of 20"]
    assert [
        (row["criterion"], row["level"], row["points"]) for row in decision.breakdown
    ] == [
        ("pain", 3, 9),
        ("fit", 3, 6),
        ("budget", 3, 6),
        ("authority", 3, 6),
        ("timeline", 3, 3),
        ("engagement", 1, 1),
    ]
    assert decision.breakdown[5]["note"] == "Signals: pricing page ×1 this week"
    assert decision.signals == [
        {"kind": "pricing_page", "label": "pricing page", "count": 1, "score": 3.0}
    ]
    assert decision.decided_at == DECIDED


def test_decision_keeps_the_matrix_it_was_scored_with(engine, team_config):
    lead_id = new_lead(engine, 1)

    decision_id = decide(engine, team_config, lead_id, STRONG)

    decision, _ = stored_decision(engine, decision_id)
    assert decision.matrix_version == team_config.matrix.version
    with session_scope(engine) as session:
        snapshot = session.get(MatrixVersion, decision.matrix_version)
        assert snapshot.name == "default"
        assert snapshot.content == team_config.matrix.model_dump()
        assert session.scalar(select(func.count()).select_from(MatrixVersion)) == 1


def test_sql_is_handed_off_to_an_ae(engine, team_config):
    lead_id = new_lead(engine, 1)

    decision_id = decide(engine, team_config, lead_id, STRONG)

    _, handoff = stored_decision(engine, decision_id)
    assert (handoff.lead_id, handoff.ae_user_id, handoff.status) == (
        lead_id,
        "U0AE1",
        "pending",
    )
    assert handoff.created_at == DECIDED


def test_nurture_decision_has_no_handoff(engine, team_config):
    lead_id = new_lead(engine, 1)

    decision_id = decide(engine, team_config, lead_id, WEAK)

    decision, handoff = stored_decision(engine, decision_id)
    assert (decision.outcome, decision.total) == ("nurture", 14)
    assert decision.reasons == ["Total 14/33 is below the bar of 20"]
    assert handoff is None


def test_rule_reason_is_stored_with_a_nurture_decision(engine, team_config):
    lead_id = new_lead(engine, 1)

    decision_id = decide(engine, team_config, lead_id, STRONG | {"timeline": 0})

    decision, handoff = stored_decision(engine, decision_id)
    assert (decision.outcome, decision.total) == ("nurture", 27)
    assert decision.reasons == ["Timeline is 12+ months away"]
    assert handoff is None


def test_aes_take_sqls_in_turn(engine, team_config):
    lead_ids = [new_lead(engine, number) for number in range(1, 4)]

    decision_ids = [
        decide(engine, team_config, lead_id, STRONG) for lead_id in lead_ids
    ]

    aes = [stored_decision(engine, d)[1].ae_user_id for d in decision_ids]
    assert aes == ["U0AE1", "U0AE2", "U0AE1"]


def test_nurture_decision_does_not_move_the_rotation(engine, team_config):
    first = decide(engine, team_config, new_lead(engine, 1), STRONG)
    decide(engine, team_config, new_lead(engine, 2), WEAK)

    second = decide(engine, team_config, new_lead(engine, 3), STRONG)

    aes = [stored_decision(engine, d)[1].ae_user_id for d in (first, second)]
    assert aes == ["U0AE1", "U0AE2"]


def test_lead_owned_by_an_ae_goes_to_that_ae(engine, team_config):
    lead_id = new_lead(engine, 1, owner_user_id="U0AE2")

    decision_id = decide(engine, team_config, lead_id, STRONG)

    _, handoff = stored_decision(engine, decision_id)
    assert handoff.ae_user_id == "U0AE2"


def test_lead_owned_by_someone_not_an_ae_goes_to_the_rotation(engine, team_config):
    lead_id = new_lead(engine, 1, owner_user_id="U0SDR9")

    decision_id = decide(engine, team_config, lead_id, STRONG)

    _, handoff = stored_decision(engine, decision_id)
    assert handoff.ae_user_id == "U0AE1"


def test_two_submits_arriving_together_record_one_decision(engine, team_config):
    lead_id = new_lead(engine, 1)
    with session_scope(engine) as session:
        interview_id = start_interview(
            lead_id, SDR, "D0SDR1", session=session, config=team_config, now=NOW
        ).id
        for criterion, level in STRONG.items():
            record_level(
                interview_id, criterion, level, user_id=SDR, session=session, now=NOW
            )
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def submit() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                state = finish_interview(
                    interview_id, SUBMITTED, user_id=SDR, session=session, now=DECIDED
                )
                record_decision(state, session=session, config=team_config, now=DECIDED)
            outcomes.append("decided")
        except InterviewClosed:
            outcomes.append("already submitted")

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["already submitted"] * 3 + ["decided"]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 1
        assert session.scalar(select(func.count()).select_from(Handoff)) == 1
