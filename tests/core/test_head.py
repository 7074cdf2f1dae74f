"""HEAD works wherever GET does (RFC 9110 §9.3.2): the GET's status and headers, no body."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database
from app.core.head import is_head_request

# Pages served beside the contract's operations.
PAGES = ("/openapi.json", "/docs", "/redoc", "/docs/assets/swagger-ui.css")


@pytest.fixture
async def samples(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> dict[str, str]:
    """A value for each path parameter of the contract's GETs."""
    secretariat = auth_headers("secretariat")
    created = await client.post(
        "/v1/organizations", json={"name": "Plant Health Body"}, headers=secretariat
    )
    assert created.status_code == 201
    agreement = await client.post(
        "/v1/agreements",
        json={
            "title": "Memorandum",
            "level": "partnership",
            "instrument": "letter_of_intent",
            "partner_ids": [created.json()["id"]],
            "strategic_objectives": ["2020-2030.A"],
        },
        headers=secretariat,
    )
    assert agreement.status_code == 201
    assessed = await client.put(
        f"/v1/agreements/{agreement.json()['id']}/due-diligence",
        json={"risk_level": "low", "undue_influence_assessment": "None."},
        headers=secretariat,
    )
    assert assessed.status_code == 201
    met = await client.post(
        "/v1/interactions",
        json={
            "occurred_on": "2026-11-02",
            "channel": "call",
            "subject": "Call",
            "organization_ids": [created.json()["id"]],
            "visibility": "public",
        },
        headers=secretariat,
    )
    assert met.status_code == 201
    agreement_path = f"/v1/agreements/{agreement.json()['id']}"
    submitted = await client.post(f"{agreement_path}/submit", headers=secretariat)
    assert submitted.status_code == 200
    bureau = auth_headers("bureau")
    decided = await client.post(
        f"{agreement_path}/decisions",
        json={
            "governing_body": "bureau",
            "outcome": "approved",
            "rationale": "Sound.",
            "meeting_reference": "Bureau, June 2026",
        },
        headers=bureau,
    )
    assert decided.status_code == 201
    # A letter of intent needs the CPM too; once it approves, the agreement is public.
    adopted = await client.post(
        f"{agreement_path}/decisions",
        json={
            "governing_body": "cpm",
            "outcome": "approved",
            "rationale": "Adopted.",
            "meeting_reference": "CPM-20 (2026), paragraph 3",
        },
        headers=bureau,
    )
    assert adopted.status_code == 201
    declared = await client.post(
        "/v1/interest-declarations",
        json={"organization_id": created.json()["id"], "nature": "Adviser"},
        headers=bureau,
    )
    assert declared.status_code == 201
    events = await client.get("/v1/audit-events", headers=secretariat)
    return {
        "organization_id": created.json()["id"],
        "agreement_id": agreement.json()["id"],
        "interaction_id": met.json()["id"],
        "decision_id": decided.json()["id"],
        "declaration_id": declared.json()["id"],
        "event_id": str(events.json()["items"][0]["id"]),
        "code": "2020-2030.A",
        "slug": "validation",
    }


def _get_paths(app: FastAPI, samples: dict[str, str]) -> list[str]:
    paths = [
        re.sub(r"\{(\w+)\}", lambda match: samples[match.group(1)], path)
        for path, item in app.openapi()["paths"].items()
        if "get" in item
    ]
    return [*paths, *PAGES]


def _headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name != "x-request-id"}


async def test_head_answers_every_get_with_its_status_and_headers(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
    samples: dict[str, str],
) -> None:
    headers = auth_headers("bureau")  # the role that may read every GET
    paths = _get_paths(app, samples)
    assert len(paths) >= 10
    for path in paths:
        get = await client.get(path, headers=headers)
        head = await client.head(path, headers=headers)
        assert get.status_code == 200, path
        assert head.status_code == 200, path
        assert head.content == b"", path
        assert _headers(head) == _headers(get), path
        assert int(head.headers["content-length"]) == len(get.content), path


async def test_head_answers_errors_and_conditional_requests_like_get(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.head("/v1/strategic-objectives/none")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.content == b""
    first = await client.head("/v1/strategic-objectives")
    again = await client.head(
        "/v1/strategic-objectives", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    unauthenticated = await client.head("/v1/organizations")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")


async def test_head_where_there_is_no_get_is_405(client: httpx.AsyncClient) -> None:
    response = await client.head("/oauth/token")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.content == b""


async def test_allow_lists_head_beside_get(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/strategic-objectives")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_the_contract_has_no_head_operations(app: FastAPI) -> None:
    assert not [path for path, item in app.openapi()["paths"].items() if "head" in item]


async def test_head_of_a_csv_export_reads_no_rows(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = auth_headers("secretariat")
    created = await client.post("/v1/organizations", json={"name": "Body"}, headers=headers)
    assert created.status_code == 201
    database: Database = app.state.database
    opened = database.session
    sessions: list[bool] = []

    @asynccontextmanager
    async def counted(**options: Any) -> AsyncIterator[AsyncSession]:
        sessions.append(True)
        async with opened(**options) as session:
            yield session

    monkeypatch.setattr(database, "session", counted)
    get = await client.get("/v1/organizations", params={"format": "csv"}, headers=headers)
    assert get.status_code == 200
    assert "Body" in get.text
    read_by_get = len(sessions)
    sessions.clear()
    head = await client.head("/v1/organizations", params={"format": "csv"}, headers=headers)
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/csv")
    assert head.content == b""
    # The request's own session only: the export's stream opened none.
    assert len(sessions) == read_by_get - 1


def test_is_head_request_reads_the_scope_or_the_request() -> None:
    assert is_head_request({"type": "http", "ippc.head_request": True})
    assert not is_head_request({"type": "http"})
    assert not is_head_request()
