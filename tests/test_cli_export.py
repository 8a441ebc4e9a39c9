"""`export decisions` as an operator meets it."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bot.__main__ import main
from bot.db import make_engine, upgrade_database
from tests.domain.handoff_rows import add_handoff
from tests.domain.test_decision_export import team_config

NOV_2 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """The CLI's own SQLite database, migrated, with two SQLs in November."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    upgrade_database(url)
    engine = make_engine(url)
    config = team_config()
    add_handoff(engine, config, 1, now=NOV_2, sdr="U0SDR1")
    add_handoff(engine, config, 2, now=NOV_2.replace(day=20), sdr="U0SDR1")
    yield engine
    engine.dispose()


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_export_as_csv_writes_a_header_and_one_line_per_decision(engine):
    result = run("export", "decisions", "--since", "2026-11-01", "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.exit_code == 0
    assert [row["lead_email"] for row in rows] == [
        "lead1@northwind.example",
        "lead2@northwind.example",
    ]
    assert rows[0]["pain_level"] == "3"
    assert result.stderr == "2 decision(s) exported.\n"


def test_export_as_jsonl_to_a_file_keeps_to_the_window(engine, tmp_path):
    output = tmp_path / "decisions.jsonl"

    result = run(
        "export",
        "decisions",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-10",
        "--format",
        "jsonl",
        "--output",
        str(output),
    )

    (line,) = output.read_text().splitlines()
    assert result.exit_code == 0
    assert json.loads(line)["lead_domain"] == "northwind1.example"
    assert result.output == f"1 decision(s) exported to {output}.\n"


def test_export_with_a_bad_date_names_the_option_and_the_format(engine):
    result = run("export", "decisions", "--since", "1 Nov")

    assert result.exit_code == 2
    assert (
        "Invalid value for --since: '1 Nov' is not a date or an ISO 8601 time; "
        "write it like 2026-11-01 or 2026-11-01T09:00:00+01:00"
    ) in result.output


def test_export_with_an_end_before_the_start_is_refused(engine):
    result = run(
        "export", "decisions", "--since", "2026-11-10", "--until", "2026-11-01"
    )

    assert result.exit_code == 2
    assert "'2026-11-01' is not after --since '2026-11-10'" in result.output


def test_a_csv_export_of_an_empty_window_still_has_every_criterion_column(engine):
    result = run(
        "export", "decisions", "--since", "2025-01-01", "--until", "2025-01-31"
    )

    header = result.stdout.splitlines()[0].split(",")
    assert result.exit_code == 0
    assert {"pain_level", "budget_level", "engagement_level"} <= set(header)
