"""Hot reads run on the driver's own connection: SQLAlchemy writes the SQL, the driver runs it.

A hot read (a list's page, a read by id) is one SELECT that the kit builds once per shape and runs
with each request's values. Through SQLAlchemy's async engine such a statement pays for a
`Connection`, an execution context, a cursor adapter, a result and its rows, and the greenlet
hops between them: measured on PostgreSQL, about 140 µs more than asyncpg takes to run the same
prepared statement, the largest single cost of a page (docs/performance.md).

Here SQLAlchemy still compiles the statement, once per statement object, with its dialect (the
SQL, the bind casts, the order of the positional parameters), and still prepares each request's
parameters (`construct_expanded_state`: expanding `IN` lists, the bind processors of the column
types). The connection still comes from the engine's pool, with its size, timeout, events and
reset. Only the execution goes to the driver: asyncpg's `fetch` (which keeps the prepared
statement per connection), aiosqlite's `execute_fetchall` (one hop to the driver's thread, where
SQLAlchemy's cursor takes four). Each column's result processor (SQLite's dates, UUIDs and
booleans; the scaled decimals) is applied as SQLAlchemy's result would, so the values are the
same, and the rows are tuples that answer by position, by name and by column (`row._mapping`).

The values are processed a column at a time (`map` over the column, or a processor's own way of
doing a whole column, `column_processor`), not row by row, and the rows are made by `tuple`'s
own constructor: a page of 50 rows took a Python step per row and per processed value. SQLite's
UUIDs (32 hex digits, as SQLAlchemy's `Uuid` stores them there) are made from their integer
(`uuid_from_hex`), the same values as SQLAlchemy's processor gives in about half the time.

A statement whose best plan depends on its values (a text search: a rare term is found through
its trigram index, a common one by reading the list's order and testing each row) carries the
execution option `PLAN_EACH_TIME`: on PostgreSQL it is then prepared afresh for each execution,
so that it is planned for the values given. A statement asyncpg keeps would, after its first
five executions, settle on PostgreSQL's generic plan, made for any term, whose guess of how many
rows match is a constant: a wrong one for every common term (docs/architecture.md, "Indexes for
every order and filter"). The cost is one round trip more.

Failures: a driver error invalidates the connection (it may be broken, or mid-statement when a
request was cancelled) and the statement runs again through SQLAlchemy, on another connection
from the pool, so that a real error surfaces as SQLAlchemy's (mapped to problems like any
other). When one connection was dropped (a backend ended on its own), the read is answered on
another. When the server dropped them all (a restart), the other is dead too: SQLAlchemy sees
the disconnection, marks every connection older than it to be replaced, and the request gets a
503 with `Retry-After` (as a request through a session would); the next ones get new
connections. Errors of the pool (none free in time, the server unreachable) are SQLAlchemy's
already.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from types import MemberDescriptorType
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select
from sqlalchemy.types import Uuid
from sqlalchemy.util import await_only, greenlet_spawn

# Statements compiled and kept; the kit keeps at most 256 statements per list.
MAX_COMPILED = 1024
# The execution option of a statement to be planned for each execution's values (above).
PLAN_EACH_TIME = "ippc_plan_each_time"

# Called after each direct read with the driver's connection and the SQL it ran (for tests and
# diagnostics that watch what reaches the database).
Listener = Callable[[Any, str], None]
# Runs a statement's SQL with its arguments on a driver connection: the driver's records.
Runner = Callable[[Any, str, list[Any]], Any]

# A result processor (one value) and what processes a whole column of values.
Processor = Callable[[Any], Any]
ColumnProcessor = Callable[[Sequence[Any]], Iterable[Any]]

# Result processors that have a way of their own to process a whole column: the same values as
# the processor's, value by value.
_COLUMN_PROCESSORS: dict[Processor, ColumnProcessor] = {}


def column_processor(processor: Processor) -> Callable[[ColumnProcessor], ColumnProcessor]:
    """Registers the decorated function as the way to process a whole column of values that
    `processor` would process one by one. It must give exactly the values `processor` gives
    (a test holds each to it)."""

    def register(whole: ColumnProcessor) -> ColumnProcessor:
        _COLUMN_PROCESSORS[processor] = whole
        return whole

    return register


def _column_wise(processor: Processor) -> ColumnProcessor:
    return _COLUMN_PROCESSORS.get(processor) or partial(map, processor)


def _uuid_slot_setter(name: str) -> Callable[[uuid.UUID, Any], None] | None:
    """`uuid.UUID`'s value is a slot (`int`), and its safety another (`is_safe`); they are set
    as `UUID.__init__` sets them, through the slots' descriptors (the class forbids setting
    attributes otherwise). None if this Python's UUID were made otherwise."""
    slot = vars(uuid.UUID).get(name)
    return slot.__set__ if isinstance(slot, MemberDescriptorType) else None


_SET_UUID_INT = _uuid_slot_setter("int")
_SET_UUID_SAFE = _uuid_slot_setter("is_safe")
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown


def uuid_from_hex(value: str | None) -> uuid.UUID | None:
    """A UUID stored as text, as SQLAlchemy's `Uuid` reads it where the database has no UUID
    type (SQLite): the same value, made faster for its usual form, 32 hex digits.

    For a text of 32 characters without a hyphen, `uuid.UUID(text)` is
    `uuid.UUID(int=int(text, 16))`: it removes only braces, hyphens and `urn:uuid:`, then refuses
    what is no longer 32 characters, and `int` refuses braces and colons too (a hyphen it could
    read as a sign: such text goes to `uuid.UUID`, as does text of any other length). The UUID
    is then made as `uuid.UUID.__init__` makes it, without its checks of the arguments: about
    0.5 µs instead of 1, and 50 of them on a page."""
    if value is None:
        return None
    if len(value) != 32 or "-" in value or _SET_UUID_INT is None or _SET_UUID_SAFE is None:
        return uuid.UUID(value)
    made = object.__new__(uuid.UUID)
    _SET_UUID_INT(made, int(value, 16))
    _SET_UUID_SAFE(made, _UNKNOWN_SAFETY)
    return made


def _result_processor(type_: Any, dialect: Dialect) -> Processor | None:
    """The column type's result processor on this dialect, as SQLAlchemy's result applies it;
    for SQLAlchemy's own `Uuid` read from text, `uuid_from_hex`, which gives the same values."""
    impl = type_.dialect_impl(dialect)
    processor: Processor | None = impl.result_processor(dialect, None)
    if (
        processor is not None
        and type(impl) is Uuid
        and impl.as_uuid
        and not (dialect.supports_native_uuid and impl.native_uuid)
    ):
        return uuid_from_hex
    return processor


class _ByColumn(Mapping[Any, Any]):
    """A row's values by selected column (or by name), as `Row._mapping` answers."""

    __slots__ = ("_index", "_row")

    def __init__(self, row: tuple[Any, ...], index: dict[Any, int]) -> None:
        self._row = row
        self._index = index

    def __getitem__(self, key: Any) -> Any:
        return self._row[self._index[key]]

    def __iter__(self) -> Iterator[Any]:
        return iter(key for key in self._index if isinstance(key, str))

    def __len__(self) -> int:
        return len(self._row)


def _row_type(names: list[str], columns: list[Any]) -> type[tuple[Any, ...]]:
    index: dict[Any, int] = {}
    for position, (name, column) in enumerate(zip(names, columns, strict=True)):
        index.setdefault(name, position)
        index.setdefault(column, position)
    fields = namedtuple("Row", names, rename=True)  # type: ignore[misc]

    class DirectRow(fields):
        __slots__ = ()

        @property
        def _mapping(self) -> Mapping[Any, Any]:
            return _ByColumn(self, index)

    return DirectRow


class _Compiled:
    """A statement compiled for one dialect: its SQL and how to make its rows."""

    __slots__ = ("binds", "compiled", "fixed", "make", "planned_each_time", "processors")

    processors: tuple[tuple[int, ColumnProcessor], ...]

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        self.compiled = statement.compile(dialect=dialect)
        self.planned_each_time = bool(statement.get_execution_options().get(PLAN_EACH_TIME))
        # The bind processors of the statement's parameters, as SQLAlchemy's execution context
        # takes them (the expanded state adds those of the expanded ones).
        self.binds: Mapping[str, Any] = self.compiled._bind_processors
        # Most statements have no list to expand and no parameter renamed: their SQL and the
        # order of their parameters are the same at every execution, and SQLAlchemy's expansion
        # (about a tenth of a public page's time in the driver's hands) has nothing to do.
        self.fixed = not (
            self.compiled.post_compile_params
            or self.compiled.literal_execute_params
            or self.compiled.escaped_bind_names
        )
        columns = list(statement.selected_columns)
        processors = []
        for position, column in enumerate(columns):
            processor = _result_processor(column.type, dialect)
            if processor is not None:
                processors.append((position, _column_wise(processor)))
        self.processors = tuple(processors)
        row_type = _row_type(list(statement.selected_columns.keys()), columns)
        # `tuple`'s own constructor, without the length check of the named tuple's `_make` (a
        # Python call per row): the driver returns the statement's columns, no more, no less.
        self.make: Callable[[Iterable[Any]], tuple[Any, ...]] = partial(tuple.__new__, row_type)

    def arguments(self, parameters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        """The SQL and the driver's positional arguments for these parameters."""
        if self.fixed:
            given = self.compiled.construct_params(parameters, _no_postcompile=True)
            binds = self.binds
            return self.compiled.string, [
                binds[name](given[name]) if name in binds else given[name]
                for name in self.compiled.positiontup or ()
            ]
        state = self.compiled.construct_expanded_state(parameters)
        values = state.parameters
        processors = {**self.binds, **state.processors} if state.processors else self.binds
        order = state.positiontup or ()
        return state.statement, [
            processors[name](values[name]) if name in processors else values[name] for name in order
        ]

    def rows(self, records: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The driver's records as rows, each column's values through its processor."""
        if not self.processors or not records:
            return list(map(self.make, records))
        values = list(zip(*records, strict=True))
        columns: list[Iterable[Any]] = list(values)
        for position, process in self.processors:
            columns[position] = process(values[position])
        return list(map(self.make, zip(*columns, strict=True)))


class _Failed:
    """The driver refused or lost the statement (the connection was invalidated)."""


_FAILED = _Failed()


class DirectReader:
    """Runs SELECTs on the pool's driver connections, outside any transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._pool = engine.sync_engine.pool
        self._dialect = engine.dialect
        self._compiled: OrderedDict[Select[Any], _Compiled] = OrderedDict()
        if engine.dialect.name == "postgresql":
            self._run: Runner = _run_asyncpg
            self._run_planned: Runner = _run_asyncpg_planned
        elif engine.dialect.name == "sqlite":
            self._run = self._run_planned = _run_aiosqlite
        else:  # pragma: no cover - the service runs on these two
            raise ValueError(f"no direct reads on {engine.dialect.name}")
        self.listeners: list[Listener] = []

    def _compile(self, statement: Select[Any]) -> _Compiled:
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = _Compiled(statement, self._dialect)
            if len(self._compiled) > MAX_COMPILED:
                self._compiled.popitem(last=False)
        return compiled

    async def read(
        self, statement: Select[Any], parameters: Mapping[str, Any] | None
    ) -> list[tuple[Any, ...]] | None:
        """The statement's rows; None when the driver failed (the caller runs it again)."""
        compiled = self._compile(statement)
        sql, arguments = compiled.arguments(parameters)
        run = self._run_planned if compiled.planned_each_time else self._run
        records = await greenlet_spawn(self._fetch, run, sql, arguments)
        if records is _FAILED:
            return None
        return compiled.rows(records)

    def _fetch(self, run: Runner, sql: str, arguments: list[Any]) -> Any:
        # Runs in SQLAlchemy's greenlet, as its own pool expects: checking a connection out may
        # open one, checking it in resets it, and either may await the driver.
        connection = self._pool.connect()
        try:
            try:
                records = await_only(run(connection.driver_connection, sql, arguments))
            except Exception:
                connection.invalidate()
                return _FAILED
            except BaseException:
                # Cancelled mid-statement: the connection's state is unknown.
                connection.invalidate()
                raise
            for listener in self.listeners:
                listener(connection.driver_connection, sql)
            return records
        finally:
            connection.close()


async def _run_asyncpg(connection: Any, sql: str, arguments: list[Any]) -> Any:
    return await connection.fetch(sql, *arguments)


async def _run_asyncpg_planned(connection: Any, sql: str, arguments: list[Any]) -> Any:
    # A statement of its own, run once: PostgreSQL plans it for these values (a prepared
    # statement's first executions get custom plans), never with the generic plan.
    statement = await connection.prepare(sql)
    return await statement.fetch(*arguments)


async def _run_aiosqlite(connection: Any, sql: str, arguments: list[Any]) -> Any:
    return await connection.execute_fetchall(sql, arguments)
