"""Shared fixtures: a fresh, migrated database per test on SQLite and PostgreSQL."""

import os
import shutil
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import load_config
from bot.db import make_engine, upgrade_database

# Each test run gets its own database, dropped at the end, so that two runs
# on one machine never see each other's rows.
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL",
    f"postgresql+psycopg://postgres@127.0.0.1:5432/qualify_test_{os.getpid()}",
)
# Only an explicit opt-out skips PostgreSQL; an unreachable server fails the run.
SKIP_POSTGRES = os.environ.get("QUALIFY_TEST_SKIP_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def _admin_dsn(url: str) -> str:
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False)


def _ensure_postgres_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_admin_dsn(url), autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_admin_dsn(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated():
    if SKIP_POSTGRES:
        pytest.skip("QUALIFY_TEST_SKIP_POSTGRES=1 was set")
    try:
        _ensure_postgres_database(POSTGRES_URL)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}). Start it, "
            "set TEST_POSTGRES_URL, or set QUALIFY_TEST_SKIP_POSTGRES=1 to skip.",
            pytrace=False,
        )
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    upgrade_database(POSTGRES_URL)
    yield POSTGRES_URL
    if "TEST_POSTGRES_URL" not in os.environ:
        _drop_postgres_database(POSTGRES_URL)


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "qualify.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_migrated")
    _truncate_postgres(url)
    return url


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def config():
    return load_config(None)
