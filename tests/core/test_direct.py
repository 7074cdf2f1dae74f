"""Hot reads on the driver's connection (`core.direct`): the same rows as SQLAlchemy's, and the
same failures."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.dialects.sqlite import aiosqlite as sqlite_aiosqlite
from sqlalchemy.exc import DBAPIError

from app.core import direct
from app.core.db import Database, ScaledDecimal, UTCDateTime

METADATA = MetaData()
SAMPLE = Table(
    "direct_sample",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=True),
    Column("amount", ScaledDecimal(4), nullable=True),
)
ROWS = [
    {
        "id": uuid.UUID(int=index),
        "name": f"row {index}",
        "flag": index % 2 == 0,
        "at": datetime(2026, 1, index, 9, 30, tzinfo=UTC) if index != 3 else None,
        "amount": Decimal(f"{index}125.5") if index != 2 else None,
    }
    for index in range(1, 6)
]
BY_NAMES = (
    select(SAMPLE.c.id, SAMPLE.c.name, SAMPLE.c.flag, SAMPLE.c.at, SAMPLE.c.amount)
    .where(SAMPLE.c.name.in_(bindparam("names", expanding=True)))
    .where(SAMPLE.c.flag == bindparam("flag"))
    .order_by(SAMPLE.c.id)
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
        await connection.execute(insert(SAMPLE), ROWS)
    yield db
    await db.dispose()


async def _through_sqlalchemy(database: Database, statement: Any, parameters: Any) -> list[Any]:
    async with database.engine.connect() as connection:
        return list((await connection.execute(statement, parameters)).all())


@pytest.fixture
def invalidated(database: Database) -> list[object]:
    """The hot reads' pool's connections invalidated meanwhile."""
    seen: list[object] = []

    def record(dbapi_connection: object, *_args: object) -> None:
        seen.append(dbapi_connection)

    event.listen(database.direct_engine.sync_engine, "invalidate", record)
    return seen


@pytest.mark.parametrize(
    ("names", "flag"),
    [(["row 1", "row 2", "row 3", "row 4"], False), (["row 2", "row 4", "row 5"], True)],
)
async def test_rows_are_sqlalchemys(database: Database, names: list[str], flag: bool) -> None:
    ran: list[str] = []
    database.direct.listeners.append(lambda _driver, sql: ran.append(sql))
    parameters = {"names": names, "flag": flag}
    rows = await database.read(BY_NAMES, parameters)
    expected = await _through_sqlalchemy(database, BY_NAMES, parameters)
    assert len(ran) == 1  # the driver ran it, not SQLAlchemy
    assert rows
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    # The same types, not only equal values: a UUID, a bool, an aware datetime, a Decimal.
    for row, model in zip(rows, expected, strict=True):
        assert [type(value) for value in row] == [type(value) for value in model]
    at = [row.at for row in rows if row.at is not None]
    assert at
    assert all(value.tzinfo is not None for value in at)


async def test_parameters_are_processed_as_sqlalchemy_would(database: Database) -> None:
    """Each parameter through its column type's bind processor: an exact amount stored as a
    scaled integer, an aware datetime stored as UTC text on SQLite."""
    ran: list[str] = []
    database.direct.listeners.append(lambda _driver, sql: ran.append(sql))
    statement = select(SAMPLE.c.name).where(
        SAMPLE.c.amount == bindparam("amount"), SAMPLE.c.at >= bindparam("since")
    )
    since = datetime(2026, 1, 4, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    rows = await database.read(statement, {"amount": Decimal("4125.5"), "since": since})
    assert [row.name for row in rows] == ["row 4"]
    assert len(ran) == 1  # the driver ran it (a failed call would have been run again)


async def test_rows_answer_by_position_name_and_column(database: Database) -> None:
    statement = select(SAMPLE.c.id, SAMPLE.c.name, SAMPLE.c.name.label("again")).order_by(
        SAMPLE.c.id
    )
    row = (await database.read(statement))[0]
    assert row[1] == row.name == row.again == "row 1"
    assert row._mapping[SAMPLE.c.id] == row.id == uuid.UUID(int=1)
    assert row._mapping["name"] == "row 1"
    assert len(row) == 3
    assert row[1:] == ("row 1", "row 1")


async def test_other_statements_go_through_sqlalchemy(database: Database) -> None:
    ran: list[str] = []
    database.direct.listeners.append(lambda _driver, sql: ran.append(sql))
    assert [tuple(row) for row in await database.read(text("SELECT 1"))] == [(1,)]
    assert ran == []


async def test_a_failed_driver_call_runs_again_through_sqlalchemy(
    database: Database, invalidated: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection the server dropped, or any driver error: the connection is invalidated
    and the read is answered by SQLAlchemy on another."""

    async def broken(*_args: Any) -> Any:
        raise ConnectionResetError("the server closed the connection")

    monkeypatch.setattr(database.direct, "_run", broken)
    rows = await database.read(BY_NAMES, {"names": ["row 1", "row 3"], "flag": False})
    assert [row.name for row in rows] == ["row 1", "row 3"]
    assert len(invalidated) == 1


async def test_an_error_of_the_statement_is_sqlalchemys(
    database: Database, invalidated: list[object]
) -> None:
    missing = select(SAMPLE.c.id).where(text("no_such_column = 1"))
    with pytest.raises(DBAPIError):
        await database.read(missing)
    assert len(invalidated) == 1
    # The pool still serves.
    assert len(await database.read(select(SAMPLE.c.id))) == len(ROWS)


async def test_a_cancelled_read_does_not_return_its_connection_as_is(
    database: Database, invalidated: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request cancelled mid-statement (its client went away): the driver's connection may
    still be busy, so it is invalidated rather than handed to the next request."""
    started = asyncio.Event()

    async def stalled(*_args: Any) -> Any:
        started.set()
        await asyncio.sleep(60)

    monkeypatch.setattr(database.direct, "_run", stalled)
    task = asyncio.create_task(database.read(select(SAMPLE.c.id)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(invalidated) == 1
    monkeypatch.undo()
    assert len(await database.read(select(SAMPLE.c.id))) == len(ROWS)


async def test_compiled_statements_are_bounded(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(direct, "MAX_COMPILED", 3)
    for limit in range(1, 6):
        rows = await database.read(select(SAMPLE.c.id).order_by(SAMPLE.c.id).limit(limit))
        assert len(rows) == limit
    assert len(database.direct._compiled) == 3


async def test_no_rows(database: Database) -> None:
    ran: list[str] = []
    database.direct.listeners.append(lambda _driver, sql: ran.append(sql))
    assert await database.read(BY_NAMES, {"names": ["nobody"], "flag": True}) == []
    assert len(ran) == 1


def _sqlalchemys_uuid(text_value: str | None) -> Any:
    """SQLAlchemy's own result processor for `Uuid` where the database stores text (SQLite)."""
    dialect = sqlite_aiosqlite.dialect()
    processor = Uuid().dialect_impl(dialect).result_processor(dialect, None)
    assert processor is not None
    return processor(text_value)


UUID_TEXTS = [
    *(uuid.uuid4().hex for _ in range(200)),
    "0" * 32,
    "f" * 32,
    "F" * 32,
    "0123456789ABCDEFabcdef0123456789",
    str(uuid.UUID(int=7)),  # 36 characters, with hyphens
    "{" + uuid.UUID(int=8).hex + "}",
    "urn:uuid:" + str(uuid.UUID(int=9)),
    # 32 characters that `int` reads as `uuid.UUID` would: a sign, spaces, underscores.
    "+" + "1" * 31,
    " " + "2" * 30 + " ",
    "3_" + "3" * 30,
    "0x" + "4" * 30,
]
BAD_UUID_TEXTS = [
    "g" * 32,
    "-" + "1" * 31,
    "-" + "0" * 31,
    " -" + "0" * 30,
    "1" * 31,
    "1" * 33,
    "",
    "{" + "1" * 30 + "}",
    "urn:uuid:" + "1" * 23,
    "1" * 16 + "urn:" + "1" * 12,
]


@pytest.mark.parametrize("text_value", [*UUID_TEXTS, None])
def test_uuids_from_text_are_sqlalchemys(text_value: str | None) -> None:
    made = direct.uuid_from_hex(text_value)
    expected = _sqlalchemys_uuid(text_value)
    if expected is None:
        assert made is None
        return
    assert type(made) is uuid.UUID
    assert made == expected
    assert made.int == expected.int
    assert made.is_safe is expected.is_safe
    assert str(made) == str(expected)
    assert hash(made) == hash(expected)
    assert made.version == expected.version
    assert copy.deepcopy(made) == expected  # through its state, as pickling does
    with pytest.raises(TypeError):
        made.int = 1  # type: ignore[misc]  # immutable, as any UUID


@pytest.mark.parametrize("text_value", BAD_UUID_TEXTS)
def test_text_that_is_no_uuid_is_refused_as_sqlalchemy_refuses_it(text_value: str) -> None:
    refused = "badly formed hexadecimal UUID string|invalid literal for int"
    with pytest.raises(ValueError, match=refused):
        _sqlalchemys_uuid(text_value)
    with pytest.raises(ValueError, match=refused):
        direct.uuid_from_hex(text_value)


def test_sqlite_uuids_are_read_by_uuid_from_hex() -> None:
    """On SQLite the direct reads make UUIDs with `uuid_from_hex`; on PostgreSQL the driver
    makes them and no processor runs."""
    sqlite_dialect = sqlite_aiosqlite.dialect()
    assert direct._result_processor(Uuid(), sqlite_dialect) is direct.uuid_from_hex
    # Only SQLAlchemy's own `Uuid` read as UUIDs: not one read as text.
    assert direct._result_processor(Uuid(as_uuid=False), sqlite_dialect) is not None
    assert direct._result_processor(Uuid(as_uuid=False), sqlite_dialect) is not (
        direct.uuid_from_hex
    )
    postgresql_dialect = postgresql_asyncpg.dialect()  # type: ignore[no-untyped-call]
    assert direct._result_processor(Uuid(), postgresql_dialect) is None


def test_a_column_processor_is_used_for_its_processor() -> None:
    def double(value: Any) -> Any:
        return None if value is None else value * 2

    assert list(direct._column_wise(double)([1, None, 3])) == [2, None, 6]

    @direct.column_processor(double)
    def doubles(values: Any) -> list[Any]:
        return [None if value is None else value * 2 for value in values]

    try:
        assert direct._column_wise(double) is doubles
    finally:
        direct._COLUMN_PROCESSORS.pop(double)


async def _executions_by_statement(database: Database, drivers: list[Any]) -> dict[str, int]:
    """PostgreSQL's count of executions of each statement prepared on the drivers' connections
    (each is the pool's, idle now)."""
    counts: dict[str, int] = {}
    for driver in {id(item): item for item in drivers}.values():
        for record in await driver.fetch(
            "SELECT statement, generic_plans + custom_plans AS runs FROM pg_prepared_statements"
        ):
            counts[record["statement"]] = counts.get(record["statement"], 0) + record["runs"]
    return counts


@pytest.mark.postgres_only
async def test_a_statement_planned_each_time_is_prepared_for_each_execution(
    database: Database,
) -> None:
    """A statement with `PLAN_EACH_TIME` (a text search) is prepared afresh at each execution,
    so that PostgreSQL plans it for its values and never settles on its generic plan; the
    others are prepared once per connection and run again (asyncpg keeps them)."""
    searched = (
        select(SAMPLE.c.id)
        .where(SAMPLE.c.name.like(bindparam("pattern")))
        .execution_options(**{direct.PLAN_EACH_TIME: True})
    )
    drivers: list[Any] = []
    database.direct.listeners.append(lambda driver, _sql: drivers.append(driver))
    for _ in range(8):
        assert len(await database.read(searched, {"pattern": "row%"})) == 5
        assert len(await database.read(BY_NAMES, {"names": ["row 1"], "flag": False})) == 1
    assert len(drivers) == 16
    counts = await _executions_by_statement(database, drivers)
    # Each prepared search ran once, and is closed once dropped; a kept one would show 8 runs.
    searches = [runs for sql, runs in counts.items() if "LIKE" in sql]
    assert max(searches, default=0) <= 1, counts
    kept = [runs for sql, runs in counts.items() if "direct_sample.flag" in sql]
    assert sum(kept) == 8, counts
