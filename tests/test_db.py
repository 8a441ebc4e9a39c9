import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from bot.db import session_scope
from bot.models import Lead, RoutingCursor

WRITERS = 8
WRITES_EACH = 5


def store_lead(engine, created_at: datetime) -> int:
    with session_scope(engine) as session:
        lead = Lead(company="Northwind", created_at=created_at, updated_at=created_at)
        session.add(lead)
        session.flush()
        return lead.id


def read_created_at(engine, lead_id: int) -> datetime:
    with session_scope(engine) as session:
        return session.get(Lead, lead_id).created_at


def test_utc_datetime_reads_back_as_aware_utc(engine):
    stored_at = datetime(2024, 6, 1, 9, 30, 15, 123456, tzinfo=UTC)
    lead_id = store_lead(engine, stored_at)

    read_back = read_created_at(engine, lead_id)

    assert read_back == stored_at
    assert read_back.tzinfo is UTC


def test_aware_non_utc_datetime_is_stored_as_the_same_instant(engine):
    paris_summer = timezone(timedelta(hours=2))
    lead_id = store_lead(engine, datetime(2024, 6, 1, 11, 30, tzinfo=paris_summer))

    read_back = read_created_at(engine, lead_id)

    assert read_back == datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
    assert (read_back.hour, read_back.tzinfo) == (9, UTC)


def test_instants_stored_in_other_zones_compare_in_the_database(engine):
    store_lead(
        engine, datetime(2024, 6, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    )
    cutoff = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)

    with session_scope(engine) as session:
        later = session.scalar(
            select(func.count()).select_from(Lead).where(Lead.created_at > cutoff)
        )

    assert later == 1


def test_naive_datetime_is_refused_and_nothing_is_stored(engine):
    with pytest.raises(StatementError) as caught:
        store_lead(engine, datetime(2024, 6, 1, 9, 30))

    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value.orig)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_file_uses_write_ahead_logging(engine):
    with engine.connect() as connection:
        mode = connection.execute(text("PRAGMA journal_mode")).scalar()

    assert mode == "wal"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_concurrent_sqlite_writers_queue_instead_of_failing(engine):
    with session_scope(engine) as session:
        session.add(RoutingCursor(pool="shared", position=0))
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        start.wait()
        for number in range(WRITES_EACH):
            try:
                with session_scope(engine) as session:
                    cursor = session.get(RoutingCursor, "shared")
                    session.add(Lead(company=f"Lead {writer}-{number}"))
                    session.flush()
                    cursor.position += 1
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 40
        assert session.get(RoutingCursor, "shared").position == 40
