"""The lean read path of organizations (docs/performance.md): a page and a read are each one
statement outside any transaction, written to JSON from the rows, byte for byte as the response
models would write them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from app.core.db import Database
from app.core.pagination import Page, ValueKind, encode_cursor
from app.organizations.schemas import OrganizationDetail, OrganizationFilters, OrganizationOut
from app.organizations.service import LIST
from tests.organizations.conftest import Create

URL = "/v1/organizations"


async def _varied(create: Create) -> dict[str, Any]:
    """Organizations with every field set, none set, accents and a branch: the headquarters."""
    headquarters = await create(
        "Organización Norteamericana de Protección a las Plantas",
        acronym="NAPPO",
        category="rppo",
        sector="public",
        geographic_scope="regional",
        country="MX",
        website="https://www.nappo.org",
        description="Plant protection in North America: «the region's RPPO».",
    )
    await create("Minimal")
    await create("Branch one", parent_id=headquarters["id"])
    await create("Branch two", parent_id=headquarters["id"], country="CA")
    return headquarters


def _driver_in_transaction(driver: Any) -> bool:
    """Whether the driver's own connection (asyncpg or aiosqlite) is inside a transaction."""
    if hasattr(driver, "is_in_transaction"):
        return bool(driver.is_in_transaction())
    return bool(driver.in_transaction)


def _in_transaction(dbapi_connection: Any) -> bool:
    """Whether SQLAlchemy's adapted connection is inside a transaction."""
    return _driver_in_transaction(dbapi_connection._connection)


@contextmanager
def statements_of(app: FastAPI) -> Iterator[list[bool]]:
    """For each statement the application runs meanwhile, through SQLAlchemy or on the
    driver's connection (`Database.read`): whether it ran in a transaction."""
    database = app.state.database
    engine = database.engine.sync_engine
    seen: list[bool] = []

    def after(connection: Any, cursor: Any, *_args: Any) -> None:
        seen.append(_in_transaction(connection.connection.dbapi_connection))

    def direct(driver: Any, _sql: str) -> None:
        seen.append(_driver_in_transaction(driver))

    event.listen(engine, "after_cursor_execute", after)
    database.direct.listeners.append(direct)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", after)
        database.direct.listeners.remove(direct)


async def test_a_page_is_the_models_bytes(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    await _varied(create)
    response = await client.get(URL, params={"limit": 3}, headers=secretariat)
    assert response.status_code == 200
    page = response.json()
    assert len(page["items"]) == 3
    assert page["next_cursor"]
    expected = Page[OrganizationOut](
        items=[OrganizationOut.model_validate(item) for item in page["items"]],
        next_cursor=page["next_cursor"],
    )
    assert response.content == expected.model_dump_json().encode()


async def test_a_read_is_the_models_bytes(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    headquarters = await _varied(create)
    response = await client.get(f"{URL}/{headquarters['id']}", headers=secretariat)
    assert response.status_code == 200
    shown = response.json()
    assert shown["reference_counts"] == {
        "branches": 2,
        "interactions": 0,
        "agreements": 0,
        "interest_declarations": 0,
    }
    expected = OrganizationDetail.model_validate(shown)
    assert response.content == expected.model_dump_json().encode()
    # What POST answered for it then, but for its counts.
    assert {**headquarters, "reference_counts": shown["reference_counts"]} == shown


async def test_reads_are_one_statement_outside_a_transaction(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    headquarters = await _varied(create)
    with statements_of(app) as in_transaction:
        assert (await client.get(URL, headers=secretariat)).status_code == 200
    assert in_transaction == [False]
    with statements_of(app) as in_transaction:
        read = await client.get(f"{URL}/{headquarters['id']}", headers=secretariat)
        assert read.status_code == 200
    assert in_transaction == [False]


async def test_database_read_runs_outside_a_transaction(database_url: str) -> None:
    database = Database(database_url)
    try:
        engine = database.engine.sync_engine
        seen: list[bool] = []

        def after(connection: Any, *_args: Any) -> None:
            seen.append(_in_transaction(connection.connection.dbapi_connection))

        event.listen(engine, "after_cursor_execute", after)
        assert [tuple(row) for row in await database.read(text("SELECT 1"))] == [(1,)]
        async with database.session(write=False) as session:
            await session.execute(text("SELECT 2"))
        # A session's statement runs in its transaction; `read`'s alone.
        assert seen[0] is False
        assert seen[-1] is True
    finally:
        await database.dispose()


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-updated_at"])
async def test_a_page_after_a_cursor_starts_its_index_scan_at_the_cursor(
    database_url: str, sort: str
) -> None:
    """Deep pages cost what the first does: the sort keys, compared as one row value, bound
    the index scan at the cursor's row (an index condition), rather than the disjunction
    filtering every row from the start, or the first key alone bounding it and every row that
    shares the cursor's first value tested."""
    order = LIST.ordering(sort)
    first = order.keys[0]
    value: Any = "m" if first.kind is ValueKind.text else datetime(2026, 1, 1, tzinfo=UTC)
    cursor = encode_cursor([value, uuid.UUID(int=5)], order.token)
    (statement,), bound = LIST.page_statement(OrganizationFilters(), order, 50, cursor)
    column = str(first.column.name)
    # On PostgreSQL, on a table this small a scan and a sort would win: ask whether the index
    # scan in the list's order could start at the cursor.
    dialect, plan = await _plan(
        database_url, statement, bound, off=("enable_seqscan", "enable_bitmapscan", "enable_sort")
    )
    lines = plan.splitlines()
    if dialect == "postgresql":
        row = re.compile(rf"Index Cond: \(ROW\(\(?{column}\b")
        assert any(row.search(line) for line in lines), plan
    else:
        assert any("USING INDEX" in line and f"(({column},id)" in line for line in lines), plan


async def test_archived_organizations_are_read_through_their_own_index(database_url: str) -> None:
    """`archived=true` reads the partial index of the archived ones (migration 0012), whose
    condition each database must recognize as the filter's: SQLite uses a partial index only
    when the query has the very term, so a condition spelled otherwise would scan the table."""
    (statement,), bound = LIST.page_statement(
        OrganizationFilters(archived="true"), LIST.ordering(None), 50, None
    )
    _dialect, plan = await _plan(database_url, statement, bound, off=("enable_seqscan",))
    assert "ix_organization_archived_name_key_id" in plan, plan


async def _plan(
    database_url: str, statement: Any, bound: dict[str, Any], *, off: tuple[str, ...]
) -> tuple[str, str]:
    """The database's name, and the plan of `statement` run with `bound`: PostgreSQL's EXPLAIN
    (with the planner's settings `off` turned off), or SQLite's EXPLAIN QUERY PLAN, one line a
    step."""
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            compiled = statement.compile(dialect=connection.dialect)
            # A filter's list of values expands to a parameter each.
            state = compiled.construct_expanded_state(bound)
            values = state.parameters
            processors: dict[str, Any] = {**compiled._bind_processors, **state.processors}
            arguments = tuple(
                processors[name](values[name]) if name in processors else values[name]
                for name in state.positiontup or ()
            )
            explain = "EXPLAIN QUERY PLAN"
            if connection.dialect.name == "postgresql":
                explain = "EXPLAIN"
                for setting in off:
                    await connection.execute(text(f"SET LOCAL {setting} = off"))
            result = await connection.exec_driver_sql(f"{explain} {state.statement}", arguments)
            plan = "\n".join(str(tuple(row)[-1]) for row in result)
            return connection.dialect.name, plan
    finally:
        await database.dispose()


@pytest.mark.parametrize(("key", "value"), [("category", "ngo"), ("country", "KE")])
async def test_a_page_of_one_category_or_country_is_a_range_of_the_index_leading_with_it(
    database_url: str, key: str, value: str
) -> None:
    """One category, or one country, by name: the rows are one range of the index on that
    column then the order's keys (migration 0018), from the cursor on, on both databases."""
    order = LIST.ordering(None)
    cursor = encode_cursor(["m", uuid.UUID(int=5)], order.token)
    filters = OrganizationFilters.model_validate({key: [value]})
    (statement,), bound = LIST.page_statement(filters, order, 50, cursor)
    _dialect, plan = await _plan(
        database_url, statement, bound, off=("enable_seqscan", "enable_bitmapscan", "enable_sort")
    )
    assert f"ix_organization_{key}_name_key_id" in plan, plan
    # Read as the index lies: not its ids first, then its rows by id put in order.
    assert "Sort" not in plan, plan
    assert "TEMP B-TREE" not in plan, plan
