"""Concurrent writes, with real concurrent connections on each database (issue: races)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.core.db import Database
from app.models import Organization
from tests.organizations.conftest import Create, etag_of

URL = "/v1/organizations"


async def _count(app: FastAPI) -> int:
    database: Database = app.state.database
    async with database.session(write=False) as session:
        query = select(func.count()).select_from(Organization)
        return int((await session.execute(query)).scalar_one())


async def test_eight_patches_with_one_if_match_one_wins(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Contested")
    etag = etag_of(organization)

    async def patch(index: int) -> int:
        response = await client.patch(
            f"{URL}/{organization['id']}",
            json={"description": f"writer {index}"},
            headers={**secretariat, "If-Match": etag},
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(patch(index) for index in range(8))))
    assert statuses == Counter({200: 1, 412: 7})
    final = await client.get(f"{URL}/{organization['id']}", headers=secretariat)
    assert final.json()["version"] == 2


async def test_eight_posts_with_one_key_make_one_organization(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    headers = {**secretariat, "Idempotency-Key": "burst"}

    async def post() -> httpx.Response:
        return await client.post(URL, json={"name": "Once"}, headers=headers)

    responses = await asyncio.gather(*(post() for _ in range(8)))
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    ids = {response.json()["id"] for response in responses if response.status_code == 201}
    assert len(ids) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"] == "/problems/idempotency-key-in-flight"
    assert await _count(app) == 1


async def test_two_creates_of_one_name_one_wins(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    async def post(name: str) -> httpx.Response:
        return await client.post(URL, json={"name": name, "country": "KE"}, headers=secretariat)

    first, second = await asyncio.gather(
        post("Kenya Plant Health Inspectorate"), post("KENYA PLANT HEALTH INSPECTORATE")
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409]
    winner, loser = (first, second) if first.status_code == 201 else (second, first)
    assert loser.json()["existing_id"] == winner.json()["id"]
    assert await _count(app) == 1


async def test_racing_patches_with_star_never_lose_a_write_silently(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    """With `If-Match: *` a writer that loses the race at write time gets 409, never a 200
    whose change was overwritten: every 200 is one version."""
    organization = await create("Busy")

    async def patch(index: int) -> int:
        response = await client.patch(
            f"{URL}/{organization['id']}",
            json={"description": f"writer {index}"},
            headers={**secretariat, "If-Match": "*"},
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(patch(index) for index in range(8))))
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] >= 1
    final = await client.get(f"{URL}/{organization['id']}", headers=secretariat)
    assert final.json()["version"] == 1 + statuses[200]
