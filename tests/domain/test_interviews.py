import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import make_engine, session_scope
from bot.domain.interviews import (
    ACTIVE,
    CANCELLED,
    REVIEW,
    InterviewClosed,
    InterviewError,
    LeadTaken,
    NotYourInterview,
    SdrBusy,
    finish_interview,
    load_interview,
    record_level,
    record_note,
    start_interview,
)
from bot.models import Interview
from tests.factories import add_lead

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
SDR = "U0SDR1"
OTHER_SDR = "U0SDR2"
ASKED = ["pain", "budget", "authority", "timeline"]
FIT_FROM_DATA = "From stored data: matches industry, company size, country"


def start(engine, config, lead_id: int, sdr: str = SDR) -> int:
    with session_scope(engine) as session:
        state = start_interview(
            lead_id, sdr, f"D{sdr}", session=session, config=config, now=NOW
        )
        return state.id


def answer(engine, interview_id: int, criterion: str, level: int, user=SDR):
    with session_scope(engine) as session:
        progress = record_level(
            interview_id,
            criterion,
            level,
            user_id=user,
            session=session,
            now=LATER,
        )
        return progress.advanced, progress.next_criterion, progress.needs_review


def note(engine, interview_id: int, text: str) -> str | None:
    with session_scope(engine) as session:
        _, criterion = record_note(
            interview_id, text, user_id=SDR, session=session, now=LATER
        )
        return criterion


def stored(engine, interview_id: int):
    with session_scope(engine) as session:
        return load_interview(interview_id, session=session)


def test_known_firmographics_ask_four_questions_and_score_fit_from_data(engine, config):
    lead_id = add_lead(engine)

    interview_id = start(engine, config, lead_id)

    state = stored(engine, interview_id)
    assert state.interview.questions == ASKED
    assert (state.interview.status, state.interview.current_criterion) == (
        ACTIVE,
        "pain",
    )
    fit = state.answers["fit"]
    assert (fit.level, fit.source, fit.note) == (3, "data", FIT_FROM_DATA)
    assert state.levels() == {"fit": 3}
    assert state.interview.matrix_version == config.matrix.version


def test_incomplete_firmographics_also_ask_about_fit(engine, config):
    lead_id = add_lead(engine, employees=None)

    interview_id = start(engine, config, lead_id)

    state = stored(engine, interview_id)
    assert state.interview.questions == [
        "pain",
        "fit",
        "budget",
        "authority",
        "timeline",
    ]
    assert (state.answers["fit"].level, state.answers["fit"].source) == (None, "")
    assert state.step_of("fit") == (2, 5)


def test_second_sdr_on_the_same_lead_is_told_who_has_it(engine, config):
    lead_id = add_lead(engine)
    start(engine, config, lead_id)

    with pytest.raises(LeadTaken) as caught:
        start(engine, config, lead_id, sdr=OTHER_SDR)

    assert (caught.value.holder_user_id, caught.value.since) == (SDR, NOW)
    assert str(caught.value) == "lead is being qualified by U0SDR1"


def test_sdr_with_an_open_interview_cannot_start_another_lead(engine, config):
    first_id = add_lead(engine)
    second_id = add_lead(engine, email="bo@globex.example", company="Globex")
    start(engine, config, first_id)

    with pytest.raises(SdrBusy) as caught:
        start(engine, config, second_id)

    assert str(caught.value) == f"SDR is already qualifying lead {first_id}"
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Interview)) == 1


def test_lead_can_be_started_again_after_a_cancel(engine, config):
    lead_id = add_lead(engine)
    first = start(engine, config, lead_id)
    with session_scope(engine) as session:
        finish_interview(first, CANCELLED, user_id=SDR, session=session, now=LATER)

    second = start(engine, config, lead_id, sdr=OTHER_SDR)

    assert stored(engine, second).interview.status == ACTIVE


def test_answering_the_current_question_moves_to_the_next(engine, config):
    interview_id = start(engine, config, add_lead(engine))

    progress = answer(engine, interview_id, "pain", 2)

    assert progress == (True, "budget", False)
    state = stored(engine, interview_id)
    assert state.interview.current_criterion == "budget"
    pain = state.answers["pain"]
    assert (pain.level, pain.source, pain.answered_at) == (2, "button", LATER)


def test_answering_an_earlier_question_again_does_not_move_on(engine, config):
    interview_id = start(engine, config, add_lead(engine))
    answer(engine, interview_id, "pain", 2)

    progress = answer(engine, interview_id, "pain", 3)

    assert progress == (False, None, False)
    state = stored(engine, interview_id)
    assert state.interview.current_criterion == "budget"
    assert state.levels()["pain"] == 3


def test_last_answer_moves_the_interview_to_review(engine, config):
    interview_id = start(engine, config, add_lead(engine))
    for criterion in ["pain", "budget", "authority"]:
        answer(engine, interview_id, criterion, 2)

    progress = answer(engine, interview_id, "timeline", 1)

    assert progress == (True, None, True)
    state = stored(engine, interview_id)
    assert (state.interview.status, state.interview.current_criterion) == (
        REVIEW,
        None,
    )
    assert state.levels() == {
        "pain": 2,
        "fit": 3,
        "budget": 2,
        "authority": 2,
        "timeline": 1,
    }


def test_level_for_a_criterion_not_asked_is_refused(engine, config):
    interview_id = start(engine, config, add_lead(engine))

    with pytest.raises(InterviewError) as caught:
        answer(engine, interview_id, "engagement", 2)

    assert str(caught.value) == "criterion 'engagement' level 2 is not asked"


def test_another_user_cannot_answer_the_interview(engine, config):
    interview_id = start(engine, config, add_lead(engine))

    with pytest.raises(NotYourInterview) as caught:
        answer(engine, interview_id, "pain", 2, user=OTHER_SDR)

    assert caught.value.owner_user_id == SDR
    assert stored(engine, interview_id).levels() == {"fit": 3}


def test_cancelled_interview_refuses_answers(engine, config):
    interview_id = start(engine, config, add_lead(engine))
    with session_scope(engine) as session:
        finish_interview(
            interview_id, CANCELLED, user_id=SDR, session=session, now=LATER
        )

    with pytest.raises(InterviewClosed) as caught:
        answer(engine, interview_id, "pain", 2)

    assert caught.value.status == CANCELLED
    assert stored(engine, interview_id).answers["pain"].level is None


def test_note_goes_to_the_current_question_and_appends(engine, config):
    interview_id = start(engine, config, add_lead(engine))
    answer(engine, interview_id, "pain", 3)

    criteria = [
        note(engine, interview_id, "  Budget review in July "),
        note(engine, interview_id, "CFO wants a quote first"),
    ]

    assert criteria == ["budget", "budget"]
    state = stored(engine, interview_id)
    assert (
        state.answers["budget"].note == "Budget review in July\nCFO wants a quote first"
    )
    assert state.answers["pain"].note == ""


def test_note_at_the_review_goes_nowhere(engine, config):
    interview_id = start(engine, config, add_lead(engine))
    for criterion in ASKED:
        answer(engine, interview_id, criterion, 2)

    criterion = note(engine, interview_id, "One more thing")

    assert criterion is None
    assert "One more thing" not in stored(engine, interview_id).notes().values()


def test_interview_state_survives_a_restart(engine, database_url, config):
    interview_id = start(engine, config, add_lead(engine))
    answer(engine, interview_id, "pain", 2)
    note(engine, interview_id, "Budget review in July")
    engine.dispose()

    restarted = make_engine(database_url)
    try:
        state = stored(restarted, interview_id)
    finally:
        restarted.dispose()

    assert (state.interview.status, state.interview.current_criterion) == (
        ACTIVE,
        "budget",
    )
    assert state.levels() == {"pain": 2, "fit": 3}
    assert state.notes() == {"fit": FIT_FROM_DATA, "budget": "Budget review in July"}
    assert state.interview.started_at == NOW
    assert state.lead.company == "Northwind"


def test_two_sdrs_starting_one_lead_at_the_same_moment_get_one_interview(
    engine, config
):
    lead_id = add_lead(engine)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def start_as(sdr: str) -> None:
        barrier.wait()
        try:
            start(engine, config, lead_id, sdr=sdr)
            outcomes.append("started")
        except LeadTaken:
            outcomes.append("taken")

    threads = [
        threading.Thread(target=start_as, args=(f"U0RACE{n}",)) for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["started"] + ["taken"] * 7
    with session_scope(engine) as session:
        count = session.scalar(select(func.count()).select_from(Interview))
    assert count == 1
