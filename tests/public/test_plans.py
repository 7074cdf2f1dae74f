"""The public register's pages read their rows through indexes that hold the public rows alone
(migration 0010), in the generic plan PostgreSQL settles on for a prepared statement too: the
plan whose values are unknown, which the service's statements meet after a few executions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import Database
from app.core.listing import ListSpec
from app.core.pagination import encode_cursor
from app.public import service
from app.public.schemas import PublicAgreementFilters, PublicInteractionFilters

pytestmark = pytest.mark.postgres_only


def _literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def _generic_plan(
    connection: AsyncConnection, spec: ListSpec, filters: BaseModel, after: list[Any] | None
) -> str:
    """The generic plan of a page's statement (after the row `after`, when given)."""
    order = spec.ordering(None)
    cursor = None if after is None else encode_cursor(after, order.token)
    statement, bound = spec.page_statement(filters, order, 50, cursor)
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    values = compiled.construct_params(bound)
    arguments = ", ".join(_literal(values[name]) for name in compiled.positiontup or ())
    await connection.exec_driver_sql(f"PREPARE public_page AS {compiled}")
    try:
        result = await connection.exec_driver_sql(f"EXPLAIN EXECUTE public_page({arguments})")
        return "\n".join(row[0] for row in result)
    finally:
        await connection.exec_driver_sql("DEALLOCATE public_page")


@pytest.mark.parametrize(
    ("spec", "filters", "after", "index"),
    [
        (service.AGREEMENTS, PublicAgreementFilters(), None, "ix_agreement_public_title_key_id"),
        (
            service.AGREEMENTS,
            PublicAgreementFilters(),
            ["some title", str(uuid.uuid4())],
            "ix_agreement_public_title_key_id",
        ),
        (
            service.INTERACTIONS,
            PublicInteractionFilters(),
            None,
            "ix_interaction_public_occurred_on_id",
        ),
        (
            service.INTERACTIONS,
            PublicInteractionFilters(),
            ["2026-01-01", str(uuid.uuid4())],
            "ix_interaction_public_occurred_on_id",
        ),
    ],
    ids=["agreements", "agreements-after", "interactions", "interactions-after"],
)
async def test_a_public_page_reads_the_index_of_public_rows(
    app: FastAPI, spec: ListSpec, filters: BaseModel, after: list[Any] | None, index: str
) -> None:
    database: Database = app.state.database
    async with database.engine.connect() as connection:
        # The plan for unknown values; and no sequential scan of the (small) test tables.
        await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        await connection.exec_driver_sql("SET enable_seqscan = off")
        plan = await _generic_plan(connection, spec, filters, after)
    assert index in plan, plan
