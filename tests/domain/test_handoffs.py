"""Answers to a handoff: each applied once, by the AE or a manager only."""

import threading
import tomllib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.config import DEFAULTS_PATH, merge, parse_config
from bot.db import session_scope
from bot.domain import handoffs, routing
from bot.models import ClockEvent, Handoff, HandoffAnswer, Lead, SlaClock
from tests.domain.handoff_rows import add_handoff

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)
SDR, MANAGER = "U0SDR1", "U0MGR1"
AES = ["U0AE1", "U0AE2", "U0AE3"]


@pytest.fixture
def config():
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    team = {"sdrs": [SDR], "aes": AES, "managers": [MANAGER]}
    return parse_config(merge(defaults, {"team": team}))


@pytest.fixture
def handoff_id(engine, config):
    return add_handoff(engine, config, 1, now=NOW, sdr=SDR)


def answer(engine, config, step, handoff_id: int, **kwargs):
    with session_scope(engine) as session:
        return step(handoff_id, session=session, config=config, now=LATER, **kwargs)


def stored(engine, handoff_id: int) -> tuple[Handoff, list[HandoffAnswer]]:
    with session_scope(engine) as session:
        handoff = session.get(Handoff, handoff_id)
        answers = session.exec(
            select(HandoffAnswer).where(HandoffAnswer.handoff_id == handoff_id)
        ).all()
        return handoff, list(answers)


def clock(engine, kind: str) -> SlaClock:
    with session_scope(engine) as session:
        return session.exec(select(SlaClock).where(SlaClock.kind == kind)).one()


def test_accepting_stops_the_handoff_clock_and_keeps_the_meeting_clock(
    engine, config, handoff_id
):
    change = answer(engine, config, handoffs.accept, handoff_id, user_id="U0AE1")

    handoff, (row,) = stored(engine, handoff_id)
    assert change.card.status == handoff.status == "accepted"
    assert (row.action, row.user_id, row.at) == ("accepted", "U0AE1", LATER)
    assert (clock(engine, "handoff_answer").status) == "met"
    assert clock(engine, "sql_meeting").status == "open"


def test_accepting_twice_records_one_answer(engine, config, handoff_id):
    answer(engine, config, handoffs.accept, handoff_id, user_id="U0AE1")

    with pytest.raises(handoffs.HandoffAnswered) as caught:
        answer(engine, config, handoffs.accept, handoff_id, user_id="U0AE1")

    assert caught.value.status == "accepted"
    assert len(stored(engine, handoff_id)[1]) == 1


def test_someone_not_on_the_handoff_cannot_answer_it(engine, config, handoff_id):
    with pytest.raises(handoffs.NotYourHandoff) as caught:
        answer(engine, config, handoffs.accept, handoff_id, user_id="U0AE2")

    assert caught.value.ae_user_id == "U0AE1"
    handoff, answers = stored(engine, handoff_id)
    assert (handoff.status, answers) == ("pending", [])


def test_a_manager_may_answer_for_the_ae(engine, config, handoff_id):
    answer(engine, config, handoffs.accept, handoff_id, user_id=MANAGER)

    handoff, (row,) = stored(engine, handoff_id)
    assert (handoff.status, row.user_id, row.ae_user_id) == (
        "accepted",
        MANAGER,
        "U0AE1",
    )


def test_rejecting_stores_the_reason_and_gives_the_lead_back_to_its_sdr(
    engine, config, handoff_id
):
    answer(
        engine,
        config,
        handoffs.reject,
        handoff_id,
        user_id="U0AE1",
        reason_code="bad_timing",
        note="Back after their reorg",
    )

    handoff, (row,) = stored(engine, handoff_id)
    assert handoff.status == "rejected"
    assert (row.reason_code, row.note) == ("bad_timing", "Back after their reorg")
    with session_scope(engine) as session:
        assert session.get(Lead, handoff.lead_id).sdr_user_id == SDR
    assert clock(engine, "handoff_answer").status == "met"


def test_a_reason_that_needs_a_note_is_refused_without_one(engine, config, handoff_id):
    with pytest.raises(handoffs.BadRejection):
        answer(
            engine,
            config,
            handoffs.reject,
            handoff_id,
            user_id="U0AE1",
            reason_code="other",
            note="  ",
        )

    assert stored(engine, handoff_id)[0].status == "pending"


def test_an_unknown_reason_is_refused(engine, config, handoff_id):
    with pytest.raises(handoffs.BadRejection):
        answer(
            engine,
            config,
            handoffs.reject,
            handoff_id,
            user_id="U0AE1",
            reason_code="too_big",
            note="",
        )


def test_an_accepted_handoff_can_still_be_rejected_but_not_reassigned(
    engine, config, handoff_id
):
    answer(engine, config, handoffs.accept, handoff_id, user_id="U0AE1")

    with pytest.raises(handoffs.HandoffAnswered):
        answer(engine, config, handoffs.reassign, handoff_id, user_id="U0AE1")
    answer(
        engine,
        config,
        handoffs.reject,
        handoff_id,
        user_id="U0AE1",
        reason_code="cant_reach",
        note="",
    )

    assert stored(engine, handoff_id)[0].status == "rejected"


def test_reassigning_moves_the_handoff_and_its_clock_past_an_away_ae(
    engine, config, handoff_id
):
    with session_scope(engine) as session:
        routing.set_away(
            "U0AE2", NOW + timedelta(days=2), set_by=MANAGER, session=session, now=NOW
        )

    change = answer(engine, config, handoffs.reassign, handoff_id, user_id="U0AE1")

    handoff, (row,) = stored(engine, handoff_id)
    assert (handoff.ae_user_id, handoff.status) == ("U0AE3", "pending")
    assert change.previous_ae == "U0AE1"
    assert (row.action, row.ae_user_id, row.to_user_id) == (
        "reassigned",
        "U0AE1",
        "U0AE3",
    )
    moved = clock(engine, "handoff_answer")
    assert (moved.owner_user_id, moved.status) == ("U0AE3", "open")
    with session_scope(engine) as session:
        kinds = session.exec(
            select(ClockEvent.kind).where(ClockEvent.clock_id == moved.id)
        ).all()
    assert "reassign" in kinds


def test_reassigning_with_every_other_ae_away_keeps_the_handoff(
    engine, config, handoff_id
):
    with session_scope(engine) as session:
        for ae in ("U0AE2", "U0AE3"):
            routing.set_away(
                ae, NOW + timedelta(days=2), set_by=MANAGER, session=session, now=NOW
            )

    with pytest.raises(handoffs.NoAeAvailable):
        answer(engine, config, handoffs.reassign, handoff_id, user_id="U0AE1")

    handoff, answers = stored(engine, handoff_id)
    assert (handoff.ae_user_id, answers) == ("U0AE1", [])


def test_a_meeting_is_booked_only_after_acceptance_and_stops_its_clock(
    engine, config, handoff_id
):
    with pytest.raises(handoffs.HandoffAnswered):
        answer(
            engine,
            config,
            handoffs.book_meeting,
            handoff_id,
            user_id="U0AE1",
            meeting_on=date(2026, 12, 15),
            note="",
        )
    answer(engine, config, handoffs.accept, handoff_id, user_id="U0AE1")

    answer(
        engine,
        config,
        handoffs.book_meeting,
        handoff_id,
        user_id="U0AE1",
        meeting_on=date(2026, 12, 15),
        note="CFO joins",
    )

    handoff, answers = stored(engine, handoff_id)
    assert handoff.status == "meeting_booked"
    assert answers[-1].meeting_on == datetime(2026, 12, 15, tzinfo=UTC)
    assert clock(engine, "sql_meeting").status in ("met", "late")


def test_two_accepts_at_once_record_one_answer(engine, config, handoff_id):
    results = []
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        try:
            answer(engine, config, handoffs.accept, handoff_id, user_id="U0AE1")
            results.append("won")
        except handoffs.HandoffAnswered:
            results.append("lost")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["lost", "won"]
    assert len(stored(engine, handoff_id)[1]) == 1


def test_the_card_rebuilds_the_scorecard_from_the_stored_decision(
    engine, config, handoff_id
):
    with session_scope(engine) as session:
        card = handoffs.load_card(handoff_id, session=session)

    scorecard = card.scorecard
    assert (scorecard.total, scorecard.max_total, scorecard.is_sql) == (30, 33, True)
    assert [score.criterion for score in scorecard.scores][:2] == ["pain", "fit"]
    assert card.sdr_user_id == SDR
    assert card.questions == ["pain", "budget", "authority", "timeline"]


def test_a_rejected_lead_no_longer_waits_for_a_meeting(engine, config, handoff_id):
    answer(
        engine,
        config,
        handoffs.reject,
        handoff_id,
        user_id="U0AE1",
        reason_code="not_icp",
        note="",
    )

    meeting = clock(engine, "sql_meeting")
    assert (meeting.status, meeting.next_check_at) == ("cancelled", None)
    with session_scope(engine) as session:
        events = session.exec(
            select(ClockEvent.kind).where(ClockEvent.clock_id == meeting.id)
        ).all()
    assert events[-1] == "cancel"


def test_a_breached_handoff_moves_to_the_next_ae_as_an_answer_of_the_sla(
    engine, config, handoff_id
):
    from bot.domain import sla

    due = clock(engine, "handoff_answer").due_at

    with session_scope(engine) as session:
        work = sla.take_due(session=session, config=config, now=due, limit=50)

    handoff, answers = stored(engine, handoff_id)
    assert handoff.ae_user_id == "U0AE2"
    assert [(a.action, a.user_id, a.reason_code, a.to_user_id) for a in answers] == [
        ("reassigned", "sla", "sla_breach", "U0AE2")
    ]
    assert clock(engine, "handoff_answer").owner_user_id == "U0AE2"
    assert {n.recipient for n in work.notices} >= {"U0AE1", "U0AE2"}
