"""Append-only tables: rows are inserted, never updated or deleted.

Audit events are append-only, and so will be approval decisions. Each such table is guarded twice:

- in the application, by `append_only(Model)`: mapper events refuse a flush that would update or
  delete an instance, and a `do_orm_execute` listener on every session refuses `update()` and
  `delete()` statements aimed at the table (bulk statements never reach the mapper events). The
  legacy bulk methods (`Session.bulk_update_mappings`, `bulk_save_objects`) skip both, so a
  `before_execute` listener on every engine refuses any UPDATE or DELETE construct on the table
  as it reaches a connection, whoever built it;
- in the database, by triggers that the table's migration creates, so that raw SQL, other tools
  and other code paths are refused too. Their names follow `trigger_names`, so that a test can
  check they still exist at the head of the migrations (SQLite batch migrations rebuild a table
  and drop its triggers without a word).

A refusal in the ORM is a programming error, not a client's: `AppendOnlyViolation` is not a
domain error and surfaces as a 500.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapper, ORMExecuteState, Session
from sqlalchemy.sql import Alias, Delete, Update

M = TypeVar("M", bound=type[Any])

# Table name -> model class, for every table declared append-only.
_GUARDED: dict[str, type[Any]] = {}


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or remove a row of an append-only table."""


def trigger_names(table: str, dialect: str) -> tuple[str, ...]:
    """The triggers that the migrations create to guard `table` on a database of `dialect`.

    PostgreSQL: one row trigger for UPDATE and DELETE, one statement trigger for TRUNCATE (row
    triggers never see a TRUNCATE), both calling the function `<table>_refuse_change()`.
    SQLite (which has no TRUNCATE): one row trigger for UPDATE, one for DELETE.
    """
    if dialect == "postgresql":
        return (f"{table}_no_update_or_delete", f"{table}_no_truncate")
    if dialect == "sqlite":
        return (f"{table}_no_update", f"{table}_no_delete")
    raise ValueError(f"no append-only triggers are defined for {dialect!r}")


def guarded_tables() -> frozenset[str]:
    """The names of the tables declared append-only."""
    return frozenset(_GUARDED)


def _table_name(model: type[Any]) -> str:
    table = inspect(model).local_table
    name = getattr(table, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"{model!r} is not mapped to a named table")
    return name


def _refuse_flush(_mapper: Mapper[Any], _connection: Connection, target: Any) -> None:
    raise AppendOnlyViolation(
        f"{type(target).__name__} is append-only: its rows are never updated or deleted"
    )


def append_only(model: M) -> M:
    """Declare a table model append-only in the ORM (a class decorator).

    The database half of the guard is the triggers of the table's migration."""
    name = _table_name(model)
    if name not in _GUARDED:
        event.listen(model, "before_update", _refuse_flush, propagate=True)
        event.listen(model, "before_delete", _refuse_flush, propagate=True)
    _GUARDED[name] = model
    return model


def _target_table_name(statement: Update | Delete) -> str | None:
    target: Any = statement.table
    while isinstance(target, Alias):
        target = target.element
    name = getattr(target, "name", None)
    return name if isinstance(name, str) else None


def _refuse_changes_in(statement: object) -> None:
    if not isinstance(statement, Update | Delete):
        return
    name = _target_table_name(statement)
    if name in _GUARDED:
        verb = "UPDATE" if isinstance(statement, Update) else "DELETE"
        raise AppendOnlyViolation(f"{name} is append-only: {verb} statements are refused")


def _refuse_bulk_statements(state: ORMExecuteState) -> None:
    """Every session: no UPDATE or DELETE statement on an append-only table."""
    if state.is_update or state.is_delete:
        _refuse_changes_in(state.statement)


def _refuse_core_statements(
    _connection: Connection, statement: object, *_args: Any, **_kwargs: Any
) -> None:
    """Every engine: the same, for statements that reach a connection without a session's
    `execute` (the legacy bulk methods). Raw SQL text is left to the database's triggers."""
    _refuse_changes_in(statement)


# On the Session and Engine classes, so that every session (an AsyncSession drives one) and every
# engine (an AsyncEngine wraps one) is guarded.
if not event.contains(Session, "do_orm_execute", _refuse_bulk_statements):
    event.listen(Session, "do_orm_execute", _refuse_bulk_statements)
if not event.contains(Engine, "before_execute", _refuse_core_statements):
    event.listen(Engine, "before_execute", _refuse_core_statements)
