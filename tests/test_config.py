import tomllib
from pathlib import Path

import pytest

from bot.config import (
    DEFAULTS_PATH,
    ConfigError,
    load_config,
    merge,
    parse_config,
)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "qualify.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    path = write_toml(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def defaults() -> dict:
    with DEFAULTS_PATH.open("rb") as file:
        return tomllib.load(file)


def test_shipped_defaults_load_with_the_default_matrix():
    config = load_config(None)

    weights = {key: c.weight for key, c in config.matrix.criteria.items()}
    assert weights == {
        "pain": 3,
        "fit": 2,
        "budget": 2,
        "authority": 2,
        "timeline": 1,
        "engagement": 1,
    }
    assert (config.matrix.threshold, config.matrix.max_total) == (20, 33)
    assert list(config.matrix.rules) == ["no-budget", "distant-timeline"]
    assert config.engagement.window_days == 90
    assert config.engagement.signal_for("Pricing Page-View") == "pricing_page"


def test_team_file_with_one_channel_changes_only_that_channel(tmp_path):
    path = write_toml(tmp_path, '[channels]\nsql = "C0123ABCD"\n')

    config = load_config(path)

    expected = load_config(None).model_dump()
    expected["channels"]["sql"] = "C0123ABCD"
    assert config.model_dump() == expected


def test_overriding_a_weight_changes_the_max_total(tmp_path):
    path = write_toml(tmp_path, "[matrix.criteria.pain]\nweight = 4\n")

    config = load_config(path)

    assert config.matrix.criteria["pain"].weight == 4
    assert config.matrix.criteria["pain"].label == "Pain"
    assert config.matrix.max_total == 36


def test_no_team_file_means_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    config = load_config(None)

    assert config.matrix.threshold == 20
    assert config.channels.sql == ""


def test_qualify_toml_in_the_working_directory_is_used_without_a_path(
    tmp_path, monkeypatch
):
    write_toml(tmp_path, '[channels]\nsql = "C0123ABCD"\n')
    monkeypatch.chdir(tmp_path)

    config = load_config(None)

    assert config.channels.sql == "C0123ABCD"


def test_an_explicit_path_that_does_not_exist_is_an_error_naming_it(tmp_path):
    path = tmp_path / "absent.toml"

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value).startswith(f"{path}: no such config file")


def test_weight_of_the_wrong_type_names_the_key(tmp_path):
    message = config_error(tmp_path, '[matrix.criteria.pain]\nweight = "x"\n')

    assert (
        message.splitlines()[0]
        == f"{tmp_path / 'qualify.toml'}: invalid configuration:"
    )
    assert message.splitlines()[1] == (
        "  matrix.criteria.pain.weight: Input should be a valid integer"
    )


def test_unknown_key_is_named_with_its_table(tmp_path):
    message = config_error(tmp_path, "[icp]\ncolour = 1\n")

    assert message.splitlines()[1] == (
        "  icp.colour: unknown key (check its spelling against the README)"
    )


def test_channel_name_instead_of_an_id_names_the_channel_key(tmp_path):
    message = config_error(tmp_path, '[channels]\nsql = "#sales"\n')

    assert message.splitlines()[1] == (
        "  channels.sql: '#sales' is not a Slack channel ID (it looks like "
        "C0123ABCD; copy it from the channel's details)"
    )


def test_name_instead_of_a_user_id_in_aes_names_the_key_and_value(tmp_path):
    message = config_error(tmp_path, '[team]\naes = ["U0123ABCD", "dana"]\n')

    line = message.splitlines()[1]
    assert line.startswith("  team.aes[1]: ")
    assert "'dana' is not a Slack user ID" in line
    assert "U0123ABCD;" in line


def test_rule_on_an_unknown_criterion_names_the_condition(tmp_path):
    text = '[matrix.rules.no-budget]\nwhen = [{ criterion = "money", at_most = 0 }]\n'

    message = config_error(tmp_path, text)

    assert message.splitlines()[1] == (
        "  matrix.rules.no-budget.when[0].criterion: 'money' is not a criterion "
        "(known: pain, fit, budget, authority, timeline, engagement)"
    )


def test_three_levels_instead_of_four_names_the_levels_key(tmp_path):
    text = '[matrix.criteria.pain]\nlevels = ["None", "Some", "Real"]\n'

    message = config_error(tmp_path, text)

    assert message.splitlines()[1].startswith("  matrix.criteria.pain.levels: ")
    assert "at least 4 items" in message


def test_level_text_too_long_for_a_button_names_the_level(tmp_path):
    long_text = "x" * 71
    text = f'[matrix.criteria.pain]\nlevels = ["a", "b", "c", "{long_text}"]\n'

    message = config_error(tmp_path, text)

    assert message.splitlines()[1] == (
        "  matrix.criteria.pain.levels[3]: must be 1-70 characters "
        "(it becomes a button label)"
    )


def test_threshold_above_the_max_total_names_threshold(tmp_path):
    message = config_error(tmp_path, "[matrix]\nthreshold = 34\n")

    assert message.splitlines()[1] == (
        "  matrix.threshold: 34 is above the highest possible total (33)"
    )


def test_invalid_toml_names_the_file(tmp_path):
    message = config_error(tmp_path, "[channels\nsql = 1\n")

    assert message.startswith(f"{tmp_path / 'qualify.toml'}: not valid TOML: ")
    assert "line 1" in message


def test_every_problem_in_a_file_is_listed(tmp_path):
    text = '[channels]\nsql = "#sales"\n[icp]\ncolour = 1\n'

    message = config_error(tmp_path, text)

    assert [line.split(":")[0] for line in message.splitlines()[1:]] == [
        "  channels.sql",
        "  icp.colour",
    ]


def test_slack_setup_names_every_missing_channel_and_team(config):
    with pytest.raises(ConfigError) as caught:
        config.require_slack_setup()

    assert str(caught.value) == (
        "channels.sql, channels.nurture, channels.handoff, team.sdrs, team.aes "
        "must be set in the config file (qualify.toml, or the file "
        "QUALIFY_CONFIG names) before the bot can run in Slack (see the "
        "README's configuration reference)."
    )


def test_slack_setup_names_only_what_is_still_missing():
    data = merge(
        defaults(),
        {
            "channels": {"sql": "C0SQL", "nurture": "C0NURTURE", "handoff": "C0HAND"},
            "team": {"sdrs": ["U0SDR1"]},
        },
    )
    config = parse_config(data)

    with pytest.raises(ConfigError) as caught:
        config.require_slack_setup()

    assert str(caught.value).startswith("team.aes must be set in the config file")


def test_slack_setup_passes_when_channels_and_team_are_set():
    data = merge(
        defaults(),
        {
            "channels": {"sql": "C0SQL", "nurture": "C0NURTURE", "handoff": "C0HAND"},
            "team": {"sdrs": ["U0SDR1"], "aes": ["U0AE1"]},
        },
    )
    config = parse_config(data)

    result = config.require_slack_setup()

    assert result is None


def test_a_number_written_as_text_is_refused(tmp_path):
    message = config_error(tmp_path, '[matrix]\nthreshold = "18"\n')

    assert (
        message.splitlines()[1] == "  matrix.threshold: Input should be a valid integer"
    )


def test_a_size_range_no_company_can_match_is_refused(tmp_path):
    message = config_error(
        tmp_path, "[icp]\nemployees_min = 5000\nemployees_max = 50\n"
    )

    assert message.splitlines()[1] == (
        "  icp.employees_min: 5000 is above employees_max (50), so no company could "
        "match"
    )


def test_a_config_file_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "qualify.toml"
    path.write_bytes(b"\xff\xfe[channels]")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}: not UTF-8 text; save it as UTF-8"


def test_sla_defaults_give_each_clock_its_duration_and_reminders():
    sla = load_config(None).sla

    assert sla.clocks.first_touch.duration.minutes == 15
    assert sla.clocks.mql_claim.duration.hours == 4
    assert sla.clocks.sql_meeting.duration.business_days == 3
    assert sla.clocks.handoff_answer.reassign is True
    assert sla.clocks.first_touch.reminders == [0.5, 0.8]
    assert sla.weekday_numbers == frozenset(range(5))


def test_sla_time_zone_that_is_not_iana_is_named(tmp_path):
    message = config_error(tmp_path, '[sla]\ntime_zone = "CET+1"\n')

    assert "sla.time_zone: 'CET+1' is not an IANA time zone" in message


def test_sla_clock_with_two_units_is_named(tmp_path):
    message = config_error(
        tmp_path, "[sla.clocks.mql_claim]\nduration = { hours = 4, minutes = 5 }\n"
    )

    assert "sla.clocks.mql_claim.duration: give exactly one of minutes" in message


def test_sla_reminder_outside_the_clock_is_named(tmp_path):
    message = config_error(
        tmp_path, "[sla.clocks.first_touch]\nreminders = [0.5, 1.2]\n"
    )

    assert "sla.clocks.first_touch.reminders[1]: 1.2 must be between 0 and 1" in message


def test_sla_business_days_round_the_clock_are_refused(tmp_path):
    message = config_error(
        tmp_path, "[sla.clocks.sql_meeting]\npause_outside_hours = false\n"
    )

    assert "sla.clocks.sql_meeting.duration: business_days counts" in message


def test_sla_hours_that_end_before_they_start_are_named(tmp_path):
    message = config_error(
        tmp_path, '[sla]\nday_starts = "18:00"\nday_ends = "09:00"\n'
    )

    assert "sla.day_ends: 18:00" not in message
    assert "sla.day_ends: 09:00 must be later than day_starts (18:00)" in message


def test_sla_weekday_and_holiday_mistakes_are_named(tmp_path):
    message = config_error(
        tmp_path, '[sla]\nweekdays = ["mon", "friday"]\nholidays = ["25 Dec"]\n'
    )

    assert "sla.weekdays[1]: 'friday' is not a weekday" in message
    assert "sla.holidays[0]:" in message


def test_a_reason_needing_a_note_must_be_a_reject_reason(tmp_path):
    message = config_error(tmp_path, '[handoff]\nnote_required = ["otehr"]\n')

    assert message.splitlines()[1] == (
        "  handoff.note_required[0]: 'otehr' is not a reject reason (known: "
        "not_icp, no_budget, bad_timing, duplicate, cant_reach, other)"
    )


def test_a_capacity_limit_below_zero_is_refused(tmp_path):
    message = config_error(tmp_path, "[routing]\nmax_open_handoffs_per_ae = -1\n")

    assert message.splitlines()[1].startswith(
        "  routing.max_open_handoffs_per_ae: Input should be greater than or equal"
    )


def test_a_digest_time_that_is_not_a_clock_time_is_named(tmp_path):
    message = config_error(tmp_path, '[digest]\ntime = "8.30am"\n')

    assert "digest.time" in message


def test_digest_channels_listed_replace_the_team_channel_with_their_own_zone():
    config = parse_config(
        merge(
            defaults(),
            {
                "channels": {"digest": "C0DIGEST01"},
                "sla": {"time_zone": "Europe/Berlin"},
                "digest": {
                    "time": "08:30",
                    "channels": [
                        {
                            "channel": "C0DIGESTNY",
                            "time": "09:00",
                            "time_zone": "America/New_York",
                        }
                    ],
                },
            },
        )
    )

    targets = [
        (channel, str(at), zone.key)
        for channel, at, zone in config.digest.targets(config)
    ]
    team_only = parse_config(
        merge(
            defaults(),
            {
                "channels": {"digest": "C0DIGEST01"},
                "sla": {"time_zone": "Europe/Berlin"},
            },
        )
    )

    assert targets == [("C0DIGESTNY", "09:00", "America/New_York")]
    assert [
        (channel, str(at), zone.key)
        for channel, at, zone in team_only.digest.targets(team_only)
    ] == [("C0DIGEST01", "08:30", "Europe/Berlin")]
