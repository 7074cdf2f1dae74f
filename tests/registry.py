"""Fixtures and helpers shared by the tests of the registry's records (interactions,
agreements): real tokens per role, and organizations and agreements made through the API."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import Database, column_of
from app.core.preconditions import resource_etag

Make = Callable[..., Awaitable[dict[str, Any]]]
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def secretariat(auth_headers: Headers) -> dict[str, str]:
    return auth_headers("secretariat")


@pytest.fixture
def bureau(auth_headers: Headers) -> dict[str, str]:
    return auth_headers("bureau")


@pytest.fixture
def integration(auth_headers: Headers) -> dict[str, str]:
    return auth_headers("integration")


async def created(response: Awaitable[httpx.Response]) -> dict[str, Any]:
    answer = await response
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def organization(client: httpx.AsyncClient, secretariat: dict[str, str]) -> Make:
    """Registers an organization and returns its JSON."""

    async def make(name: str, **fields: Any) -> dict[str, Any]:
        body = {"name": name, **fields}
        return await created(client.post("/v1/organizations", json=body, headers=secretariat))

    return make


@pytest.fixture
def agreement(client: httpx.AsyncClient, secretariat: dict[str, str]) -> Make:
    """Drafts an agreement (a partnership by informal arrangement unless told) and returns its
    JSON."""

    async def make(title: str = "An agreement", **fields: Any) -> dict[str, Any]:
        body = {"level": "partnership", "instrument": "informal_arrangement", **fields}
        body["title"] = title
        return await created(client.post("/v1/agreements", json=body, headers=secretariat))

    return make


@pytest.fixture
def interaction(client: httpx.AsyncClient, secretariat: dict[str, str]) -> Make:
    """Records a meeting with `organization_ids` and returns its JSON."""

    async def make(
        subject: str = "A meeting", organization_ids: list[str] | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"occurred_on": "2026-11-02", "channel": "meeting", **fields}
        body.update(subject=subject, organization_ids=organization_ids or [])
        return await created(client.post("/v1/interactions", json=body, headers=secretariat))

    return make


async def merge_patch(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    body: dict[str, Any],
    if_match: str | None = "*",
) -> httpx.Response:
    """A JSON merge patch of `path`, with `If-Match` (unless None)."""
    extra = {"Content-Type": "application/merge-patch+json"}
    if if_match is not None:
        extra["If-Match"] = if_match
    return await client.patch(path, json=body, headers={**headers, **extra})


def etag_of(resource: dict[str, Any]) -> str:
    """The ETag of a stored resource whose read shows nothing beyond its own fields."""
    return resource_etag(uuid.UUID(resource["id"]), resource["version"])


def organization_etag(organization: dict[str, Any]) -> str:
    counts = sorted(organization["reference_counts"].items())
    return resource_etag(uuid.UUID(organization["id"]), organization["version"], counts)


async def archive(
    client: httpx.AsyncClient, headers: dict[str, str], organization: dict[str, Any]
) -> None:
    response = await client.patch(
        f"/v1/organizations/{organization['id']}",
        json={"archived": True},
        headers={**headers, "If-Match": "*"},
    )
    assert response.status_code == 200, response.text


async def set_columns(app: FastAPI, model: Any, row_id: str, **values: Any) -> None:
    """Change a row behind the service's back (a status the workflow will set, say)."""
    database: Database = app.state.database
    async with database.session(write=True) as session:
        await session.execute(
            update(model)
            .where(column_of(model.id) == uuid.UUID(row_id))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


def pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [error.get("pointer") or error.get("parameter") for error in response.json()["errors"]]


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def every_page(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, field: str
) -> list[Any]:
    """`field` of every item of every page, following the Link headers from `url`."""
    seen: list[Any] = []
    following: str | None = url
    while following:
        response = await client.get(following, headers=headers)
        assert response.status_code == 200, response.text
        seen += [item[field] for item in response.json()["items"]]
        link = response.headers.get("link")
        following = link[1 : link.index(">")] if link else None
    return seen


Paused = tuple[asyncio.Event, asyncio.Event]


def pause_after(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> Paused:
    """Make `module.<name>` stop, once it has done its work (taken its locks), until released."""
    reached, release = asyncio.Event(), asyncio.Event()
    original = getattr(module, name)

    async def pausing(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        if not reached.is_set():
            reached.set()
            await release.wait()
        return result

    monkeypatch.setattr(module, name, pausing)
    return reached, release


async def still_waiting(task: asyncio.Task[Any]) -> bool:
    """The task is blocked (on a database lock): it has not finished a while later."""
    await asyncio.sleep(0.3)
    return not task.done()


@contextlib.asynccontextmanager
async def another_transaction(app: FastAPI) -> AsyncIterator[AsyncConnection]:
    """A transaction on a connection of its own, committed on the way out: another writer,
    held open while the test sends its requests."""
    database: Database = app.state.database
    async with database.engine.connect() as connection, connection.begin():
        yield connection


async def lock_row(
    connection: AsyncConnection, table: Table, row_id: str | uuid.UUID, *, share: bool = False
) -> None:
    """Lock a row as a writer does: FOR UPDATE (a decision holding its agreement), or FOR SHARE
    (a write naming an organization)."""
    statement = select(table.c.id).where(table.c.id == uuid.UUID(str(row_id)))
    await connection.execute(statement.with_for_update(read=share))
