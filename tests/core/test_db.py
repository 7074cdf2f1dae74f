"""The data layer: SQLite made safe, UTC-aware datetimes, one transaction per request."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, event, select, text
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import greenlet_spawn

from app.core.db import (
    SQLITE_DIRECT_READERS,
    Database,
    _sqlite_utc_datetime,
    _sqlite_utc_datetimes,
    async_url,
    column_of,
    hold_transaction_lock,
)
from app.core.direct import _column_wise
from app.models import StrategicObjective
from tests.core.probe import PROBE_CODE


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


def test_plain_urls_get_async_drivers() -> None:
    assert async_url("postgresql://u:p@h:5432/d") == "postgresql+asyncpg://u:p@h:5432/d"
    assert async_url("sqlite:///var/x.db") == "sqlite+aiosqlite:///var/x.db"
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://h/d")


@pytest.mark.sqlite_only
async def test_sqlite_connections_are_configured(database: Database) -> None:
    async with database.session(write=False) as session:
        pragmas = {
            name: (await session.execute(text(f"PRAGMA {name}"))).scalar()
            for name in ("foreign_keys", "journal_mode", "busy_timeout")
        }
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 15000}


def _try_to_write_elsewhere(path: str) -> bool:
    """Whether another connection can take the write lock right now, without waiting."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        other.close()


@pytest.mark.sqlite_only
async def test_sqlite_writes_begin_immediate(database: Database, database_url: str) -> None:
    path = database_url.removeprefix("sqlite:///")
    async with database.session(write=True) as session:
        await session.execute(select(1))
        assert not _try_to_write_elsewhere(path), "a write session must hold the write lock"
    async with database.session(write=False) as session:
        await session.execute(select(column_of(StrategicObjective.code)))
        assert _try_to_write_elsewhere(path), "a read session must not block writers"


@pytest.mark.sqlite_only
async def test_sqlite_hot_reads_share_a_small_pool_of_their_own(database: Database) -> None:
    """Eight reads at once hold at most `SQLITE_DIRECT_READERS` connections (threads), the
    others waiting their turn; the sessions' pool is another."""
    assert database.direct_engine is not database.engine
    pool = database.direct_engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    held: list[int] = []

    def checked_out(*_args: object) -> None:
        held.append(pool.checkedout())

    event.listen(pool, "checkout", checked_out)
    codes = select(column_of(StrategicObjective.code))
    answers = await asyncio.gather(*(database.read(codes) for _ in range(8)))
    assert all(answers)
    assert len(held) == 8
    assert max(held) == SQLITE_DIRECT_READERS


@pytest.mark.sqlite_only
async def test_sqlite_connections_are_rolled_back_on_return_only_in_a_transaction(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's reset: a connection given back inside a transaction is rolled back (its
    write lock released, its change gone); one outside a transaction costs no ROLLBACK."""
    path = database_url.removeprefix("sqlite:///")
    rollbacks: list[object] = []
    real_rollback = AsyncAdapt_aiosqlite_connection.rollback

    def counted(connection: AsyncAdapt_aiosqlite_connection) -> None:
        rollbacks.append(connection)
        real_rollback(connection)

    codes = select(column_of(StrategicObjective.code))
    pool = database.engine.sync_engine.pool
    # Each pool's first connection, set up: the hot reads' and the sessions'.
    assert await database.read(codes)
    await greenlet_spawn(lambda: pool.connect().close())
    monkeypatch.setattr(AsyncAdapt_aiosqlite_connection, "rollback", counted)
    assert await database.read(codes)
    assert rollbacks == []

    def leave_a_write_open() -> None:
        connection = pool.connect()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("UPDATE strategic_objective SET title = 'changed'")
        cursor.close()
        connection.close()  # back to the pool, without a commit

    await greenlet_spawn(leave_a_write_open)
    assert len(rollbacks) == 1
    assert _try_to_write_elsewhere(path)
    titles = await database.read(select(column_of(StrategicObjective.title)))
    assert titles
    assert "changed" not in {row.title for row in titles}


async def test_foreign_keys_are_enforced(database: Database) -> None:
    async with database.session(write=True) as session:
        await session.execute(text("CREATE TABLE fk_parent (id INTEGER PRIMARY KEY)"))
        await session.execute(
            text(
                "CREATE TABLE fk_child (id INTEGER PRIMARY KEY, parent_id INTEGER "
                "NOT NULL REFERENCES fk_parent (id))"
            )
        )
        await session.commit()
    async with database.session(write=True) as session:
        with pytest.raises(IntegrityError):
            await session.execute(text("INSERT INTO fk_child (id, parent_id) VALUES (1, 42)"))


async def _insert(session: AsyncSession, created_at: datetime) -> None:
    session.add(
        StrategicObjective(
            code="test.Z",
            framework="test",
            letter="Z",
            title="t",
            created_at=created_at,
            updated_at=created_at,
        )
    )
    await session.commit()


async def test_datetimes_come_back_utc_aware(database: Database) -> None:
    geneva_summer = timezone(timedelta(hours=2))
    written = datetime(2026, 6, 1, 14, 30, 15, 123456, tzinfo=geneva_summer)
    async with database.session(write=True) as session:
        await _insert(session, written)
    async with database.session(write=False) as session:
        read = (
            await session.execute(
                select(column_of(StrategicObjective.created_at)).where(
                    column_of(StrategicObjective.code) == "test.Z"
                )
            )
        ).scalar_one()
    assert read == written
    assert read.tzinfo is UTC  # what the rows written straight to JSON rely on (`Z`)
    assert read.hour == 12


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("2026-06-01 12:30:15.123456", datetime(2026, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)),
        ("2026-06-01 12:30:15", datetime(2026, 6, 1, 12, 30, 15, tzinfo=UTC)),  # SQL defaults
        ("2026-06-01T14:30:15+02:00", datetime(2026, 6, 1, 12, 30, 15, tzinfo=UTC)),
        (None, None),
    ],
)
def test_sqlite_text_is_read_as_utc(stored: str | None, read: datetime | None) -> None:
    """SQLite keeps naive UTC text; it is read in one step as an aware UTC datetime, and text
    that names an offset is read as it says."""
    value = _sqlite_utc_datetime(stored)
    assert value == read
    assert value is None or value.tzinfo is UTC


@pytest.mark.parametrize(
    "column",
    [
        ["2026-06-01 12:30:15.123456", "2026-06-02 00:00:00", "2026-06-03 23:59:59.000001"],
        ["2026-06-01 12:30:15.123456", None, "2026-06-03 23:59:59"],
        ["2026-06-01 12:30:15", "2026-06-01T14:30:15+02:00"],
        [None, None],
        [],
    ],
)
def test_a_column_of_sqlite_text_is_read_as_each_value(column: list[str | None]) -> None:
    """The direct reads process a whole column at once: the same values, of the same zone, as
    value by value."""
    assert _column_wise(_sqlite_utc_datetime) is _sqlite_utc_datetimes
    read = _sqlite_utc_datetimes(column)
    expected = [_sqlite_utc_datetime(value) for value in column]
    assert read == expected
    assert [value is None or value.tzinfo is UTC for value in read] == [True] * len(column)


def test_a_column_holding_what_is_no_timestamp_fails_as_its_value_does() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        _sqlite_utc_datetime("not a time")
    with pytest.raises(ValueError, match="Invalid isoformat"):
        _sqlite_utc_datetimes(["2026-06-01 12:30:15", "not a time"])


async def test_naive_datetimes_are_refused(database: Database) -> None:
    async with database.session(write=True) as session:
        with pytest.raises(StatementError, match="naive datetimes"):
            await _insert(session, datetime(2026, 6, 1, 12, 0))


async def _probe_rows(app: FastAPI) -> int:
    database: Database = app.state.database
    async with database.session(write=False) as session:
        query = select(column_of(StrategicObjective.code)).where(
            column_of(StrategicObjective.code) == PROBE_CODE
        )
        return len((await session.execute(query)).all())


async def test_a_request_commits_its_writes(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    response = await probe_client.post("/v1/probe/objectives")
    assert response.status_code == 201
    assert await _probe_rows(probe_app) == 1


async def test_a_failed_request_rolls_back(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    response = await probe_client.post("/v1/probe/objectives-then-fail")
    assert response.status_code == 500
    assert await _probe_rows(probe_app) == 0


async def test_a_failed_commit_is_never_a_201(
    probe_app: FastAPI, probe_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_commit(self: AsyncSession) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    response = await probe_client.post("/v1/probe/objectives")
    monkeypatch.undo()
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert await _probe_rows(probe_app) == 0


async def test_reads_do_not_write(database: Database) -> None:
    """A GET's session is never committed: what it changed is rolled back."""
    async with database.session(write=False) as session:
        await session.execute(delete(StrategicObjective))
    async with database.session(write=False) as session:
        count = len((await session.execute(select(column_of(StrategicObjective.code)))).all())
    assert count == 7


@pytest.mark.sqlite_only
async def test_a_transaction_lock_needs_a_writing_transaction_on_sqlite(database: Database) -> None:
    """On SQLite the write lock is what serializes; a reading transaction has none to offer."""
    async with database.session(write=True) as session:
        await hold_transaction_lock(session, 1)  # the write lock is held: nothing to add
    async with database.session(write=False) as session:
        with pytest.raises(RuntimeError, match="writing transaction"):
            await hold_transaction_lock(session, 1)


def test_the_pool_takes_its_size_from_the_settings(database_url: str) -> None:
    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(database_url, database_pool_size=7, database_max_overflow=3))
    pool = app.state.database.engine.pool
    assert (pool.size(), pool._max_overflow) == (7, 3)


@pytest.mark.postgres_only
async def test_postgresql_sessions_write_time_in_utc_whatever_the_default(
    database_url: str,
) -> None:
    """The database's own default zone has daylight saving: the service's sessions still write
    timestamps as UTC text (the public register sorts decisions by such text)."""
    name = make_url(database_url).database
    setup = Database(database_url)
    async with setup.engine.connect() as connection:
        await connection.exec_driver_sql(
            f"ALTER DATABASE \"{name}\" SET timezone TO 'America/New_York'"
        )
        await connection.commit()
    await setup.dispose()
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            written = await connection.exec_driver_sql(
                "SELECT to_json(timestamptz '2026-11-01 05:30:00+00')::text"
            )
            assert written.scalar_one() == '"2026-11-01T05:30:00+00:00"'
        rows = await database.read(text("SELECT current_setting('TimeZone')"))
        assert rows[0][0] == "UTC"
    finally:
        await database.dispose()
