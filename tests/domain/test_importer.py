import csv
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
from bot.domain.exports import RowRejected, TimeReader
from bot.domain.importer import (
    ImportFileError,
    RowError,
    find_zone,
    import_events,
    import_leads,
)
from bot.domain.presets import PRESETS
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


def test_bad_lead_rows_are_named_by_line_while_good_rows_are_stored(engine, tmp_path):
    # Copied, so that its rejected file is written beside the copy.
    path = tmp_path / "leads_with_errors.csv"
    path.write_bytes((FIXTURES / "leads_with_errors.csv").read_bytes())

    result = import_leads(path, engine=engine, now=NOW)

    assert result.errors == [
        RowError(4, "needs an email, or a company and a domain"),
        RowError(
            5, "employees must be a number of people like 1200 or 1,200, not 'lots'"
        ),
        RowError(6, "email is not an address like ana@acme.com (it has no @)"),
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


def test_event_time_without_an_offset_and_no_zone_is_rejected_naming_tz(
    engine, config, tmp_path
):
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
            "occurred_at '2024-05-01T10:00:00' has no time zone; pass --tz with the "
            "zone the file was written in (like --tz Europe/Berlin), or add Z or an "
            "offset like +02:00 (the importer does not guess one)",
        ),
        RowError(
            3,
            "occurred_at '2024-05-01' has no time zone; pass --tz with the zone the "
            "file was written in (like --tz Europe/Berlin), or add Z or an offset "
            "like +02:00 (the importer does not guess one)",
        ),
    ]


def test_event_time_without_an_offset_is_read_in_the_given_zone(
    engine, config, tmp_path
):
    store_leads(engine, "ana@acme.com")
    path = write_file(
        tmp_path,
        "email,event,occurred_at\n"
        "ana@acme.com,page_view,2024-01-15 09:30\n"
        "ana@acme.com,demo_request,2024-07-15T09:30:00\n"
        "ana@acme.com,webinar,2024-07-16\n"
        "ana@acme.com,pricing_page_view,2024-07-17T09:30:00+02:00\n",
    )

    result = import_events(
        path, engine=engine, config=config, zone=find_zone("Europe/Berlin")
    )

    assert (result.imported, result.errors) == (4, [])
    assert [event.occurred_at for event in stored_events(engine)] == [
        datetime(2024, 1, 15, 8, 30, tzinfo=UTC),
        datetime(2024, 7, 15, 7, 30, tzinfo=UTC),
        # A date alone is the start of that day in the zone.
        datetime(2024, 7, 15, 22, 0, tzinfo=UTC),
        datetime(2024, 7, 17, 7, 30, tzinfo=UTC),
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


def test_an_unclosed_quote_in_a_large_file_stops_after_storing_the_rows_before_it(
    engine, tmp_path
):
    rows = [f"p{n}@x.example,P{n},,X,x.example,,," for n in range(400)]
    rows[5] = 'q@q.example,"Quinn,,Q,q.example,,,'
    path = write_file(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n", "x.csv")

    with pytest.raises(ImportFileError) as caught:
        import_leads(path, engine=engine)

    assert str(caught.value) == (
        "x.csv: line 7: a value runs over 10,000 characters, which almost always "
        'means a quote (") opened there is never closed; fix the quoting and import '
        "again. The 5 rows before it were read and the good ones stored; importing "
        "the fixed file again does not add them twice."
    )
    assert caught.value.result.imported == 5
    assert count(engine, Lead) == 5


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


EXPORTS = FIXTURES.parent / "exports"
NEW_YORK = find_zone("America/New_York")


def copy_export(tmp_path: Path, name: str) -> Path:
    """A fixture export copied where its rejected file may be written."""
    path = tmp_path / name
    path.write_bytes((EXPORTS / name).read_bytes())
    return path


def read_rejected(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_a_hubspot_contacts_export_is_read_with_its_own_column_names(engine, tmp_path):
    path = copy_export(tmp_path, "hubspot_contacts.csv")

    result = import_leads(path, engine=engine, now=NOW, preset="hubspot")

    assert (result.imported, result.updated, result.rejected) == (2, 1, 3)
    ana = stored_leads(engine)["ana@acme.com"]
    assert (ana.name, ana.title, ana.company) == ("Ana Silva", "VP Sales", "Acme, Inc.")
    assert (ana.domain, ana.industry, ana.employees) == ("acme.com", "Software", 1200)
    assert (ana.country, ana.owner_user_id) == ("United States", None)
    assert ana.attributes == {
        "Record ID": "101",
        "Phone Number": "+1 555 0100",
        "Contact owner": "Sam Sales",
        "Create Date": "2024-03-12 09:14",
        "Lifecycle Stage": "Marketing Qualified Lead",
    }
    assert stored_leads(engine)["bo@globex.io"].domain == "globex.io"


def test_rejected_rows_are_written_beside_the_file_with_line_and_reason(
    engine, tmp_path
):
    path = copy_export(tmp_path, "hubspot_contacts.csv")

    result = import_leads(path, engine=engine, now=NOW, preset="hubspot")

    assert result.rejected_path == tmp_path / "hubspot_contacts.rejected.csv"
    rows = read_rejected(result.rejected_path)
    assert rows[0][:4] == ["line", "reason", "Record ID", "First Name"]
    assert [(row[0], row[1], row[2]) for row in rows[1:]] == [
        ("5", "needs an email, or a company and a domain", "103"),
        ("7", "email is not an address like ana@acme.com (it has no @)", "105"),
        (
            "8",
            "Number of Employees must be a number of people like 1200 or 1,200, "
            "not 'lots'",
            "106",
        ),
    ]
    assert rows[2][2:] == [
        "105",
        "Cy",
        "Doe",
        "not-an-email",
        "",
        "",
        "Hooli",
        "",
        "",
        "",
        "United States",
        "hooli.com",
        "2024-02-01 10:00",
        "Lead",
    ]


def test_an_import_without_rejections_writes_no_rejected_file_and_removes_an_old_one(
    engine, tmp_path
):
    path = write_file(tmp_path, HEADER + "\nana@acme.com,Ana,,Acme,,,,\n", "x.csv")
    stale = tmp_path / "x.rejected.csv"
    stale.write_text("line,reason\n2,old\n")

    result = import_leads(path, engine=engine, now=NOW)

    assert (result.rejected, result.rejected_path) == (0, None)
    assert not stale.exists()


def test_a_salesforce_lead_report_is_read_without_its_footer(engine, tmp_path):
    path = copy_export(tmp_path, "salesforce_leads.csv")

    result = import_leads(path, engine=engine, now=NOW, preset="salesforce")

    assert (result.imported, result.updated) == (2, 1)
    assert result.errors == [
        RowError(
            5,
            "email is not an address like ana@acme.com "
            "('hooli' after the @ is not a domain)",
        )
    ]
    leads = stored_leads(engine)
    ana = leads["ana@acme.com"]
    assert (ana.name, ana.company, ana.employees) == ("Ana Silva", "Acme, Inc.", 1200)
    assert ana.attributes["Lead Owner"] == "Sam Sales"
    eve = leads["Stark Industries"]
    assert (eve.email, eve.name, eve.domain) == (None, "Eve Stone", "stark.example")


def test_the_salesforce_preset_does_not_read_events(engine, config, tmp_path):
    path = copy_export(tmp_path, "hubspot_activities.csv")

    with pytest.raises(ImportFileError) as raised:
        import_events(path, engine=engine, config=config, preset="salesforce")

    assert str(raised.value) == (
        "the salesforce preset reads leads only; for events use --preset generic "
        "or hubspot, with --map for columns it does not know."
    )


def test_a_hubspot_activity_export_is_read_in_the_given_zone(engine, config, tmp_path):
    store_leads(engine, "ana@acme.com", "bo@globex.io")
    path = copy_export(tmp_path, "hubspot_activities.csv")

    result = import_events(
        path, engine=engine, config=config, preset="hubspot", zone=NEW_YORK
    )

    assert (result.imported, result.duplicates, result.rejected) == (3, 1, 3)
    events = stored_events(engine)
    assert [(e.name, e.occurred_at) for e in events] == [
        ("email_open", datetime(2024, 5, 1, 18, 30, tzinfo=UTC)),
        ("form_submission", datetime(2024, 5, 2, 13, 5, tzinfo=UTC)),
        ("meeting", datetime(2024, 5, 3, 4, 0, tzinfo=UTC)),
    ]
    assert {event.source for event in events} == {"hubspot"}
    assert events[0].properties == {
        "Activity assigned to": "Sam Sales",
        "Subject": "Pricing, plans and more",
    }
    assert [(e.line, e.reason) for e in result.errors] == [
        (7, "Activity date is empty"),
        (8, "no lead with this email; import it with `import leads` first"),
        (
            9,
            "Activity date 'yesterday' is not a time like 2024-05-01 14:30 or "
            "5/1/2024 2:30 PM",
        ),
    ]


def test_an_event_with_a_source_id_is_keyed_by_that_id(engine, config, tmp_path):
    store_leads(engine, "ana@acme.com", "bo@globex.io")
    path = copy_export(tmp_path, "hubspot_activities.csv")

    import_events(path, engine=engine, config=config, preset="hubspot", zone=UTC)

    first = stored_events(engine)[0]
    assert first.dedupe_key == hashlib.sha256(b"hubspot:9001").hexdigest()
    assert first.dedupe_key == importer.source_event_dedupe_key("hubspot", "9001")


def test_importing_a_hubspot_activity_export_twice_adds_nothing(
    engine, config, tmp_path
):
    store_leads(engine, "ana@acme.com", "bo@globex.io")
    path = copy_export(tmp_path, "hubspot_activities.csv")
    options = {"preset": "hubspot", "zone": NEW_YORK}
    import_events(path, engine=engine, config=config, **options)

    result = import_events(path, engine=engine, config=config, **options)

    assert (result.imported, result.duplicates, result.lead_ids) == (0, 4, set())
    assert count(engine, Event) == 3


def test_the_result_names_the_leads_whose_events_were_stored(engine, config, tmp_path):
    store_leads(engine, "ana@acme.com", "bo@globex.io", "cy@initech.com")
    with Session(engine) as session:
        ids = dict(session.execute(select(Lead.email, Lead.id)).all())
    path = copy_export(tmp_path, "hubspot_activities.csv")

    result = import_events(
        path, engine=engine, config=config, preset="hubspot", zone=NEW_YORK
    )

    assert result.lead_ids == {ids["ana@acme.com"], ids["bo@globex.io"]}


def test_generic_event_ids_keep_apart_events_alike_and_join_repeats(
    engine, config, tmp_path
):
    store_leads(engine, "ana@acme.com", "bo@globex.io")
    path = copy_export(tmp_path, "generic_events.csv")

    result = import_events(path, engine=engine, config=config, zone=UTC)

    assert (result.imported, result.duplicates, result.rejected) == (3, 1, 0)
    keys = {event.dedupe_key for event in stored_events(engine)}
    assert importer.source_event_dedupe_key("csv", "web-1") in keys
    assert importer.source_event_dedupe_key("csv", "web-2") in keys
    bo_moment = datetime(2024, 5, 3, 14, 15, tzinfo=UTC)
    assert importer.event_dedupe_key("Bo@Globex.io", "Webinar Attended", bo_moment) in (
        keys
    )


def test_map_reads_fields_from_columns_the_preset_does_not_know(
    engine, config, tmp_path
):
    store_leads(engine, "ana@acme.com")
    path = write_file(
        tmp_path,
        "Contact,What,When,Where\nana@acme.com,Demo Request,2024-05-01T10:00Z,web\n",
    )

    result = import_events(
        path,
        engine=engine,
        config=config,
        mapping={"contact": "email", "What": "event", "When": "occurred_at"},
    )

    assert (result.imported, result.errors) == (1, [])
    event = stored_events(engine)[0]
    assert (event.name, event.properties) == ("demo_request", {"Where": "web"})


def test_map_wins_over_the_preset_column_of_the_same_field(engine, tmp_path):
    path = write_file(
        tmp_path,
        "Email,Work Email,First Name,Last Name\n"
        "ana@home.example,ana@acme.com,Ana,Silva\n",
    )

    import_leads(
        path, engine=engine, now=NOW, preset="hubspot", mapping={"Work Email": "email"}
    )

    lead = stored_leads(engine)["ana@acme.com"]
    assert (lead.name, lead.attributes) == ("Ana Silva", {"Email": "ana@home.example"})


def test_map_of_a_column_the_file_does_not_have_stops_before_writing(engine, tmp_path):
    path = write_file(tmp_path, HEADER + "\nana@acme.com,Ana,,Acme,,,,\n", "x.csv")

    with pytest.raises(ImportFileError) as raised:
        import_leads(path, engine=engine, mapping={"Work Email": "email"})

    assert str(raised.value) == (
        "--map Work Email=email: x.csv has no column 'Work Email'; its header names "
        "'email', 'name', 'title', 'company', 'domain', 'industry', 'employees', "
        "'country'."
    )
    assert count(engine, Lead) == 0


def test_map_to_an_unknown_field_is_refused_naming_the_fields():
    with pytest.raises(ValueError) as raised:
        importer.parse_column_map(["Work Email=mail"], "leads")

    assert str(raised.value) == (
        "'Work Email=mail': 'mail' is not a field of leads; choose from email, name, "
        "first_name, last_name, title, company, domain, industry, employees, "
        "country, owner_user_id."
    )


def test_map_without_an_equals_sign_is_refused():
    with pytest.raises(ValueError) as raised:
        importer.parse_column_map(["Work Email"], "events")

    assert str(raised.value) == (
        "'Work Email' is not COLUMN=FIELD; write it like --map \"Work Email=email\"."
    )


def test_two_preset_columns_giving_one_field_are_refused_with_the_fix(
    engine, config, tmp_path
):
    path = write_file(
        tmp_path,
        "Activity ID,Record ID,Activity type,Activity date,Email\n",
        "a.csv",
    )

    with pytest.raises(ImportFileError) as raised:
        import_events(path, engine=engine, config=config, preset="hubspot")

    assert str(raised.value) == (
        "a.csv: the columns 'Activity ID' and 'Record ID' both give event_id; "
        'choose one with --map "Activity ID=event_id".'
    )


def test_a_preset_file_missing_a_field_names_the_column_it_expects(
    engine, config, tmp_path
):
    path = write_file(tmp_path, "Activity ID,Activity type,Email\n", "a.csv")

    with pytest.raises(ImportFileError) as raised:
        import_events(path, engine=engine, config=config, preset="hubspot")

    assert str(raised.value) == (
        "a.csv has no column for occurred_at; the hubspot preset reads "
        "'Activity date'. Name yours with --map, like --map \"Your column="
        'occurred_at".'
    )


def test_bytes_that_are_not_utf8_mid_file_stop_after_the_rows_before_them(
    engine, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    good = [f"p{n}@x.example,P{n},,X,x.example,,,\n".encode() for n in range(3)]
    bad = "zoë@x.example,Zoë,,X,x.example,,,\n".encode("latin-1")
    path = tmp_path / "x.csv"
    path.write_bytes((HEADER + "\n").encode() + b"".join(good) + bad + good[0])

    with pytest.raises(ImportFileError) as caught:
        import_leads(path, engine=engine, now=NOW)

    assert str(caught.value) == (
        "x.csv: line 5 is not UTF-8 text; if the file is a spreadsheet, save it as "
        "CSV (UTF-8) and import that. The 3 rows before it were read and the good "
        "ones stored; importing the fixed file again does not add them twice."
    )
    assert caught.value.result.imported == 3
    assert count(engine, Lead) == 3


def test_a_fixed_file_imported_again_adds_only_the_rows_not_stored_yet(
    engine, config, tmp_path
):
    store_leads(engine, "ana@acme.com")
    path = tmp_path / "e.csv"
    rows = "".join(
        f"ana@acme.com,page_view,2024-05-0{day}T10:00:00Z\n" for day in (1, 2, 3)
    )
    path.write_bytes(b"email,event,occurred_at\n" + rows.encode() + b"\xff\n")
    with pytest.raises(ImportFileError):
        import_events(path, engine=engine, config=config)
    path.write_bytes(
        b"email,event,occurred_at\n"
        + rows.encode()
        + b"ana@acme.com,page_view,2024-05-04T10:00:00Z\n"
    )

    result = import_events(path, engine=engine, config=config)

    assert (result.imported, result.duplicates) == (1, 3)


def test_a_quote_never_closed_in_a_huge_file_stops_at_the_line_it_opened(
    engine, tmp_path
):
    tail = "".join(f"p{n}@x.example,P{n},,X,x.example,,,\n" for n in range(6000))
    path = write_file(
        tmp_path,
        f'{HEADER}\na@x.example,"Ann,,X,x.example,,,\n{tail}',
        "x.csv",
    )

    with pytest.raises(ImportFileError) as caught:
        import_leads(path, engine=engine)

    assert str(caught.value).startswith(
        "x.csv: line 2: a value runs over 10,000 characters"
    )
    assert str(caught.value).endswith("import again (nothing was imported).")


def test_progress_is_told_the_bytes_and_rows_read_as_the_file_streams(
    engine, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    rows = "".join(f"p{n}@x.example,P{n},,X,x.example,,,\n" for n in range(5))
    path = write_file(tmp_path, HEADER + "\n" + rows)
    reports = []

    import_leads(path, engine=engine, progress=lambda *done: reports.append(done))

    assert [rows for _, rows in reports] == [2, 4, 5]
    read = [done for done, _ in reports]
    assert read == sorted(read) and read[-1] == path.stat().st_size


def test_the_result_keeps_the_first_errors_and_counts_them_all(
    engine, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "MAX_REPORTED_ERRORS", 2)
    rows = "".join(f"p{n}@x.example,P{n},,X,x.example,,lots,\n" for n in range(5))
    path = write_file(tmp_path, HEADER + "\n" + rows)

    result = import_leads(path, engine=engine)

    assert [error.line for error in result.errors] == [2, 3]
    assert result.rejected == 5
    assert len(read_rejected(result.rejected_path)) == 6


def test_an_events_import_logs_no_email_and_no_property(engine, config, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.domain.importer")
    store_leads(engine, "ana@acme.com", "bo@globex.io")

    import_events(FIXTURES / "events.csv", engine=engine, config=config)

    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "import finished kind=events file=events.csv imported=3" in logged
    assert "@" not in logged and "spring" not in logged


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T14:30:00Z", datetime(2024, 5, 1, 14, 30, tzinfo=UTC)),
        ("2024-05-01 14:30", datetime(2024, 5, 1, 18, 30, tzinfo=UTC)),
        ("5/1/2024 2:30 PM", datetime(2024, 5, 1, 18, 30, tzinfo=UTC)),
        ("5/1/2024, 2:30 PM", datetime(2024, 5, 1, 18, 30, tzinfo=UTC)),
        ("05/01/2024 14:30:15", datetime(2024, 5, 1, 18, 30, 15, tzinfo=UTC)),
        ("05/01/2024", datetime(2024, 5, 1, 4, 0, tzinfo=UTC)),
        ("11/3/2024 1:30 AM", datetime(2024, 11, 3, 5, 30, tzinfo=UTC)),
    ],
)
def test_the_times_hubspot_and_salesforce_write_are_read(value, expected):
    read_time = TimeReader(PRESETS["hubspot"], NEW_YORK, "Activity date")

    assert read_time(value) == expected


def test_a_slash_date_is_not_read_by_the_generic_preset():
    read_time = TimeReader(PRESETS["generic"], NEW_YORK, "occurred_at")

    with pytest.raises(RowRejected) as raised:
        read_time("5/1/2024 2:30 PM")

    assert raised.value.reason == (
        "occurred_at '5/1/2024 2:30 PM' is not an ISO 8601 time (write it like "
        "2024-05-01T14:30:00Z)"
    )


def test_a_misspelt_time_zone_is_refused_naming_the_close_ones():
    with pytest.raises(ValueError) as raised:
        find_zone("Europe/Berln")

    assert str(raised.value).startswith(
        "'Europe/Berln' is not a time zone; did you mean Europe/Berlin"
    )


def test_a_file_ending_its_lines_with_cr_alone_is_read_line_by_line(engine, tmp_path):
    text = HEADER + "\rana@acme.com,Ana,,Acme,,,,\r\rbo@globex.io,Bo,,Globex,,,x,\r"
    path = write_file(tmp_path, text)

    result = import_leads(path, engine=engine, now=NOW)

    assert result.imported == 1
    assert result.errors == [
        RowError(4, "employees must be a number of people like 1200 or 1,200, not 'x'")
    ]


def test_a_mapping_to_an_unknown_field_given_in_code_is_refused_too(
    engine, config, tmp_path
):
    path = write_file(tmp_path, "email,event,occurred_at,utm\n", "e.csv")

    with pytest.raises(ImportFileError) as raised:
        import_events(path, engine=engine, config=config, mapping={"utm": "source"})

    assert str(raised.value) == (
        "--map utm=source: 'source' is not a field of events; choose from email, "
        "event, occurred_at, event_id."
    )


def test_a_folder_that_cannot_take_the_rejected_file_stops_the_import_saying_so(
    engine, tmp_path
):
    path = write_file(tmp_path, HEADER + "\nana@acme.com,Ana,,Acme,,,lots,\n", "x.csv")
    (tmp_path / "x.rejected.csv").mkdir()

    with pytest.raises(ImportFileError) as raised:
        import_leads(path, engine=engine, now=NOW)

    assert str(raised.value).startswith(
        f"cannot write the rejected rows to {tmp_path / 'x.rejected.csv'} (Is a "
        "directory); copy the file to a folder you can write to"
    )


def test_imported_events_that_cross_the_bar_make_one_mql(engine, config, tmp_path):
    from bot.db import utcnow
    from bot.models import Mql

    store_leads(engine, "ana@acme.com", "bo@globex.io")
    recent = (utcnow() - timedelta(hours=2)).isoformat()
    path = write_file(
        tmp_path,
        "email,event,occurred_at\n"
        f"ana@acme.com,demo_request,{recent}\n"
        f"bo@globex.io,email_open,{recent}\n",
    )

    first = import_events(path, engine=engine, config=config)
    again = import_events(path, engine=engine, config=config)

    assert len(first.new_mql_ids) == 1
    assert again.new_mql_ids == []
    with Session(engine) as session:
        mql = session.scalars(select(Mql)).one()
        lead = session.get(Lead, mql.lead_id)
    assert (lead.email, mql.reason) == ("ana@acme.com", "hand_raiser")


def test_a_personal_mailbox_gives_an_imported_lead_no_domain(engine, tmp_path):
    path = write_file(
        tmp_path,
        f"{HEADER}\nsam@gmail.com,Sam,,,,,,\nana@acme.com,Ana,,,,,,\n",
    )

    import_leads(path, engine=engine, now=NOW)

    leads = stored_leads(engine)
    assert (leads["sam@gmail.com"].domain, leads["ana@acme.com"].domain) == (
        "",
        "acme.com",
    )


def test_one_long_quoted_value_costs_only_its_row(engine, tmp_path):
    long_note = "x" * 20_000
    path = write_file(
        tmp_path,
        f"{HEADER},notes\n"
        f'ana@acme.com,Ana,,Acme,acme.com,,,,"{long_note}"\n'
        "bo@globex.io,Bo,,Globex,globex.io,,,,short\n",
    )

    result = import_leads(path, engine=engine, now=NOW)

    assert result.imported == 1
    assert result.errors == [
        RowError(2, "a value is over 10,000 characters; shorten it or drop that column")
    ]
    assert list(stored_leads(engine)) == ["bo@globex.io"]
