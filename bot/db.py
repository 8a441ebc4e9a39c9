"""Database engine, sessions, migrations and the UTC datetime column type."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from bot import PROJECT_ROOT

logger = logging.getLogger(__name__)

# How long SQLite waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT_S = 30


class UTCDateTime(TypeDecorator):
    """A datetime stored as UTC and always read back timezone-aware.

    SQLite has no timezone support and returns naive values; PostgreSQL's
    `timestamptz` returns aware ones. Naive values are refused on the way in
    so that a local time can never be stored as if it were UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def make_engine(database_url: str) -> Engine:
    """Create the engine; on SQLite, make concurrent writers queue, not fail.

    hide_parameters keeps row values (emails, event properties) out of the
    text of database errors, which reach the logs with their tracebacks.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=10,
            # No server-side prepared statements: after five runs psycopg
            # would prepare one, and PostgreSQL's generic plan for it ignores
            # how skewed events are (one lead with 10,000, most with a few),
            # which made the engagement sums 2.5x slower. It also keeps the
            # bot usable behind PgBouncer in transaction mode.
            connect_args={"prepare_threshold": None},
            hide_parameters=True,
        )

    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()
        # SQLite's own lower() folds ASCII only; PostgreSQL's folds every
        # letter. Python's makes "Ärzte" match "ärzte" on both.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A deferred transaction that reads and then writes fails at once with
        # "database is locked" when another writer got in between; taking the
        # write lock up front makes it wait for busy_timeout instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message says which one."""


def upgrade_database(database_url: str) -> None:
    """Apply every Alembic migration not yet applied."""
    try:
        command.upgrade(alembic_config(database_url), "head")
    except OperationalError as error:
        url = make_url(database_url).render_as_string(hide_password=True)
        reason = str(error.orig).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot reach the database at {url} ({reason}); check DATABASE_URL"
        ) from None
    logger.info(
        "database upgraded backend=%s", make_url(database_url).get_backend_name()
    )


def dialect_insert(session, target):
    """The backend's own INSERT, which has ON CONFLICT DO NOTHING."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(target)


def insert_ignoring_conflicts(session, model, values: dict):
    """INSERT a row unless it collides with a unique key.

    Returns the new row's primary key, or None when the row already existed.
    """
    key = next(iter(model.__table__.primary_key.columns))
    statement = (
        dialect_insert(session, model)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(key)
    )
    # rowcount is -1 for this statement under psycopg; RETURNING is reliable.
    row = session.execute(statement).first()
    return None if row is None else row[0]
