"""The lean read path of organizations (docs/performance.md): a page and a read are each one
statement outside any transaction, written to JSON from the rows, byte for byte as the response
models would write them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, text

from app.core.db import Database
from app.core.pagination import Page
from app.organizations.schemas import OrganizationDetail, OrganizationOut
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


def _in_transaction(dbapi_connection: Any) -> bool:
    """Whether the driver's connection is inside a transaction (asyncpg or aiosqlite)."""
    driver = dbapi_connection._connection
    if hasattr(driver, "is_in_transaction"):
        return bool(driver.is_in_transaction())
    return bool(driver.in_transaction)


@contextmanager
def statements_of(app: FastAPI) -> Iterator[list[bool]]:
    """For each statement the application runs meanwhile: whether it ran in a transaction."""
    engine = app.state.database.engine.sync_engine
    seen: list[bool] = []

    def after(connection: Any, cursor: Any, *_args: Any) -> None:
        seen.append(_in_transaction(connection.connection.dbapi_connection))

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", after)


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
    assert shown["reference_counts"] == {"branches": 2, "interactions": 0, "agreements": 0}
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
