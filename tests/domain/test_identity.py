import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.domain.identity import (
    EmailError,
    LeadNotFound,
    MergeRefused,
    SlackMessage,
    company_domain,
    find_lead,
    find_person,
    forget_person,
    mask_email,
    merge_leads,
    normalise_email,
)
from bot.models import (
    Answer,
    Decision,
    Event,
    Handoff,
    Interview,
    Lead,
    LeadIdentity,
    LeadMoment,
    MatrixVersion,
    Mql,
)
from tests.factories import add_events, add_lead

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
LEAD_TABLES = (Event, LeadIdentity, Interview, Decision, Handoff, Mql, LeadMoment)


def add_identity(engine, lead_id: int, kind: str, value: str) -> None:
    with session_scope(engine) as session:
        session.add(LeadIdentity(kind=kind, value=value, lead_id=lead_id))


def add_interview(
    engine, lead_id: int, *, status: str = "active", sdr: str = "U0SDR1"
) -> int:
    """An interview with one asked question, its review posted."""
    with session_scope(engine) as session:
        if session.get(MatrixVersion, "v1") is None:
            session.add(MatrixVersion(version="v1", name="test", content={}))
            session.flush()
        interview = Interview(
            lead_id=lead_id,
            sdr_user_id=sdr,
            dm_channel_id=f"D{sdr}",
            status=status,
            questions=["budget"],
            review_ts="1700000002.000100",
            matrix_version="v1",
        )
        session.add(interview)
        session.flush()
        session.add(
            Answer(
                interview_id=interview.id,
                criterion="budget",
                level=2,
                note="money set aside for Q3",
                question_ts="1700000001.000100",
            )
        )
        return interview.id


def add_decision(engine, lead_id: int, interview_id: int) -> int:
    """An SQL decision, posted, with its handoff DM'd and posted."""
    with session_scope(engine) as session:
        decision = Decision(
            interview_id=interview_id,
            lead_id=lead_id,
            sdr_user_id="U0SDR1",
            outcome="sql",
            total=29,
            max_total=33,
            threshold=20,
            breakdown=[],
            reasons=[],
            signals=[],
            matrix_version="v1",
            channel_id="C0SQL",
            message_ts="1700000003.000100",
            permalink="https://acme.slack.com/archives/C0SQL/p1700000003000100",
        )
        session.add(decision)
        session.flush()
        session.add(
            Handoff(
                decision_id=decision.id,
                lead_id=lead_id,
                ae_user_id="U0AE1",
                dm_channel_id="DU0AE1",
                dm_ts="1700000004.000100",
                channel_id="C0HANDOFF",
                channel_ts="1700000005.000100",
            )
        )
        return decision.id


def add_mql(engine, lead_id: int, *, status: str = "posted") -> int:
    with session_scope(engine) as session:
        mql = Mql(
            lead_id=lead_id,
            reached_at=NOW,
            reason="score",
            engagement_level=2,
            status=status,
            channel_id="C0QUEUE" if status != "new" else None,
            message_ts=f"17000000{lead_id:02}.000100" if status != "new" else None,
        )
        session.add(mql)
        session.flush()
        session.add(LeadMoment(lead_id=lead_id, kind="mql", at=NOW))
        return mql.id


def add_person(engine, email: str, **fields) -> int:
    """A lead with two events, an identity, a decided interview and an MQL."""
    lead_id = add_lead(engine, email=email, **fields)
    add_events(engine, lead_id, ("pricing_page_view", 1), ("demo_request", 2), now=NOW)
    add_identity(engine, lead_id, "user_id", f"segment-{lead_id}")
    interview_id = add_interview(engine, lead_id, status="submitted")
    add_decision(engine, lead_id, interview_id)
    add_mql(engine, lead_id, status="claimed")
    return lead_id


def rows_of(engine, lead_id: int) -> dict[str, int]:
    with session_scope(engine) as session:
        return {
            model.__tablename__: session.scalar(
                select(func.count()).select_from(model).where(model.lead_id == lead_id)
            )
            for model in LEAD_TABLES
        }


def lead_of(engine, lead_id: int) -> Lead | None:
    with session_scope(engine) as session:
        return session.get(Lead, lead_id)


def merge(engine, keep_id: int, other_id: int):
    with session_scope(engine) as session:
        return merge_leads(keep_id, other_id, session=session, now=NOW)


def forget(engine, email: str):
    with session_scope(engine) as session:
        return forget_person(email, session=session)


def test_an_email_is_stripped_and_lowercased():
    assert normalise_email("  Ana.Lopez@ACME.com \t") == "ana.lopez@acme.com"


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_email_is_none(value):
    assert normalise_email(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ana.acme.com", "it has no @"),
        ("@acme.com", "nothing comes before the @"),
        ("ana lopez@acme.com", "it has a space before the @"),
        ("ana@acme", "'acme' after the @ is not a domain"),
        ("ana@", "nothing comes after the @"),
        ("ana@acme..com", "'acme..com' after the @ is not a domain"),
        ("a" * 312 + "@acme.com", "it is longer than 320 characters"),
    ],
)
def test_text_that_is_not_an_address_is_refused_with_the_reason(value, reason):
    with pytest.raises(EmailError) as raised:
        normalise_email(value)

    assert raised.value.reason == reason
    assert str(raised.value) == f"not an email address like ana@acme.com: {reason}"
    assert isinstance(raised.value, ValueError)


def test_a_work_address_gives_its_company_domain():
    assert company_domain("Ana@Northwind.Example") == "northwind.example"


@pytest.mark.parametrize(
    "email",
    [
        "ana@gmail.com",
        "ana@googlemail.com",
        "ana@yahoo.com",
        "ana@yahoo.co.uk",
        "ana@hotmail.fr",
        "ana@outlook.com",
        "ana@icloud.com",
        "ana@proton.me",
        "ana@gmx.de",
        "ana@yandex.ru",
        "ana@mail.ru",
        "ana@qq.com",
        "ana@163.com",
    ],
)
def test_a_personal_mailbox_gives_no_company_domain(email):
    assert company_domain(email) is None


def test_a_company_named_like_a_provider_keeps_its_domain():
    assert company_domain("ana@yandex-team.ru") == "yandex-team.ru"


def test_no_email_gives_no_company_domain():
    assert company_domain(None) is None
    assert company_domain("") is None


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("ana.lopez@acme.com", "a***@acme.com"),
        (" Ana@Acme.com ", "A***@Acme.com"),
        ("@acme.com", "***@acme.com"),
        ("not an address", "***"),
        (None, "***"),
    ],
)
def test_a_masked_email_shows_only_its_first_letter_and_domain(email, masked):
    assert mask_email(email) == masked


def test_a_lead_is_found_by_its_id_or_by_its_address(engine):
    lead_id = add_lead(engine, email="dana@northwind.example")

    with session_scope(engine) as session:
        assert find_lead(f" {lead_id} ", session=session).id == lead_id
        assert find_lead("Dana@Northwind.example", session=session).id == lead_id
        with pytest.raises(LeadNotFound, match="no lead has ID 999"):
            find_lead("999", session=session)
        # Not an ASCII number, so read as an address, not as an ID.
        with pytest.raises(EmailError, match="it has no @"):
            find_lead("\u00b2", session=session)


def test_merging_moves_every_event_and_record_of_the_other_lead(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    add_events(engine, keep_id, ("web_visit", 3), now=NOW)
    other_id = add_person(engine, "dana.lee@gmail.com")
    before = rows_of(engine, other_id)

    report = merge(engine, keep_id, other_id)

    assert report.moved == {
        "events": 2,
        "identities": 1,
        "interviews": 1,
        "decisions": 1,
        "handoffs": 1,
        "mqls": 1,
        "moments": 1,
    }
    assert lead_of(engine, other_id) is None
    assert rows_of(engine, other_id) == dict.fromkeys(before, 0)
    assert rows_of(engine, keep_id) == {
        **before,
        "events": 3,
        # The other lead's address is kept as an identity of the kept lead.
        "lead_identities": 2,
    }


def test_merging_fills_the_kept_leads_empty_fields_and_keeps_its_own_values(engine):
    keep_id = add_lead(
        engine,
        email="dana@northwind.example",
        title="",
        industry="",
        employees=None,
        attributes={"plan": "team", "source": "webinar"},
    )
    other_id = add_lead(
        engine,
        email="dana.lee@gmail.com",
        name="Dana L.",
        title="COO",
        industry="Logistics",
        employees=450,
        owner_user_id="U0AE1",
        sdr_user_id="U0SDR2",
        attributes={"plan": "free", "region": "west"},
    )

    report = merge(engine, keep_id, other_id)

    lead = lead_of(engine, keep_id)
    assert (lead.name, lead.title, lead.industry, lead.employees) == (
        "Dana Lee",
        "COO",
        "Logistics",
        450,
    )
    assert (lead.owner_user_id, lead.sdr_user_id) == ("U0AE1", "U0SDR2")
    assert lead.attributes == {"plan": "team", "source": "webinar", "region": "west"}
    assert lead.updated_at == NOW
    assert report.filled == [
        "title",
        "industry",
        "employees",
        "owner_user_id",
        "sdr_user_id",
    ]
    assert report.differing == ["name"]


def test_a_personal_domain_gives_way_to_the_other_leads_company_domain(engine):
    keep_id = add_lead(engine, email="dana.lee@gmail.com", domain="gmail.com")
    other_id = add_lead(
        engine, email="dana@northwind.example", domain="northwind.example"
    )

    report = merge(engine, keep_id, other_id)

    assert lead_of(engine, keep_id).domain == "northwind.example"
    assert "domain" in report.filled


def test_the_merged_address_still_finds_the_person(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    other_id = add_lead(engine, email="dana.lee@gmail.com")

    report = merge(engine, keep_id, other_id)

    assert report.email_alias == "dana.lee@gmail.com"
    with session_scope(engine) as session:
        assert find_person(" Dana.Lee@gmail.com", session=session).id == keep_id


def test_a_kept_lead_without_an_email_takes_the_other_leads(engine):
    keep_id = add_lead(engine, email=None, company="Northwind")
    other_id = add_lead(engine, email="dana@northwind.example")

    merge(engine, keep_id, other_id)

    assert lead_of(engine, keep_id).email == "dana@northwind.example"
    assert rows_of(engine, keep_id)["lead_identities"] == 0


def test_merging_when_only_the_other_lead_has_an_open_interview_moves_it(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    other_id = add_lead(engine, email="dana.lee@gmail.com")
    interview_id = add_interview(engine, other_id, status="review")

    merge(engine, keep_id, other_id)

    with session_scope(engine) as session:
        assert session.get(Interview, interview_id).lead_id == keep_id


def test_merging_two_leads_that_both_have_an_open_interview_changes_nothing(engine):
    keep_id = add_person(engine, "dana@northwind.example")
    other_id = add_person(engine, "dana.lee@gmail.com")
    ours = add_interview(engine, keep_id, sdr="U0SDR1")
    theirs = add_interview(engine, other_id, sdr="U0SDR2", status="review")
    before = [
        lead_of(engine, keep_id).model_dump(),
        lead_of(engine, other_id).model_dump(),
    ]
    rows_before = [rows_of(engine, keep_id), rows_of(engine, other_id)]

    # The caller goes on and commits: a refusal must have written nothing.
    with session_scope(engine) as session, pytest.raises(MergeRefused) as refused:
        merge_leads(keep_id, other_id, session=session, now=NOW)

    assert str(refused.value) == (
        f"both leads have an interview open (lead {keep_id}: interview {ours} by "
        f"U0SDR1; lead {other_id}: interview {theirs} by U0SDR2); submit or cancel "
        "one of them in Slack (/qualify cancel), then merge again"
    )
    after = [
        lead_of(engine, keep_id).model_dump(),
        lead_of(engine, other_id).model_dump(),
    ]
    assert after == before
    assert [rows_of(engine, keep_id), rows_of(engine, other_id)] == rows_before


def test_of_two_open_mqls_the_other_leads_is_closed_and_its_post_listed(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    other_id = add_lead(engine, email="dana.lee@gmail.com")
    kept = add_mql(engine, keep_id, status="posted")
    closed = add_mql(engine, other_id, status="posted")

    report = merge(engine, keep_id, other_id)

    with session_scope(engine) as session:
        assert session.get(Mql, kept).status == "posted"
        assert session.get(Mql, closed).status == "closed"
        assert session.get(Mql, closed).lead_id == keep_id
    assert report.closed_mql_id == closed
    assert report.slack_messages == [
        SlackMessage(
            f"MQL {closed} queue post", "C0QUEUE", f"17000000{other_id:02}.000100"
        )
    ]


def test_of_two_open_mqls_a_claimed_one_stays_open_whoever_held_it(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    other_id = add_lead(engine, email="dana.lee@gmail.com")
    unclaimed = add_mql(engine, keep_id, status="new")
    claimed = add_mql(engine, other_id, status="claimed")

    report = merge(engine, keep_id, other_id)

    with session_scope(engine) as session:
        assert session.get(Mql, claimed).status == "claimed"
        assert session.get(Mql, unclaimed).status == "closed"
    assert report.closed_mql_id == unclaimed
    assert report.slack_messages == []


def test_a_lead_cannot_be_merged_with_itself(engine):
    lead_id = add_lead(engine)

    with pytest.raises(MergeRefused, match=f"lead {lead_id} cannot be merged with"):
        merge(engine, lead_id, lead_id)

    assert lead_of(engine, lead_id) is not None


def test_merging_with_a_lead_that_does_not_exist_names_its_id(engine):
    lead_id = add_lead(engine)

    with pytest.raises(LeadNotFound, match="no lead has ID 999"):
        merge(engine, lead_id, 999)


def test_a_merge_is_undone_with_the_callers_transaction(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    other_id = add_person(engine, "dana.lee@gmail.com")
    rows_before = rows_of(engine, other_id)

    with pytest.raises(RuntimeError), session_scope(engine) as session:
        merge_leads(keep_id, other_id, session=session, now=NOW)
        raise RuntimeError("the caller's next step failed")

    assert lead_of(engine, other_id).email == "dana.lee@gmail.com"
    assert rows_of(engine, other_id) == rows_before


def test_forgetting_a_person_removes_everything_and_counts_it(engine):
    lead_id = add_person(engine, "dana@northwind.example")
    add_interview(engine, lead_id, status="active", sdr="U0SDR2")

    report = forget(engine, " Dana@Northwind.example")

    assert report.lead_id == lead_id
    assert report.removed == {
        "handoffs": 1,
        "decisions": 1,
        "answers": 2,
        "interviews": 2,
        "mqls": 1,
        "moments": 1,
        "events": 2,
        "identities": 1,
        "leads": 1,
    }
    assert lead_of(engine, lead_id) is None
    assert set(rows_of(engine, lead_id).values()) == {0}
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Answer)) == 0


def test_forgetting_lists_the_slack_messages_posted_about_the_person(engine):
    lead_id = add_person(engine, "dana@northwind.example")
    mql_id = _all(engine, Mql)[0].id

    report = forget(engine, "dana@northwind.example")

    assert report.slack_messages == [
        SlackMessage(
            f"MQL {mql_id} queue post", "C0QUEUE", f"17000000{lead_id:02}.000100"
        ),
        SlackMessage("question (budget) to U0SDR1", "DU0SDR1", "1700000001.000100"),
        SlackMessage("review to U0SDR1", "DU0SDR1", "1700000002.000100"),
        SlackMessage(
            "decision post (sql)",
            "C0SQL",
            "1700000003.000100",
            "https://acme.slack.com/archives/C0SQL/p1700000003000100",
        ),
        SlackMessage("handoff DM to U0AE1", "DU0AE1", "1700000004.000100"),
        SlackMessage("handoff post", "C0HANDOFF", "1700000005.000100"),
    ]


def test_forgetting_a_person_leaves_everyone_else_alone(engine):
    forgotten = add_person(engine, "dana@northwind.example")
    kept = add_person(engine, "sam@northwind.example")
    rows_before = rows_of(engine, kept)

    forget(engine, "dana@northwind.example")

    assert lead_of(engine, forgotten) is None
    assert lead_of(engine, kept).email == "sam@northwind.example"
    assert rows_of(engine, kept) == rows_before


def test_forgetting_an_address_merged_into_another_lead_forgets_that_lead(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    other_id = add_person(engine, "dana.lee@gmail.com")
    merge(engine, keep_id, other_id)

    report = forget(engine, "dana.lee@gmail.com")

    assert report.lead_id == keep_id
    assert report.removed["events"] == 2
    assert lead_of(engine, keep_id) is None


def test_forgetting_an_unknown_email_says_so_without_the_full_address(engine):
    lead_id = add_lead(engine, email="dana@northwind.example")

    with pytest.raises(LeadNotFound) as missing:
        forget(engine, "ana.lopez@acme.com")

    assert str(missing.value) == (
        "no lead has the email address a***@acme.com; check the spelling"
    )
    assert lead_of(engine, lead_id) is not None


def test_forgetting_text_that_is_not_an_address_gives_the_reason(engine):
    with pytest.raises(EmailError, match="it has no @"):
        forget(engine, "dana")


def test_merge_and_forget_log_no_full_email_above_debug(engine, caplog):
    caplog.set_level(logging.DEBUG)
    keep_id = add_person(engine, "ana.lopez@acme.com")
    other_id = add_person(engine, "ana.lopez.private@gmail.com")

    merge(engine, keep_id, other_id)
    forget(engine, "ana.lopez.private@gmail.com")
    with pytest.raises(LeadNotFound):
        forget(engine, "ana.lopez@acme.com")

    logged = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert any(message.startswith("leads merged") for message in logged)
    assert any(message.startswith("lead forgotten") for message in logged)
    assert [message for message in logged if "ana.lopez" in message] == []


def _all(engine, model) -> list:
    with session_scope(engine) as session:
        return list(session.scalars(select(model)))
