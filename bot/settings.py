"""Process settings read from the environment (and `.env`)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values copied from .env.example that were never replaced with real ones.
PLACEHOLDER_MARKERS = ("your-", "xxxx", "changeme", "replace-me")
# Anyone who guesses the webhook secret can create leads and MQLs.
MIN_HOOKS_SECRET = 16


class SettingsError(Exception):
    """A required setting is missing or still holds a placeholder."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///./qualify.db"
    # None: ./qualify.toml when it exists, else the shipped defaults.
    qualify_config: Path | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1)
    web_threads: int = Field(default=8, ge=1)
    # Processes doing the work after each ack (0: threads in the web process).
    work_processes: int = Field(default=2, ge=0)
    work_threads: int = Field(default=8, ge=1)
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    # Seconds one interpretation may take before the offline rules answer.
    llm_timeout_s: float = Field(default=8.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The shared secret POST /hooks/events checks signatures with; unset, the
    # endpoint answers 503 and stores nothing.
    hooks_secret: str | None = None
    # Larger bodies get 413. Segment sends batches of at most 500 KB.
    hooks_max_bytes: int = Field(default=1024 * 1024, ge=1024)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper() if isinstance(value, str) else value

    @field_validator("hooks_secret")
    @classmethod
    def _usable_secret(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is None:
            return None
        if any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
            raise ValueError("still holds the placeholder from .env.example")
        if len(value) < MIN_HOOKS_SECRET:
            raise ValueError(
                f"must be at least {MIN_HOOKS_SECRET} characters; generate one with "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        # Heroku and others hand out postgres:// URLs; SQLAlchemy needs a driver.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value.removeprefix(prefix)
        return value

    def require(self, *names: str) -> None:
        """Fail with one clear message if any named setting is unusable."""
        problems = []
        for name in names:
            value = getattr(self, name)
            if not value:
                problems.append(f"{name.upper()} is not set")
            elif any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
                problems.append(
                    f"{name.upper()} still holds the placeholder from .env.example"
                )
        if problems:
            raise SettingsError(
                "; ".join(problems)
                + ". Set it in the environment or in .env (see .env.example)."
            )
