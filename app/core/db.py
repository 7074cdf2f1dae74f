"""The async data layer: engines, sessions, and the column types every table shares.

One `Database` per application. It owns the async engine (asyncpg on PostgreSQL, aiosqlite on
SQLite) and hands out sessions.

SQLite is made to behave: foreign keys on, WAL, a busy timeout, and SQLAlchemy's recipe for
transactions (the driver's own implicit BEGIN is switched off and SQLAlchemy emits it), so that a
writing transaction starts with `BEGIN IMMEDIATE`. A deferred transaction that reads and then
writes can fail with SQLITE_BUSY at once, whatever the busy timeout; an immediate one waits its
turn instead.
"""

from __future__ import annotations

import operator
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy import BigInteger, ColumnElement, DateTime, Integer, bindparam, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState
from sqlalchemy.sql import Executable, Select
from sqlalchemy.types import TypeDecorator

from app.core.direct import DirectReader, column_processor
from app.core.validation import decimal_text

SQLITE_BUSY_TIMEOUT_MS = 15_000
WRITE_OPTION = "ippc_write"
AUTOCOMMIT = "AUTOCOMMIT"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC on the way in and on the way out, on every database.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so the value is stored as naive UTC
    and given its zone back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg already gives timezone-aware UTC datetimes (`datetime.UTC`): nothing to do
        # for each value, on the hot read paths as elsewhere.
        if dialect.driver == "asyncpg":
            return None
        if dialect.name == "sqlite":
            return _sqlite_utc_datetime
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    """Naive values are UTC (as SQLite keeps them); aware ones are moved to UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_utc_datetime(value: str | None) -> datetime | None:
    """SQLite's text (`2026-11-30 12:34:56.123456`, naive UTC) as an aware UTC datetime.

    Parsed with its zone appended (`+00:00`), which gives `datetime.UTC` itself: about 0.2 µs,
    where SQLAlchemy's parser followed by `replace(tzinfo=UTC)` costs about 2.6 (a page of 50
    rows reads 100 of them). Text that already names an offset is read as it says."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:
        return _as_utc(datetime.fromisoformat(value))


@column_processor(_sqlite_utc_datetime)
def _sqlite_utc_datetimes(values: Sequence[str | None]) -> list[datetime | None]:
    """`_sqlite_utc_datetime` for a column of values (a hot read's page): each text with its
    zone appended and parsed, without a Python call per value; a column holding a null, or text
    that names an offset, goes value by value."""
    try:
        return list(map(datetime.fromisoformat, map(operator.add, values, repeat("+00:00"))))
    except (TypeError, ValueError):
        return list(map(_sqlite_utc_datetime, values))


class ScaledDecimal(TypeDecorator[Decimal]):
    """An exact decimal with `places` decimal places, stored as a 64-bit integer count of its
    smallest unit (`12500.5` at 4 places is `125005000`), and read back without trailing zeros
    past `min_places` (`12500.50` at 2).

    SQLite has no exact decimal type (SQLAlchemy would hand it floats), so the same integer
    column serves both databases: exact, comparable and summable in SQL. Values with more places
    than the column keeps, or beyond 64 bits, are refused rather than rounded."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int, min_places: int = 0) -> None:
        super().__init__()
        self.places = places
        self.min_places = min_places

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        units = Decimal(value).scaleb(self.places)
        if units != units.to_integral_value():
            raise ValueError(f"more than {self.places} decimal places")
        count = int(units)
        if not -(2**63) <= count < 2**63:
            raise ValueError("beyond what the column holds")
        return count

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(decimal_text(Decimal(value).scaleb(-self.places), self.min_places))


def async_url(url: str) -> str:
    """Choose the async driver for a plain `postgresql://` or `sqlite://` URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(f"unsupported database backend {backend!r}: use postgresql or sqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _ensure_sqlite_directory(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


WAL_ATTEMPTS = 50
WAL_RETRY_SECONDS = 0.1


def _use_wal(cursor: Any) -> None:
    """Put the database in WAL mode (a property of the file, kept once set).

    Switching a new file to WAL needs a lock that SQLite does not wait for (the busy timeout does
    not apply), so connections opened together on a new file retry for a few seconds. This only
    ever happens on a brand-new file."""
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() == "wal":
        return
    for attempt in range(WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(WAL_RETRY_SECONDS)


def _install_sqlite_behaviour(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    sync_engine = engine.sync_engine
    foreign_keys_pragma = f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}"

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching a new file to WAL already needs a lock.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(foreign_keys_pragma)
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "reset")
    def _on_reset(
        dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry, state: PoolResetState
    ) -> None:
        # The pool's reset on return, without its unconditional ROLLBACK (a hop to the driver's
        # thread for every read): only a connection still in a transaction is rolled back.
        if state.terminate_only or not state.asyncio_safe:
            return
        if dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == AUTOCOMMIT:
            return  # each statement is its own transaction (`Database.read`)
        if options.get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def create_engine(url: str, *, sqlite_foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine for a plain database URL, with this project's SQLite behaviour.

    `sqlite_foreign_keys=False` is for migrations alone: SQLite's batch migrations rebuild
    tables, which foreign keys would cascade through. They check the keys when done.
    """
    driver_url = async_url(url)
    # Statement parameters are request data (and once a private key): never in an error text.
    kwargs.setdefault("hide_parameters", True)
    # JSON columns are read by orjson: the same values as the standard library's parser gives,
    # in a fraction of its time (a page of 50 agreements reads four JSON values a row).
    kwargs.setdefault("json_deserializer", orjson.loads)
    if is_sqlite(driver_url):
        if make_url(driver_url).database in (None, "", ":memory:"):
            # One connection shared (a static pool): it has no size to set.
            kwargs.pop("pool_size", None)
            kwargs.pop("max_overflow", None)
        _ensure_sqlite_directory(driver_url)
        # Connections are reset on return by `_on_reset` (see there).
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(driver_url, **kwargs)
        _install_sqlite_behaviour(engine, foreign_keys=sqlite_foreign_keys)
        return engine
    # Every session in UTC, whatever the server's or the database's default: timestamps the
    # database writes as text (in the JSON it builds) are then written alike, and sort as text.
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("server_settings", {}).setdefault("timezone", "UTC")
    return create_async_engine(driver_url, **kwargs)


# The connections SQLite's hot reads (`core.direct`) share, in a pool of their own: each
# aiosqlite connection is a thread, and each of them takes the GIL back from the event loop for
# every row it reads. With a connection per request in flight (eight in the bench), those
# threads and the loop took turns: a page of 50 organizations had a p99 of 38-47 ms. With two,
# reads queue for a moment instead: in the bench a p99 of 17 ms, and 0.113 of the baseline's
# rate against 0.080 before (docs/performance.md, step 18).
SQLITE_DIRECT_READERS = 2


class Database:
    """The application's engine and its sessions."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.dialect = self.engine.dialect.name
        self._readers = async_sessionmaker(self.engine, expire_on_commit=False)
        # Same pool; connections from it begin their transactions marked as writing.
        self._writers = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        # Same pool; connections from it run each statement as its own transaction.
        self._autocommit = self.engine.execution_options(isolation_level=AUTOCOMMIT)
        # Hot reads run by the driver itself (`core.direct`): on the same pool, but for a
        # SQLite file on a small one of their own (`SQLITE_DIRECT_READERS`).
        self._direct_engine: AsyncEngine | None = None
        a_file = make_url(url).database not in (None, "", ":memory:")
        if self.dialect == "sqlite" and a_file and "poolclass" not in engine_kwargs:
            self._direct_engine = create_engine(
                url, **{**engine_kwargs, "pool_size": SQLITE_DIRECT_READERS, "max_overflow": 0}
            )
        self.direct = DirectReader(self.direct_engine)

    @property
    def direct_engine(self) -> AsyncEngine:
        """The engine whose pool the hot reads take their connections from."""
        return self._direct_engine or self.engine

    @asynccontextmanager
    async def session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """A session whose transaction is marked as reading or writing.

        The transaction begins at the session's first statement; on SQLite a writing one begins
        with BEGIN IMMEDIATE. The caller commits; leaving the block without a commit rolls back.
        """
        async with (self._writers if write else self._readers)() as session:
            yield session

    async def read(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> Sequence[Any]:
        """The rows of one statement, read without a session and outside any transaction.

        A hot read that is one statement needs neither: the statement sees one consistent
        snapshot on both databases, and running it in autocommit mode spares the `BEGIN` and
        `ROLLBACK` round trips a transaction would add (on SQLite, two hops to the driver's
        thread). Anything that reads twice and needs the two reads to agree uses a session.

        A SELECT runs on the driver's own connection (`core.direct`); its rows answer by
        position, by name and by column as SQLAlchemy's would. Anything else, and a SELECT the
        driver failed to run, goes through SQLAlchemy."""
        if isinstance(statement, Select):
            rows = await self.direct.read(statement, parameters)
            if rows is not None:
                return rows
        async with self._autocommit.connect() as connection:
            return (await connection.execute(statement, parameters)).all()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """Reads that see the data as it was at the first of them, for an answer made of
        several statements that must agree (a count and the list it counts): a read-only
        REPEATABLE READ transaction on PostgreSQL; on SQLite a transaction, whose first read
        fixes what the others see (WAL)."""
        engine = self.engine
        if self.dialect == "postgresql":
            engine = engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        async with engine.connect() as connection, connection.begin():
            yield Snapshot(connection)

    async def dispose(self) -> None:
        if self._direct_engine is not None:
            await self._direct_engine.dispose()
        await self.engine.dispose()


def session_reads(
    session: AsyncSession,
) -> Callable[[Select[Any], dict[str, Any]], Awaitable[list[Any]]]:
    """What reads a page's statements (`core.pagination.read_parts`) in `session`'s
    transaction: each statement's rows, run with its parameters."""

    async def read(statement: Select[Any], parameters: dict[str, Any]) -> list[Any]:
        return list((await session.execute(statement, parameters)).all())

    return read


class Reader(Protocol):
    """What reads a statement's rows: the database (`Database.read`, each statement on its
    own), or a snapshot several statements share (`Database.snapshot`)."""

    async def read(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> Sequence[Any]: ...


class Snapshot:
    """Statements read in one snapshot of the data (`Database.snapshot`)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def read(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> Sequence[Any]:
        """The rows of one statement, as `Database.read` gives them."""
        return (await self._connection.execute(statement, parameters)).all()


def transaction_lock(connection: Connection, key: int) -> None:
    """Serialize the rest of this transaction with every other, in any instance, that takes the
    same `key`, until it ends: a transaction advisory lock on PostgreSQL. On SQLite a writing
    transaction (`BEGIN IMMEDIATE`) already holds the database's write lock, which does the
    same; a reading one cannot, so taking the lock there is a programming error."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif not connection.get_execution_options().get(WRITE_OPTION):
        raise RuntimeError("a transaction lock is taken in a writing transaction")


_KEYED_LOCKS = text(
    "SELECT pg_advisory_xact_lock(:space, key) "
    "FROM (SELECT DISTINCT unnest(:keys) AS key ORDER BY 1) AS keys"
).bindparams(bindparam("keys", type_=ARRAY(Integer)), bindparam("space", type_=Integer))


def transaction_locks(connection: Connection, space: int, keys: Iterable[int]) -> None:
    """`transaction_lock` for many keys of one `space` (32-bit integers both: the two-key form,
    whose locks never meet the one-key form's), taken in one statement in the keys' order, so
    that two transactions wanting some of the same never wait for each other in a cycle."""
    if connection.dialect.name == "postgresql":
        connection.execute(_KEYED_LOCKS, {"space": space, "keys": sorted(set(keys))})
    elif not connection.get_execution_options().get(WRITE_OPTION):
        raise RuntimeError("a transaction lock is taken in a writing transaction")


async def hold_transaction_lock(session: AsyncSession, key: int) -> None:
    """`transaction_lock` for the session's transaction."""
    connection = await session.connection()
    await connection.run_sync(transaction_lock, key)


def column_of(attribute: object) -> ColumnElement[Any]:
    """The SQL column behind a table model's attribute, typed as a SQL expression.

    SQLModel types `Model.field` as the field's Python value; queries need the column. The
    table's own column, without the ORM's annotations: statements built from it are cheaper to
    build, to key in the statement cache and to match with their cached results, which counts
    on the hot read paths that build a statement per request.
    """
    clause = getattr(attribute, "__clause_element__", None)
    if clause is None:
        raise TypeError(f"{attribute!r} is not a mapped column")
    element = clause()
    if not isinstance(element, ColumnElement):
        raise TypeError(f"{attribute!r} is not a mapped column")
    return element._deannotate()
