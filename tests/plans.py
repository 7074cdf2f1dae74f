"""PostgreSQL's generic plan of a list page's statements: the plan for unknown values, which
PostgreSQL settles on for a prepared statement after a few executions (the service's driver
prepares every statement), so the one a busy list runs."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.listing import ListSpec
from app.core.pagination import encode_cursor

_names = itertools.count()


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


async def generic_plan(
    connection: AsyncConnection, statement: Select[Any], bound: dict[str, Any]
) -> str:
    """The generic plan of `statement` run with the values `bound`, as EXPLAIN writes it."""
    compiled = statement.compile(dialect=connection.dialect)
    state = compiled.construct_expanded_state(bound)
    arguments = ", ".join(_literal(state.parameters[name]) for name in state.positiontup or ())
    name = f"page_{next(_names)}"
    await connection.exec_driver_sql(f"PREPARE {name} AS {state.statement}")
    try:
        result = await connection.exec_driver_sql(f"EXPLAIN EXECUTE {name}({arguments})")
        return "\n".join(row[0] for row in result)
    finally:
        await connection.exec_driver_sql(f"DEALLOCATE {name}")


async def page_plans(
    connection: AsyncConnection,
    spec: ListSpec,
    filters: BaseModel,
    *,
    sort: str | None = None,
    after: list[Any] | None = None,
) -> list[str]:
    """The generic plans of a page's statements (after the row whose sort values are `after`,
    when given): one, or two parts when the first sort key may be null."""
    order = spec.ordering(sort)
    cursor = None if after is None else encode_cursor(after, order.token)
    statements, bound = spec.page_statement(filters, order, 50, cursor)
    return [await generic_plan(connection, statement, bound) for statement in statements]


async def prefer_indexes(connection: AsyncConnection, *, in_order: bool = False) -> None:
    """Plans for unknown values, and no sequential scan of the (small) test tables: what is
    left is whether an index can serve the statement. `in_order`: nor a sort or a bitmap scan
    (on tables this small they would win), so what is left is whether an index can give the
    rows in the statement's order."""
    await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    await connection.exec_driver_sql("SET enable_seqscan = off")
    if in_order:
        await connection.exec_driver_sql("SET enable_sort = off")
        await connection.exec_driver_sql("SET enable_bitmapscan = off")
