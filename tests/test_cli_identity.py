"""`forget` and `merge` as an operator meets them."""

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.__main__ import main
from bot.db import make_engine, session_scope, upgrade_database
from bot.models import Event, Lead
from tests.domain.test_identity import add_interview, add_person
from tests.factories import add_events, add_lead


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """The CLI's own SQLite database, migrated, for the test to fill."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    upgrade_database(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def leads(engine) -> list[str | None]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Lead.email).order_by(Lead.id)))


def test_forget_with_yes_prints_what_it_removed_and_the_posts_to_delete(engine):
    lead_id = add_person(engine, "dana@northwind.example")

    result = run("forget", "dana@northwind.example", "--yes")

    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"Forgot lead {lead_id} (Dana Lee (Northwind)): removed 1 lead, 2 events, "
        "1 identity, 1 moment, 1 MQL, 1 answer, 1 interview, 1 decision, "
        "1 handoff.",
        "Slack messages about this lead, to delete by hand (Qualify deletes none):",
        "  MQL 1 queue post: channel C0QUEUE, ts 1700000001.000100",
        "  question (budget) to U0SDR1: channel DU0SDR1, ts 1700000001.000100",
        "  review to U0SDR1: channel DU0SDR1, ts 1700000002.000100",
        "  decision post (sql): "
        "https://acme.slack.com/archives/C0SQL/p1700000003000100 "
        "(channel C0SQL, ts 1700000003.000100)",
        "  handoff DM to U0AE1: channel DU0AE1, ts 1700000004.000100",
        "  handoff post: channel C0HANDOFF, ts 1700000005.000100",
    ]
    assert leads(engine) == []


def test_forget_asks_first_and_keeps_the_lead_when_told_no(engine):
    lead_id = add_lead(engine, email="dana@northwind.example")

    result = run("forget", "dana@northwind.example", input="n\n")

    assert result.exit_code == 1
    assert result.output.startswith(
        f"Erase lead {lead_id} (Dana Lee (Northwind)) and everything stored about "
        "them? This cannot be undone [y/N]: n\nAborted!"
    )
    assert leads(engine) == ["dana@northwind.example"]


def test_forget_erases_when_the_operator_confirms(engine):
    add_lead(engine, email="dana@northwind.example")

    result = run("forget", "dana@northwind.example", input="y\n")

    assert result.exit_code == 0
    assert "removed 1 lead." in result.output
    assert leads(engine) == []


def test_forget_of_an_unknown_email_exits_1_saying_so(engine):
    add_lead(engine, email="dana@northwind.example")

    result = run("forget", "ana@acme.com", "--yes")

    assert result.exit_code == 1
    assert result.output == (
        "Error: no lead has the email address a***@acme.com; check the spelling\n"
    )
    assert leads(engine) == ["dana@northwind.example"]


def test_forget_of_text_that_is_not_an_address_names_the_argument(engine):
    result = run("forget", "dana", "--yes")

    assert result.exit_code == 2
    assert (
        "Invalid value for EMAIL: not an email address like ana@acme.com: it has no @"
        in result.output
    )


def test_merge_by_emails_prints_what_moved(engine):
    keep_id = add_lead(engine, email="dana@northwind.example", title="")
    add_events(engine, keep_id, ("web_visit", 1))
    other_id = add_lead(engine, email="dana.lee@gmail.com", title="COO", name="Dana")
    add_events(engine, other_id, ("pricing_page_view", 1), ("demo_request", 2))

    result = run("merge", "dana@northwind.example", "Dana.Lee@gmail.com", "--yes")

    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"Merged lead {other_id} into lead {keep_id} (Dana Lee (Northwind)); "
        f"lead {other_id} is deleted.",
        "  moved: 2 events",
        f"  filled from lead {other_id}: title",
        f"  kept lead {keep_id}'s own value, unlike lead {other_id}'s: name",
        f"  dana.lee@gmail.com now finds lead {keep_id}",
    ]
    with session_scope(engine) as session:
        assert set(session.scalars(select(Event.lead_id))) == {keep_id}
    assert leads(engine) == ["dana@northwind.example"]


def test_merge_by_lead_ids(engine):
    keep_id = add_lead(engine, email=None, company="Northwind")
    other_id = add_lead(engine, email="dana@northwind.example")

    result = run("merge", str(keep_id), str(other_id), "--yes")

    assert result.exit_code == 0
    assert "  moved: nothing\n" in result.output
    assert leads(engine) == ["dana@northwind.example"]


def test_merge_of_two_leads_in_interviews_exits_1_naming_what_to_finish(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    other_id = add_lead(engine, email="dana.lee@gmail.com")
    ours = add_interview(engine, keep_id, sdr="U0SDR1")
    theirs = add_interview(engine, other_id, sdr="U0SDR2")

    result = run("merge", str(keep_id), str(other_id), "--yes")

    assert result.exit_code == 1
    assert result.output == (
        f"Error: both leads have an interview open (lead {keep_id}: interview "
        f"{ours} by U0SDR1; lead {other_id}: interview {theirs} by U0SDR2); submit "
        "or cancel one of them in Slack (/qualify cancel), then merge again\n"
    )
    assert leads(engine) == ["dana@northwind.example", "dana.lee@gmail.com"]


def test_merge_with_an_unknown_lead_id_exits_1(engine):
    keep_id = add_lead(engine)

    result = run("merge", str(keep_id), "999", "--yes")

    assert result.exit_code == 1
    assert result.output == "Error: no lead has ID 999\n"


def test_merge_with_text_that_is_neither_an_id_nor_an_address_names_it(engine):
    add_lead(engine)

    result = run("merge", "dana@northwind.example", "northwind", "--yes")

    assert result.exit_code == 2
    assert "Invalid value for OTHER: not an email address like ana@acme.com: " in (
        result.output
    )
    assert "(or give a lead ID)" in result.output


def test_merge_of_a_lead_with_itself_through_its_old_address_is_refused(engine):
    keep_id = add_lead(engine, email="dana@northwind.example")
    other_id = add_lead(engine, email="dana.lee@gmail.com")
    run("merge", str(keep_id), str(other_id), "--yes")

    result = run("merge", "dana@northwind.example", "dana.lee@gmail.com", "--yes")

    assert result.exit_code == 1
    assert result.output == f"Error: lead {keep_id} cannot be merged with itself\n"


def test_merge_asks_first_naming_both_leads_and_no_changes_nothing(engine):
    keep_id = add_lead(engine, email="bo@globex.example", company="Globex")
    other_id = add_lead(engine, email="eve@stark.example", company="Stark")

    result = run("merge", str(keep_id), str(other_id), input="n\n")

    assert result.exit_code == 1
    assert (
        f"Merge lead {other_id} (Dana Lee (Stark)) into lead {keep_id} "
        f"(Dana Lee (Globex)) and delete lead {other_id}?"
    ) in result.output
    assert leads(engine) == ["bo@globex.example", "eve@stark.example"]


def test_a_lead_id_beyond_any_database_is_simply_not_found(engine):
    result = run("merge", "999999999999999999999", "1", "--yes")

    assert result.exit_code == 1
    assert "no lead has ID 999999999999999999999" in result.output
