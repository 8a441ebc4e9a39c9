"""The command line as an operator meets it."""

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner

from bot.__main__ import main

ROOT = __import__("bot").PROJECT_ROOT


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_serve_without_slack_credentials_says_which_are_missing(run):
    result = run("serve")

    assert result.exit_code == 1
    assert (
        "SLACK_BOT_TOKEN is not set; SLACK_SIGNING_SECRET is not set" in result.output
    )


def test_serve_with_the_example_placeholder_token_is_refused(run, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-your-bot-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "0123456789abcdef")

    result = run("serve")

    assert (
        "SLACK_BOT_TOKEN still holds the placeholder from .env.example" in result.output
    )


def test_serve_without_channels_configured_names_the_keys(run, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-real")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "0123456789abcdef")

    result = run("serve")

    assert result.exit_code == 1
    assert "channels.sql, channels.nurture, channels.handoff, team.sdrs, team.aes" in (
        result.output
    )


def test_socket_mode_needs_the_app_token(run, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-real")

    result = run("socket")

    assert "SLACK_APP_TOKEN is not set" in result.output


def test_an_invalid_config_file_stops_the_bot_naming_the_key(run, tmp_path):
    (tmp_path / "qualify.toml").write_text('[matrix]\nthreshold = "high"\n')

    result = run("serve")

    assert result.exit_code == 1
    assert "qualify.toml: invalid configuration:" in result.output
    assert "matrix.threshold: Input should be a valid integer" in result.output


def test_import_reports_bad_rows_by_line_and_keeps_the_good_ones(run, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(
        "email,name,title,company,domain,industry,employees,country\n"
        "ann@x.example,Ann,CTO,X,x.example,Software,100,US\n"
        "bob@y.example,Bob,,Y,y.example,,lots,\n"
    )

    result = run("import", "leads", str(path))

    assert result.exit_code == 1
    assert (
        "leads: 1 imported, 0 updated, 0 already present, 1 rejected" in result.output
    )
    assert (
        "line 3: employees must be a number of people like 1200 or 1,200, not 'lots'"
        in result.output
    )


EXPORTS = ROOT / "tests" / "fixtures" / "exports"
LEADS_CSV = (
    "email,name,title,company,domain,industry,employees,country\n"
    "ana@acme.com,Ana,,Acme,acme.com,,,\n"
    "bo@globex.io,Bo,,Globex,globex.io,,,\n"
)


def copy_export(tmp_path, name):
    path = tmp_path / name
    path.write_bytes((EXPORTS / name).read_bytes())
    return path


def stored_events(tmp_path):
    from sqlalchemy import select
    from sqlmodel import Session

    from bot.db import make_engine
    from bot.models import Event

    engine = make_engine(f"sqlite:///{tmp_path}/cli.db")
    with Session(engine) as session:
        events = session.scalars(select(Event).order_by(Event.occurred_at)).all()
    engine.dispose()
    return list(events)


def test_import_with_the_hubspot_preset_names_the_file_of_rejected_rows(run, tmp_path):
    path = copy_export(tmp_path, "hubspot_contacts.csv")

    result = run("import", "leads", str(path), "--preset", "hubspot")

    rejected = tmp_path / "hubspot_contacts.rejected.csv"
    assert result.exit_code == 1
    assert "leads: 2 imported, 1 updated, 0 already present, 3 rejected" in (
        result.output
    )
    assert f"rejected rows, with their line and reason: {rejected}" in result.output
    assert rejected.read_text().startswith("line,reason,Record ID,First Name,")


def test_import_events_reads_any_columns_named_with_map_in_the_tz_given(run, tmp_path):
    (tmp_path / "leads.csv").write_text(LEADS_CSV)
    run("import", "leads", str(tmp_path / "leads.csv"))
    path = tmp_path / "events.csv"
    path.write_text("Who,What,When\nana@acme.com,Demo Request,2024-05-01 09:00\n")

    result = run(
        "import",
        "events",
        str(path),
        "--map",
        "Who=email",
        "--map",
        "What=event",
        "--map",
        "When=occurred_at",
        "--tz",
        "Europe/Berlin",
    )

    assert result.exit_code == 0, result.output
    assert "events: 1 imported, 0 already present, 0 rejected" in result.output
    event = stored_events(tmp_path)[0]
    assert (event.name, event.occurred_at.isoformat()) == (
        "demo_request",
        "2024-05-01T07:00:00+00:00",
    )


def test_import_events_without_tz_rejects_local_times_and_says_to_pass_it(
    run, tmp_path
):
    (tmp_path / "leads.csv").write_text(LEADS_CSV)
    run("import", "leads", str(tmp_path / "leads.csv"))
    path = copy_export(tmp_path, "hubspot_activities.csv")

    result = run("import", "events", str(path), "--preset", "hubspot")

    assert result.exit_code == 1
    assert "events: 0 imported, 0 already present, 7 rejected" in result.output
    assert (
        "line 2: Activity date '2024-05-01 14:30' has no time zone; pass --tz with "
        "the zone the file was written in (like --tz Europe/Berlin)"
    ) in result.output


def test_import_with_an_unknown_time_zone_is_refused_naming_the_option(run, tmp_path):
    path = copy_export(tmp_path, "hubspot_activities.csv")

    result = run("import", "events", str(path), "--tz", "Mars/Olympus_Mons")

    assert result.exit_code == 2
    assert "Invalid value for --tz: 'Mars/Olympus_Mons' is not a time zone" in (
        result.output
    )


def test_import_with_a_map_to_an_unknown_field_is_refused_naming_the_fields(
    run, tmp_path
):
    path = copy_export(tmp_path, "generic_events.csv")

    result = run("import", "events", str(path), "--map", "campaign=utm")

    assert result.exit_code == 2
    assert (
        "Invalid value for --map: 'campaign=utm': 'utm' is not a field of events; "
        "choose from email, event, occurred_at, event_id."
    ) in result.output


def test_importing_the_same_export_twice_adds_nothing_the_second_time(run, tmp_path):
    (tmp_path / "leads.csv").write_text(LEADS_CSV)
    run("import", "leads", str(tmp_path / "leads.csv"))
    path = copy_export(tmp_path, "hubspot_activities.csv")
    args = ("import", "events", str(path), "--preset", "hubspot", "--tz", "UTC")
    first = run(*args)

    second = run(*args)

    assert "events: 3 imported, 1 already present, 3 rejected" in first.output
    assert "events: 0 imported, 4 already present, 3 rejected" in second.output
    assert len(stored_events(tmp_path)) == 3


def test_a_fixed_file_imports_cleanly_and_its_rejected_file_goes(run, tmp_path):
    (tmp_path / "leads.csv").write_text(LEADS_CSV)
    run("import", "leads", str(tmp_path / "leads.csv"))
    path = tmp_path / "events.csv"
    good = "ana@acme.com,demo_request,2024-05-01T10:00:00Z\n"
    path.write_text("email,event,occurred_at\n" + good + "bo@globex.io,,now\n")
    run("import", "events", str(path))
    path.write_text(
        "email,event,occurred_at\n" + good + "bo@globex.io,demo,2024-05-02T10:00Z\n"
    )

    result = run("import", "events", str(path))

    assert result.exit_code == 0, result.output
    assert "events: 1 imported, 1 already present, 0 rejected" in result.output
    assert not (tmp_path / "events.rejected.csv").exists()


def test_import_shows_a_progress_bar_with_rows_per_second_only_when_asked(
    run, tmp_path
):
    path = tmp_path / "leads.csv"
    path.write_text(LEADS_CSV)

    shown = run("import", "leads", str(path), "--progress")
    hidden = run("import", "leads", str(path), "--no-progress")
    default = run("import", "leads", str(path))

    assert "2 rows, " in shown.output and " rows/s" in shown.output
    assert "rows/s" not in hidden.output
    assert "rows/s" not in default.output


def test_an_import_stopped_mid_file_prints_what_it_stored_and_why(run, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(LEADS_CSV.encode() + "zoë@x.example,Zoë,,,,,,\n".encode("cp1252"))

    result = run("import", "leads", str(path))

    assert result.exit_code == 1
    assert "leads: 2 imported, 0 updated, 0 already present, 0 rejected" in (
        result.output
    )
    assert "Error: leads.csv: line 4 is not UTF-8 text;" in result.output


def test_demo_runs_the_interview_to_a_decision_without_slack_or_keys(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    completed = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "sam (SDR) types: /qualify dana@northwind.example" in out
    assert "#sales-sql" in out
    assert "DM with alex (AE)" in out
    assert "Decision: Sales Qualified Lead, 29/33, handed to alex (AE)." in out
    digest = out.index("Next morning the manager's digest arrives:")
    assert out.index("Decision: Sales Qualified Lead") < digest
    assert "#sales-digest" in out[digest:]
    assert "Qualified 1 (1 SQL · 0 nurture)" in out[digest:]


def test_a_bad_environment_value_is_named_without_a_traceback(run, monkeypatch):
    monkeypatch.setenv("PORT", "abc")

    result = run("migrate")

    assert result.exit_code == 1
    assert result.output.startswith("Error: invalid environment: PORT: Input should be")


def test_an_unreachable_database_is_named_without_its_password(run, monkeypatch):
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql+psycopg://qualify:s3cret@127.0.0.1:1/qualify"
    )

    result = run("migrate")

    assert result.exit_code == 1
    assert "Error: cannot reach the database at postgresql+psycopg://qualify:***@" in (
        result.output
    )
    assert "s3cret" not in result.output


def test_a_heroku_style_postgres_url_gets_a_driver():
    from bot.settings import Settings

    settings = Settings(database_url="postgres://u:p@db:5432/q", _env_file=None)

    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/q"


def _demo(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "demo", *args],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_of_a_weak_lead_ends_in_nurture_with_the_reason(tmp_path):
    completed = _demo(tmp_path, "--lead", "marc@initech.example")

    assert completed.returncode == 0, completed.stderr
    assert "#sales-nurture" in completed.stdout
    out = completed.stdout
    assert "Decision: nurture, 7/33: No budget identified." in out
    digest = out[out.index("Next morning the manager's digest arrives:") :]
    assert "Qualified 1 (0 SQL · 1 nurture)" in digest


def test_demo_of_a_lead_not_in_the_sample_data_names_the_ones_that_are(tmp_path):
    completed = _demo(tmp_path, "--lead", "nobody@nowhere.example")

    assert completed.returncode == 1
    assert "no sample leads match 'nobody@nowhere.example'" in completed.stderr
    assert "dana@northwind.example" in completed.stderr


def test_interpret_writes_one_json_line_per_input_and_names_bad_lines(tmp_path):
    lines = (
        '{"criterion": "budget", "text": "money set aside for Q3", '
        '"date": "2026-12-03"}\n'
        "not json\n"
        '{"criterion": "mood", "text": "great"}\n'
    )

    completed = subprocess.run(
        [sys.executable, "-m", "bot", "interpret", "--offline"],
        cwd=tmp_path,
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
    )

    out = [json.loads(line) for line in completed.stdout.splitlines()]
    assert completed.returncode == 1
    assert out[0] == {
        "criterion": "budget",
        "level": 2,
        "evidence": "money set aside for q3",
        "confidence": 0.75,
        "follow_up": "",
        "interpreter": "offline",
    }
    assert out[1] == {"line": 2, "error": "line 2: not JSON (Expecting value)"}
    assert out[2]["error"].startswith("line 3: criterion 'mood' is not interpreted")


def test_interpret_check_reports_accuracy_and_fails_below_the_minimum(tmp_path):
    path = tmp_path / "examples.jsonl"
    path.write_text(
        '{"text": "no budget", "date": "2026-12-03", "expected": {"budget": 0}}\n'
        '{"text": "no budget", "date": "2026-12-03", "expected": {"budget": 3}}\n'
    )

    result = CliRunner().invoke(main, ["interpret", "--check", str(path)])

    assert result.exit_code == 1
    assert "budget: 1/2" in result.output
    assert "accuracy: 50.0% (minimum 85%)" in result.output
    assert "miss: line 2 budget: expected 3, got 0 from 'no budget'" in result.output


def test_import_posts_the_mqls_it_makes_when_slack_is_set_up(
    run, tmp_path, monkeypatch
):
    from bot.db import utcnow
    from tests.fakes.slack_api import start_fake_slack

    fake, server = start_fake_slack()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", f"{fake.base_url}api/")
    (tmp_path / "qualify.toml").write_text('[channels]\nqueue = "CQUEUE"\n')
    (tmp_path / "leads.csv").write_text(LEADS_CSV)
    recent = (utcnow() - timedelta(hours=1)).isoformat()
    events = tmp_path / "events.csv"
    events.write_text(f"email,event,occurred_at\nana@acme.com,demo_request,{recent}\n")

    run("import", "leads", str(tmp_path / "leads.csv"))
    result = run("import", "events", str(events))
    server.shutdown()

    assert "1 new MQL(s) posted to the SDR queue." in result.output
    (post,) = fake.posts_to("CQUEUE")
    assert "Ana" in post.text_and_blocks


def test_import_without_slack_records_the_mqls_and_says_how_they_get_posted(
    run, tmp_path
):
    from bot.db import utcnow

    (tmp_path / "leads.csv").write_text(LEADS_CSV)
    recent = (utcnow() - timedelta(hours=1)).isoformat()
    events = tmp_path / "events.csv"
    events.write_text(f"email,event,occurred_at\nana@acme.com,demo_request,{recent}\n")

    run("import", "leads", str(tmp_path / "leads.csv"))
    result = run("import", "events", str(events))

    assert "1 new MQL(s) recorded" in result.output


def test_digest_preview_prints_the_day_and_writes_the_chart(run, tmp_path):
    chart = tmp_path / "chart.png"

    result = run("digest", "--preview", "--date", "2026-12-02", "--chart", str(chart))

    assert result.exit_code == 0
    assert "Qualification digest · Wed 02 Dec 2026" in result.output
    assert "Nothing happened on Wed 02 Dec 2026" in result.output
    assert f"written to {chart}" in result.output
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_digest_for_a_channel_not_in_the_config_is_refused_naming_it(run):
    result = run("digest", "--preview", "--channel", "C0NOPE0001")

    assert result.exit_code == 2
    assert "C0NOPE0001 is not a digest channel in the config" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("digest", "--preview", "--date", "0001-01-01"),
            "Invalid value for --date: 0001-01-01 is too far from today to digest",
        ),
        (
            ("digest", "--preview", "--chart", "/nonexistent/dir/c.png"),
            "Invalid value for --chart: /nonexistent/dir/c.png cannot be written",
        ),
        (
            ("export", "decisions", "--since", "2026-11-01", "--output", "/no/x.csv"),
            "Invalid value for --output: /no/x.csv cannot be written",
        ),
    ],
)
def test_impossible_dates_and_unwritable_files_are_named_without_a_traceback(
    run, args, expected
):
    result = run(*args)

    assert result.exit_code == 2
    assert expected in result.output
