"""Settings read from the environment: the live-events secret and body limit."""

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from bot.__main__ import main
from bot.settings import Settings


def _settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_live_events_are_off_and_bodies_capped_at_one_mebibyte_by_default():
    settings = _settings()

    assert settings.hooks_secret is None
    assert settings.hooks_max_bytes == 1_048_576


def test_a_blank_hooks_secret_counts_as_unset():
    assert _settings(hooks_secret="   ").hooks_secret is None


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("changeme-0123456789", "still holds the placeholder from .env.example"),
        ("short-secret", "must be at least 16 characters; generate one with"),
    ],
)
def test_an_unusable_hooks_secret_is_refused(secret, problem):
    with pytest.raises(ValidationError) as raised:
        _settings(hooks_secret=secret)

    assert problem in str(raised.value)


def test_the_cli_names_a_short_hooks_secret_and_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOOKS_SECRET", "abc")

    result = CliRunner().invoke(main, ["migrate"], catch_exceptions=False)

    assert result.exit_code == 1
    assert result.output == (
        "Error: invalid environment: HOOKS_SECRET: Value error, must be at least 16 "
        "characters; generate one with python -c 'import secrets; "
        "print(secrets.token_hex(32))'\n"
    )
