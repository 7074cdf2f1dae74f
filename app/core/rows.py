"""Loading, locking and writing rows: the helpers every resource's service is built on.

- `get_or_404` reads a row by id, or raises NotFound.
- `get_for_update` reads it fresh from the database and locks it until the transaction ends
  (`FOR UPDATE` on PostgreSQL), for a change whose rules read it.
- `lock_referenced` reads, fresh and locked `FOR SHARE`, the rows a write is about to refer to
  (a headquarters, a partner): none of them can be deleted or changed (archived, say) until the
  write commits, and a missing one is a 422 pointing at the reference. `read_referenced` does
  the same without raising, and also finds the rows that exist but cannot be referred to (an
  archived partner), so that a write refers to several kinds of rows and refuses every invalid
  reference in one 422 (`refuse`).
- `write` applies a change and flushes it in a savepoint, and turns what the database refuses
  into problems: a lost race on the version (StaleDataError) is 412 or 409 (`lost_race`), a
  unique, foreign-key or check violation a 409 or 422, each replaceable by the caller's own.

On SQLite a writing transaction holds the database's write lock from its first statement
(`BEGIN IMMEDIATE`), so writers are serialized already and the row locks are left out.

After a failed write the savepoint is rolled back and the rows changed in it are expired: reading
their attributes would load them again, which an async session cannot do implicitly. Whatever a
handler needs (an id, a name) is taken before the write.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from sqlalchemy import ColumnElement, inspect, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import Response

from app.core.errors import (
    UNAVAILABLE,
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
    problem_response,
    validation_detail,
)
from app.core.preconditions import lost_race

M = TypeVar("M")
K = TypeVar("K")


def _primary_key(model: type[Any]) -> Any:
    (column,) = inspect(model).primary_key
    return column


async def get_or_404(session: AsyncSession, model: type[M], row_id: uuid.UUID, *, detail: str) -> M:
    row = await session.get(model, row_id)
    if row is None:
        raise NotFound(detail)
    return row


async def get_for_update(
    session: AsyncSession, model: type[M], row_id: uuid.UUID, *, detail: str
) -> M:
    """The row as committed now, locked until the transaction ends; NotFound without it."""
    statement = (
        select(model)
        .where(_primary_key(model) == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(statement)).scalars().first()
    if row is None:
        raise NotFound(detail)
    return row


@dataclass(frozen=True)
class Referenced(Generic[K, M]):
    """The rows a write refers to, by key, and what is wrong with the references (a
    `FieldError` per reference to no row, or to a row that cannot be referred to)."""

    rows: dict[K, M]
    errors: list[FieldError]


async def read_referenced(
    session: AsyncSession,
    model: type[M],
    references: Sequence[tuple[str, K]],
    *,
    missing: str,
    refused: Callable[[M], str | None] | None = None,
    key: ColumnElement[Any] | None = None,
) -> Referenced[K, M]:
    """The rows named by `references` ((JSON pointer, key) pairs; the key is the primary key
    unless `key` names another unique column), read as committed now and locked FOR SHARE until
    the transaction ends, so that none can be deleted or changed (archived) before the write
    commits. Nothing is raised: each reference to no row gets an error with `missing` as its
    detail, and each to a row for which `refused(row)` gives a reason, an error with that
    reason; the caller adds its other errors and refuses them together (`refuse`)."""
    # Locked in the order of the key (ORDER BY), so that two writes lock shared rows alike.
    wanted = list(dict.fromkeys(value for _pointer, value in references))
    if not wanted:
        return Referenced({}, [])
    column = _primary_key(model) if key is None else key
    statement = (
        select(model)
        .where(column.in_(wanted))
        .order_by(column)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    name = str(column.key)
    rows = {getattr(row, name): row for row in (await session.execute(statement)).scalars()}
    errors: list[FieldError] = []
    for pointer, value in references:
        row = rows.get(value)
        reason = missing if row is None else (refused(row) if refused else None)
        if reason is not None:
            errors.append(FieldError(reason, pointer=pointer))
    return Referenced(rows, errors)


def refuse(errors: Sequence[FieldError]) -> None:
    """One 422 for every invalid reference (and any other error) found, when there are any,
    said as every validation problem says it (how many, and how many `errors` leaves out)."""
    if errors:
        raise ValidationFailed(validation_detail(len(errors)), errors)


async def lock_referenced(
    session: AsyncSession,
    model: type[M],
    references: Sequence[tuple[str, uuid.UUID]],
    *,
    missing: str,
) -> dict[uuid.UUID, M]:
    """The rows named by `references` ((JSON pointer, id) pairs), read as committed now and
    locked FOR SHARE until the transaction ends. Ids no row has are one 422 listing a pointer
    each, with `missing` as their detail."""
    found = await read_referenced(session, model, references, missing=missing)
    if found.errors:
        noun = "record does" if len(found.errors) == 1 else "records do"
        raise ValidationFailed(f"{len(found.errors)} referenced {noun} not exist.", found.errors)
    return found.rows


class Violation(Enum):
    """What a database constraint refused."""

    unique = "unique"
    foreign_key = "foreign_key"
    check = "check"
    not_null = "not_null"
    other = "other"


_SQLSTATES = {
    "23505": Violation.unique,
    "23503": Violation.foreign_key,
    "23514": Violation.check,
    "23502": Violation.not_null,
}
_SQLITE_NAMES = {
    "SQLITE_CONSTRAINT_UNIQUE": Violation.unique,
    "SQLITE_CONSTRAINT_PRIMARYKEY": Violation.unique,
    "SQLITE_CONSTRAINT_FOREIGNKEY": Violation.foreign_key,
    "SQLITE_CONSTRAINT_CHECK": Violation.check,
    "SQLITE_CONSTRAINT_NOTNULL": Violation.not_null,
}


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error, then what it wraps: the driver's error behind SQLAlchemy's (`orig`), and the
    causes each was raised from."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = getattr(cause, "orig", None) or cause.__cause__


def violation_of(error: IntegrityError) -> Violation:
    """Which constraint an IntegrityError comes from, on PostgreSQL (SQLSTATE) or SQLite."""
    for cause in causes(error):
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate in _SQLSTATES:
            return _SQLSTATES[sqlstate]
        name = getattr(cause, "sqlite_errorname", None)
        if isinstance(name, str) and name in _SQLITE_NAMES:
            return _SQLITE_NAMES[name]
    return Violation.other


def refusal(violation: Violation) -> DomainError:
    """The problem for a constraint violation that the service did not foresee."""
    if violation is Violation.unique:
        return Conflict("This conflicts with a record that exists already.")
    if violation is Violation.foreign_key:
        return Conflict(
            "This refers to a record that no longer exists, or removes one that is still "
            "referred to."
        )
    return ValidationFailed(
        "A value was refused by a rule of the database.",
        [FieldError("Refused by a rule of the database", pointer="")],
    )


Handler = Callable[[], Awaitable[DomainError]]


async def write(
    session: AsyncSession,
    change: Callable[[], Awaitable[None]],
    *,
    if_match: str | None = None,
    on: Mapping[Violation, Handler] | None = None,
) -> None:
    """Apply `change` and flush it in a savepoint, turning the database's refusals into problems.

    `on` maps a violation to the caller's own error (a 409 naming a duplicate, say), built after
    the savepoint rolled back, so that it may query; other violations get `refusal`."""
    try:
        async with session.begin_nested():
            await change()
            await session.flush()
    except StaleDataError as error:
        raise lost_race(if_match) from error
    except IntegrityError as error:
        violation = violation_of(error)
        handler = (on or {}).get(violation)
        raise (await handler() if handler else refusal(violation)) from error


# SQLSTATEs of a transaction the database chose to abort so that another could go on.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# SQLSTATE classes of a database that cannot serve now: connection exceptions, insufficient
# resources (too many connections), an operator's intervention (shutting down, starting up).
UNAVAILABLE_SQLSTATES = ("08", "53", "57P")


def _sqlstate(error: BaseException) -> str | None:
    for cause in causes(error):
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate
    return None


async def _on_integrity_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntegrityError)
    error = refusal(violation_of(exc))
    return problem_response(error.kind, error.detail, headers=error.headers, **error.extensions)


async def _on_stale_write(_request: Request, exc: Exception) -> Response:
    error = lost_race(None)
    return problem_response(error.kind, error.detail)


def _unreachable(error: BaseException) -> bool:
    """Whether the database could not be reached or cannot serve now (rather than refusing
    what was asked of it)."""
    sqlstate = _sqlstate(error)
    if sqlstate is not None and sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        return True
    return any(
        isinstance(cause, OSError) or getattr(cause, "connection_invalidated", False)
        for cause in causes(error)
    )


def _database_unavailable() -> Response:
    return problem_response(
        UNAVAILABLE,
        "The database cannot be reached: retry shortly.",
        headers={"Retry-After": "5"},
    )


async def _on_database_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if _sqlstate(exc) in RETRYABLE_SQLSTATES:
        return problem_response(
            Conflict.kind,
            "Another request changed the same records at the same time: retry.",
            headers={"Retry-After": "1"},
        )
    if _unreachable(exc):
        return _database_unavailable()
    raise exc


async def _on_unreachable(request: Request, exc: Exception) -> Response:
    """A connection that could not be opened (refused, timed out, no connection free in the
    pool in time): the database is unavailable, not the request wrong."""
    if isinstance(exc, OSError | SQLAlchemyTimeoutError) or _unreachable(exc):
        return _database_unavailable()
    raise exc


def install_database_error_handlers(app: FastAPI) -> None:
    """A safety net for what no service foresaw: a constraint violation is a 409 or 422, a lost
    version race a 409, a deadlock or serialization failure a 409 to retry, a database that
    cannot be reached a 503 with Retry-After; never a 500."""
    app.add_exception_handler(IntegrityError, _on_integrity_error)
    app.add_exception_handler(StaleDataError, _on_stale_write)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(OSError, _on_unreachable)
    app.add_exception_handler(SQLAlchemyTimeoutError, _on_unreachable)
