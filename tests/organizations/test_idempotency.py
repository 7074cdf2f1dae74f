"""`Idempotency-Key` on creating organizations (design §8)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import delete, func, select, update

from app.auth.dependencies import require
from app.auth.scopes import Scope
from app.core import idempotency
from app.core.config import Settings
from app.core.db import Database, utcnow
from app.core.idempotency import (
    ABANDONED_AFTER,
    CreateOnce,
    check_routes,
    claim,
    idempotent,
    request_fingerprint,
)
from app.core.session import SessionDep
from app.main import create_app
from app.models import IdempotencyRecord, Organization

URL = "/v1/organizations"


async def _count(app: FastAPI, model: type[Organization] | type[IdempotencyRecord]) -> int:
    database: Database = app.state.database
    async with database.session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def _claim_as(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], *, key: str, body: bytes
) -> None:
    """Claim a key for the caller of `headers`, as a request still in flight would have."""
    me = (await client.get("/v1/me", headers=headers)).json()
    await claim(
        app.state.database,
        client=me["client_id"] or me["subject"],
        method="POST",
        path=URL,
        key=key,
        fingerprint=request_fingerprint(body),
    )


async def test_same_key_and_body_replays_the_first_response(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    headers = {**secretariat, "Idempotency-Key": "create-nappo-1"}
    first = await client.post(URL, json={"name": "NAPPO", "country": "CA"}, headers=headers)
    assert first.status_code == 201
    # The same JSON, spelled differently, is the same request.
    again = await client.post(
        URL,
        content=b'{ "country": "CA",   "name": "NAPPO" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(app, Organization) == 1


async def test_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    headers = {**secretariat, "Idempotency-Key": "k-2"}
    assert (await client.post(URL, json={"name": "One"}, headers=headers)).status_code == 201
    other = await client.post(URL, json={"name": "Two"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"


async def test_keys_are_per_client(
    client: httpx.AsyncClient, auth_headers: object, secretariat: dict[str, str], app: FastAPI
) -> None:
    from tests.conftest import fetch_token, register_client

    client_id, secret = await register_client(app, "secretariat", "another front end")
    other = {"Authorization": f"Bearer {await fetch_token(client, client_id, secret)}"}
    key = {"Idempotency-Key": "shared-key"}
    first = await client.post(URL, json={"name": "Mine"}, headers={**secretariat, **key})
    second = await client.post(URL, json={"name": "Theirs"}, headers={**other, **key})
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]


async def test_a_request_in_flight_is_409(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    body = b'{"name":"Slow"}'
    await _claim_as(app, client, secretariat, key="in-flight", body=body)
    response = await client.post(
        URL,
        content=body,
        headers={**secretariat, "Idempotency-Key": "in-flight", "Content-Type": "application/json"},
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/idempotency-key-in-flight"
    assert response.headers["retry-after"] == "1"


async def test_a_failed_request_releases_its_key(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    await client.post(URL, json={"name": "Taken"}, headers=secretariat)
    headers = {**secretariat, "Idempotency-Key": "retry-me"}
    failed = await client.post(URL, json={"name": "TAKEN"}, headers=headers)
    assert failed.status_code == 409
    assert await _count(app, IdempotencyRecord) == 0


@pytest.mark.parametrize("key", ["", "a" * 256, "with space"])
async def test_malformed_keys_are_422(
    client: httpx.AsyncClient, secretariat: dict[str, str], key: str
) -> None:
    response = await client.post(
        URL, json={"name": "X"}, headers={**secretariat, "Idempotency-Key": key}
    )
    assert response.status_code == 422


async def _age_records(app: FastAPI, **changes: object) -> None:
    database: Database = app.state.database
    async with database.session(write=True) as session:
        await session.execute(update(IdempotencyRecord).values(**changes))
        await session.commit()


async def test_a_key_is_kept_24_hours_then_free_again(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    headers = {**secretariat, "Idempotency-Key": "daily"}
    assert (await client.post(URL, json={"name": "Monday"}, headers=headers)).status_code == 201
    await _age_records(app, expires_at=utcnow() - timedelta(seconds=1))
    tuesday = await client.post(URL, json={"name": "Tuesday"}, headers=headers)
    assert tuesday.status_code == 201
    assert "idempotent-replayed" not in tuesday.headers


async def test_an_abandoned_claim_is_taken_over(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    body = b'{"name":"Crashed"}'
    await _claim_as(app, client, secretariat, key="crashed", body=body)
    await _age_records(app, created_at=utcnow() - ABANDONED_AFTER - timedelta(seconds=1))
    response = await client.post(
        URL,
        content=body,
        headers={**secretariat, "Idempotency-Key": "crashed", "Content-Type": "application/json"},
    )
    assert response.status_code == 201


async def test_a_body_that_fails_validation_claims_no_key(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    headers = {**secretariat, "Idempotency-Key": "first-try-was-wrong"}
    invalid = await client.post(URL, json={"name": ""}, headers=headers)
    assert invalid.status_code == 422
    assert await _count(app, IdempotencyRecord) == 0
    fixed = await client.post(URL, json={"name": "Fixed"}, headers=headers)
    assert fixed.status_code == 201


async def test_a_key_is_kept_exactly_24_hours(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    headers = {**secretariat, "Idempotency-Key": "kept"}
    assert (await client.post(URL, json={"name": "Kept"}, headers=headers)).status_code == 201
    database: Database = app.state.database
    async with database.session(write=False) as session:
        (record,) = (await session.execute(select(IdempotencyRecord))).scalars().all()
    assert record.completed
    assert record.expires_at - record.created_at == timedelta(hours=24)


def test_a_create_that_also_takes_the_request_session_is_refused(settings: Settings) -> None:
    """The order claim -> work -> keep -> commit -> release belongs to CreateOnce alone: a route
    that would open the request's own transaction beside it is refused when the app is built."""
    both = APIRouter()

    @both.post("/v1/probe/both", status_code=201)
    async def create_with_both(
        create: Annotated[CreateOnce, idempotent(require(Scope.registry_write))],
        session: SessionDep,
    ) -> dict[str, str]:
        return {}

    app = create_app(settings)
    check_routes(app.routes)  # the service's own routes are right
    app.include_router(both)
    with pytest.raises(RuntimeError, match="create_with_both"):
        check_routes(app.routes)


async def test_a_claim_released_while_we_looked_at_it_is_taken_again(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Our claim met another request's; that request failed and released it before we read it:
    the key is free, and we claim it (it was a 500 once)."""
    body = b'{"name":"Released meanwhile"}'
    await _claim_as(app, client, secretariat, key="handed-over", body=body)
    original = idempotency._existing
    looked = 0

    async def released_first(session: Any, scope: Any) -> Any:
        nonlocal looked
        looked += 1
        if looked == 1:
            await session.execute(delete(IdempotencyRecord))  # the other request gave up
            await session.commit()
            return None
        return await original(session, scope)

    monkeypatch.setattr(idempotency, "_existing", released_first)
    response = await client.post(
        URL,
        content=body,
        headers={
            **secretariat,
            "Idempotency-Key": "handed-over",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 201, response.text
    assert looked == 1


async def test_a_burst_on_one_key_whose_work_fails_is_never_a_500(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    headers = {**secretariat, "Idempotency-Key": "burst-that-fails"}
    body = {"name": "Orphan", "parent_id": "00000000-0000-4000-8000-000000000000"}
    responses = await asyncio.gather(
        *(client.post(URL, json=body, headers=headers) for _ in range(12))
    )
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {409, 422}, statuses
