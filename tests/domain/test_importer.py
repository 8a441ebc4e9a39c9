import hashlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlmodel import Session

from bot.db import make_engine, session_scope
from bot.domain import importer
from bot.domain.importer import (
    ImportFileError,
    RowError,
    import_events,
    import_leads,
)
from bot.models import Event, Lead

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "importer"
NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
HEADER = "email,name,title,company,domain,industry,employees,country"


def write_file(tmp_path: Path, text: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def stored_leads(engine) -> dict[str, Lead]:
    with Session(engine) as session:
        leads = session.scalars(select(Lead)).all()
    return {lead.email or lead.company: lead for lead in leads}


def stored_events(engine) -> list[Event]:
    with Session(engine) as session:
        statement = select(Event).order_by(Event.occurred_at)
        return list(session.scalars(statement).all())


def store_leads(engine, *emails: str) -> None:
    with session_scope(engine) as session:
        for email in emails:
            session.add(Lead(email=email, domain=email.partition("@")[2]))


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_good_leads_file_stores_every_lead_normalised(engine):
    path = FIXTURES / "leads.csv"

    result = import_leads(path, engine=engine, now=NOW)

    assert (result.kind, result.imported, result.updated) == ("leads", 3, 0)
    assert result.errors == []
    leads = stored_leads(engine)
    assert sorted(leads) == ["Initech", "ana@acme.com", "bo@globex.io"]
    ana = leads["ana@acme.com"]
    assert (ana.name, ana.title, ana.company) == ("Ana Silva", "VP Sales", "Acme")
    assert (ana.domain, ana.industry, ana.employees) == ("acme.com", "Software", 1200)
    assert (ana.country, ana.attributes) == ("US", {})
    assert ana.created_at == ana.updated_at == NOW
    assert leads["bo@globex.io"].domain == "globex.io"
    assert leads["Initech"].email is None
    assert leads["Initech"].domain == "initech.com"


def test_extra_columns_are_kept_as_attributes(engine):
    path = FIXTURES / "leads_extra_columns.csv"

    import_leads(path, engine=engine, now=NOW)

    leads = stored_leads(engine)
    assert leads["ana@acme.com"].attributes == {
        "source": "webinar",
        "Lifecycle Stage": "MQL",
    }
    assert leads["bo@globex.io"].attributes == {}


def test_reimported_lead_is_updated_with_the_non_empty_values_of_the_file(engine):
    import_leads(FIXTURES / "leads.csv", engine=engine, now=NOW)
    later = NOW + timedelta(days=1)

    result = import_leads(FIXTURES / "leads_update.csv", engine=engine, now=later)

    assert (result.imported, result.updated, result.errors) == (0, 1, [])
    ana = stored_leads(engine)["ana@acme.com"]
    assert (ana.name, ana.title) == ("Ana Silva", "Chief Revenue Officer")
    assert (ana.company, ana.domain, ana.employees) == ("Acme", "acme.com", 1500)
    assert ana.attributes == {"stage": "SQL"}
    assert (ana.created_at, ana.updated_at) == (NOW, later)
    assert count(engine, Lead) == 3


def test_a_domain_taken_from_the_email_keeps_a_stored_domain(engine, tmp_path):
    with session_scope(engine) as session:
        session.add(Lead(email="ana@gmail.com", domain="acme.com"))
    path = write_file(tmp_path, HEADER + "\nana@gmail.com,Ana,,Acme,,,,\n")

    import_leads(path, engine=engine, now=NOW)

    assert stored_leads(engine)["ana@gmail.com"].domain == "acme.com"


def test_importing_the_same_leads_file_twice_creates_no_duplicates(engine):
    path = FIXTURES / "leads.csv"
    import_leads(path, engine=engine, now=NOW)

    result = import_leads(path, engine=engine, now=NOW)

    assert (result.imported, result.updated) == (0, 3)
    assert count(engine, Lead) == 3


def test_bad_lead_rows_are_named_by_line_while_good_rows_are_stored(engine):
    path = FIXTURES / "leads_with_errors.csv"

    result = import_leads(path, engine=engine, now=NOW)

    assert result.errors == [
        RowError(4, "needs an email, or a company and a domain"),
        RowError(
            5, "employees must be a number of people like 1200 or 1,200, not 'lots'"
        ),
        RowError(6, "email is not an address like ana@acme.com"),
        RowError(
            10, "employees must be a number of people like 1200 or 1,200, not '-5'"
        ),
        RowError(
            11,
            "has 10 values but the header names 9 columns (is a comma in a value "
            "missing its quotes?)",
        ),
        RowError(13, "domain 'hooli' is not a domain like acme.com"),
        RowError(
            14,
            "employees must be a number of people like 1200 or 1,200, not '10 000'",
        ),
    ]
    leads = stored_leads(engine)
    assert sorted(leads) == ["Initech", "ana@acme.com", "dee@umbrella.com"]
    assert leads["ana@acme.com"].attributes == {
        "notes": "Met at SaaStr.\nWants a demo in May."
    }
    assert result.imported == 3


def test_bom_crlf_and_blank_lines_are_read_and_counted_in_line_numbers(
    engine, tmp_path
):
    text = (
        "\ufeff" + HEADER + "\r\n"
        "\r\n"
        "ana@acme.com,Ana Silva,,Acme,,,,US\r\n"
        ",,,,\r\n"
        "\r\n"
        "bo@globex.io,Bo Chen,,Globex,,,many,GB\r\n"
    )
    path = write_file(tmp_path, text)

    result = import_leads(path, engine=engine, now=NOW)

    assert result.imported == 1
    assert result.errors == [
        RowError(
            6, "employees must be a number of people like 1200 or 1,200, not 'many'"
        )
    ]
    assert stored_leads(engine)["ana@acme.com"].country == "US"


def test_missing_lead_columns_raise_an_error_naming_them(engine, tmp_path):
    path = write_file(
        tmp_path, "email,name,company,employees\nana@acme.com,Ana,Acme,5\n", "x.csv"
    )

    with pytest.raises(ImportFileError) as raised:
        import_leads(path, engine=engine, now=NOW)

    assert str(raised.value) == (
        "x.csv is missing the column(s) title, domain, industry, country; its "
        "header must name email,name,title,company,domain,industry,employees,"
        "country (more columns are kept too)."
    )
    assert count(engine, Lead) == 0


def test_header_columns_match_whatever_their_case(engine, tmp_path):
    path = write_file(tmp_path, HEADER.upper() + "\nana@acme.com,Ana,,Acme,,,,\n")

    result = import_leads(path, engine=engine, now=NOW)

    assert result.imported == 1


def test_a_column_named_twice_raises_an_error(engine, tmp_path):
    path = write_file(tmp_path, HEADER + ",Email\n", "x.csv")

    with pytest.raises(ImportFileError) as raised:
        import_leads(path, engine=engine, now=NOW)

    assert str(raised.value) == "x.csv: the header names email more than once."


def test_an_empty_file_raises_an_error_naming_the_header(engine, config, tmp_path):
    path = write_file(tmp_path, "\n\n", "x.csv")

    with pytest.raises(ImportFileError) as raised:
        import_events(path, engine=engine, config=config)

    assert str(raised.value) == (
        "x.csv is empty; its first line must be the header email,event,occurred_at."
    )


def test_a_file_that_is_not_utf8_raises_an_error(engine, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes((HEADER + "\nzoë@acme.com,Zoë,,,,,,\n").encode("latin-1"))

    with pytest.raises(ImportFileError) as raised:
        import_leads(path, engine=engine, now=NOW)

    assert str(raised.value) == (
        "x.csv is not UTF-8 text; if it is a spreadsheet, save it as CSV (UTF-8) "
        "and import that."
    )
    assert count(engine, Lead) == 0


def test_a_missing_file_raises_an_error(engine, tmp_path):
    path = tmp_path / "nowhere.csv"

    with pytest.raises(ImportFileError) as raised:
        import_leads(path, engine=engine, now=NOW)

    assert str(raised.value) == f"{path}: cannot be read (No such file or directory)."


def test_rows_repeated_across_batches_update_the_same_lead(
    engine, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    rows = [f"ana@acme.com,Ana {number},,Acme,,,,\n" for number in range(5)]
    path = write_file(tmp_path, HEADER + "\n" + "".join(rows))

    result = import_leads(path, engine=engine, now=NOW)

    assert (result.imported, result.updated, result.errors) == (1, 4, [])
    assert stored_leads(engine)["ana@acme.com"].name == "Ana 4"


def test_a_lead_stored_by_another_writer_mid_batch_is_updated_not_lost(
    engine, database_url, caplog
):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes the write lock at BEGIN; no writer can get in")
    other = make_engine(database_url)
    raced = []

    @sa_event.listens_for(engine, "before_cursor_execute")
    def store_ana_first(connection, cursor, statement, *args):
        if statement.startswith("INSERT INTO leads") and not raced:
            raced.append(statement)
            with session_scope(other) as session:
                session.add(Lead(email="ana@acme.com", company="Acme (CRM)"))

    result = import_leads(FIXTURES / "leads.csv", engine=engine, now=NOW)
    other.dispose()

    assert raced
    assert (
        "import batch refused; retrying row by row error=UniqueViolation"
        in caplog.messages
    )
    assert (result.imported, result.updated, result.errors) == (2, 1, [])
    assert stored_leads(engine)["ana@acme.com"].company == "Acme"
    assert count(engine, Lead) == 3


def test_events_with_offsets_and_z_are_stored_as_aware_utc(engine, config):
    store_leads(engine, "ana@acme.com", "bo@globex.io")

    result = import_events(FIXTURES / "events.csv", engine=engine, config=config)

    assert (result.kind, result.imported, result.duplicates) == ("events", 3, 0)
    assert (result.errors, result.unmapped) == ([], {})
    events = stored_events(engine)
    assert [(event.name, event.occurred_at) for event in events] == [
        ("pricing_page_view", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("demo_request", datetime(2024, 5, 2, 14, 30, tzinfo=UTC)),
        ("webinar_attended", datetime(2024, 5, 3, 14, 15, 0, 250000, tzinfo=UTC)),
    ]
    assert all(event.occurred_at.utcoffset() == timedelta(0) for event in events)
    assert [event.properties for event in events] == [{"campaign": "spring"}, {}, {}]
    assert [event.source for event in events] == ["csv", "csv", "csv"]


def test_event_dedupe_key_is_the_sha256_of_email_name_and_utc_time(engine, config):
    store_leads(engine, "ana@acme.com", "bo@globex.io")
    identity = "ana@acme.com\npricing_page_view\n2024-05-01T10:00:00+00:00"

    import_events(FIXTURES / "events.csv", engine=engine, config=config)

    first = stored_events(engine)[0]
    assert first.dedupe_key == hashlib.sha256(identity.encode()).hexdigest()


def test_event_time_without_an_offset_is_rejected(engine, config, tmp_path):
    store_leads(engine, "ana@acme.com")
    path = write_file(
        tmp_path,
        "email,event,occurred_at\n"
        "ana@acme.com,page_view,2024-05-01T10:00:00\n"
        "ana@acme.com,page_view,2024-05-01\n",
    )

    result = import_events(path, engine=engine, config=config)

    assert result.imported == 0
    assert result.errors == [
        RowError(
            2,
            "occurred_at '2024-05-01T10:00:00' has no time zone; add Z or an offset "
            "like +02:00 (the importer does not guess one)",
        ),
        RowError(
            3,
            "occurred_at '2024-05-01' has no time zone; add Z or an offset like "
            "+02:00 (the importer does not guess one)",
        ),
    ]


def test_event_time_that_is_not_iso_8601_is_rejected(engine, config, tmp_path):
    store_leads(engine, "ana@acme.com")
    path = write_file(
        tmp_path,
        "email,event,occurred_at\n"
        "ana@acme.com,page_view,yesterday\n"
        "ana@acme.com,page_view,2024-13-01T10:00:00Z\n"
        "ana@acme.com,page_view,2024-05-01T10:00:00Z\n",
    )

    result = import_events(path, engine=engine, config=config)

    assert result.imported == 1
    assert result.errors == [
        RowError(
            2,
            "occurred_at 'yesterday' is not an ISO 8601 time (write it like "
            "2024-05-01T14:30:00Z)",
        ),
        RowError(
            3,
            "occurred_at '2024-13-01T10:00:00Z' is not an ISO 8601 time (write it "
            "like 2024-05-01T14:30:00Z)",
        ),
    ]


def test_event_of_an_unknown_email_is_rejected(engine, config, tmp_path):
    store_leads(engine, "ana@acme.com")
    path = write_file(
        tmp_path,
        "email,event,occurred_at\n"
        "nobody@acme.com,page_view,2024-05-01T10:00:00Z\n"
        "ana@acme.com,page_view,2024-05-01T10:00:00Z\n"
        ",page_view,2024-05-01T10:00:00Z\n"
        "ana@acme.com,,2024-05-01T10:00:00Z\n",
    )

    result = import_events(path, engine=engine, config=config)

    assert result.imported == 1
    assert result.errors == [
        RowError(2, "no lead with this email; import it with `import leads` first"),
        RowError(4, "email is empty"),
        RowError(5, "event is empty"),
    ]


def test_importing_the_same_events_file_twice_adds_nothing_the_second_time(
    engine, config
):
    store_leads(engine, "ana@acme.com", "bo@globex.io")
    path = FIXTURES / "events.csv"
    import_events(path, engine=engine, config=config)

    result = import_events(path, engine=engine, config=config)

    assert (result.imported, result.duplicates, result.errors) == (0, 3, [])
    assert count(engine, Event) == 3


def test_an_event_repeated_within_one_file_is_stored_once(engine, config, tmp_path):
    store_leads(engine, "ana@acme.com")
    path = write_file(
        tmp_path,
        "email,event,occurred_at\n"
        "ana@acme.com,demo_request,2024-05-01T10:00:00Z\n"
        "ANA@acme.com,Demo Request,2024-05-01T12:00:00+02:00\n"
        "ana@acme.com,demo_request,2024-05-01T10:00:00Z\n",
    )

    result = import_events(path, engine=engine, config=config)

    assert (result.imported, result.duplicates, result.errors) == (1, 2, [])
    assert count(engine, Event) == 1


def test_an_event_repeated_across_batches_is_stored_once(
    engine, config, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    store_leads(engine, "ana@acme.com")
    row = "ana@acme.com,demo_request,2024-05-01T10:00:00Z\n"
    path = write_file(tmp_path, "email,event,occurred_at\n" + row * 5)

    result = import_events(path, engine=engine, config=config)

    assert (result.imported, result.duplicates) == (1, 4)


def test_unmapped_event_names_are_imported_and_counted_by_name(engine, config):
    store_leads(engine, "ana@acme.com", "bo@globex.io")
    path = FIXTURES / "events_unmapped.csv"

    result = import_events(path, engine=engine, config=config)

    assert result.imported == 4
    assert result.unmapped == {"webinar_registered": 2, "podcast_listen": 1}
    assert count(engine, Event) == 4


def test_missing_event_columns_raise_an_error_naming_them(engine, config, tmp_path):
    path = write_file(tmp_path, "email,event\nana@acme.com,page_view\n", "e.csv")

    with pytest.raises(ImportFileError) as raised:
        import_events(path, engine=engine, config=config)

    assert str(raised.value) == (
        "e.csv is missing the column(s) occurred_at; its header must name "
        "email,event,occurred_at (more columns are kept too)."
    )


def test_a_finished_import_is_logged_once_without_emails(engine, caplog):
    caplog.set_level(logging.INFO, logger="bot.domain.importer")

    import_leads(FIXTURES / "leads.csv", engine=engine, now=NOW)

    assert [record.getMessage() for record in caplog.records] == [
        "import finished kind=leads file=leads.csv imported=3 updated=0 "
        "duplicates=0 errors=0 unmapped=0"
    ]


def test_an_unclosed_quote_is_named_instead_of_swallowing_the_lines_after_it(
    engine, tmp_path
):
    path = write_file(
        tmp_path,
        f"{HEADER}\n"
        "a@x.example,Ann,,X,x.example,,,\n"
        'q@q.example,"Quinn,,Q,q.example,,,\n'
        "b@y.example,Bob,,Y,y.example,,,\n"
        'c@z.example,"Cy",,Z,z.example,,,\n',
    )

    result = import_leads(path, engine=engine)

    assert [(e.line, e.reason) for e in result.errors] == [
        (
            3,
            'a value runs over 3 lines, which usually means a quote (") opened on '
            "this line is never closed; the lines it swallowed were not imported "
            "either",
        )
    ]
    assert sorted(stored_leads(engine)) == ["a@x.example"]


def test_an_unclosed_quote_in_a_large_file_stops_the_import_before_writing(
    engine, tmp_path
):
    rows = [f"p{n}@x.example,P{n},,X,x.example,,," for n in range(400)]
    rows[5] = 'q@q.example,"Quinn,,Q,q.example,,,'
    path = write_file(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")

    with pytest.raises(ImportFileError) as caught:
        import_leads(path, engine=engine)

    assert str(caught.value).startswith("line 7: a value runs over 10,000 characters")
    assert count(engine, Lead) == 0


def test_a_nul_byte_rejects_its_row_and_keeps_the_others(engine, tmp_path):
    path = write_file(
        tmp_path,
        f"{HEADER}\na@x.example,A\x00nn,,X,x.example,,,\nb@y.example,Bob,,Y,y.example,,,\n",
    )

    result = import_leads(path, engine=engine)

    assert [(e.line, e.reason) for e in result.errors] == [
        (2, "the row contains a NUL byte (\\x00); remove it and import the row again")
    ]
    assert sorted(stored_leads(engine)) == ["b@y.example"]


def test_an_owner_user_id_column_sets_the_lead_owner(engine, tmp_path):
    path = write_file(
        tmp_path,
        f"{HEADER},owner_user_id\n"
        "a@x.example,Ann,,X,x.example,,,,U0AE2\n"
        "b@y.example,Bob,,Y,y.example,,,,alex\n",
    )

    result = import_leads(path, engine=engine)

    lead = stored_leads(engine)["a@x.example"]
    assert (lead.owner_user_id, lead.attributes) == ("U0AE2", {})
    assert [(e.line, e.reason) for e in result.errors] == [
        (3, "owner_user_id 'alex' is not a Slack user ID like U0123ABCD")
    ]


def test_a_semicolon_separated_file_is_told_to_use_commas(engine, tmp_path):
    path = write_file(tmp_path, HEADER.replace(",", ";") + "\na@x.example;Ann;;;;;;\n")

    with pytest.raises(ImportFileError) as caught:
        import_leads(path, engine=engine)

    assert str(caught.value).endswith(
        "The header looks split by another character: save as comma-separated CSV."
    )


def test_an_event_name_too_long_to_be_one_is_rejected(engine, config, tmp_path):
    store_leads(engine, "a@x.example")
    path = write_file(
        tmp_path,
        "email,event,occurred_at\n"
        f"a@x.example,{'x' * 201},2026-12-01T10:00:00Z\n"
        "a@x.example,pricing_page_view,2026-12-01T10:00:00Z\n",
    )

    result = import_events(path, engine=engine, config=config)

    assert [(e.line, e.reason) for e in result.errors] == [
        (2, "event name is over 200 characters; is the event column the right one?")
    ]
    assert result.imported == 1
