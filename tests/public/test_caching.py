"""The public register for browsers on other origins and for shared caches (design §5): CORS on
every answer, `Cache-Control: public` with a short max-age, strong ETags from the body and 304;
and the answers the service keeps, which are never stale, whichever instance made the change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.registry import Make

ORIGIN = {"Origin": "https://www.ippc.example"}
PATHS = (
    "/v1/public/agreements",
    "/v1/public/agreements?approval_year=2025",
    "/v1/public/interactions",
)


@pytest.mark.parametrize("path", PATHS)
async def test_public_answers_are_cacheable_by_anyone_on_any_origin(
    client: httpx.AsyncClient, settings: Settings, approved: Make, path: str
) -> None:
    await approved("Cached")
    response = await client.get(path, headers=ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "ETag" in response.headers["access-control-expose-headers"]
    assert response.headers["cache-control"] == f"public, max-age={settings.public_max_age_seconds}"
    assert response.headers["vary"] == "Accept"
    etag = response.headers["etag"]
    assert etag.startswith('"')  # strong
    again = await client.get(path)
    assert again.headers["etag"] == etag
    assert again.content == response.content

    revalidated = await client.get(path, headers={"If-None-Match": etag, **ORIGIN})
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == etag
    assert revalidated.headers["access-control-allow-origin"] == "*"
    stale = await client.get(path, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200


@pytest.mark.parametrize(
    "path", ["/v1/public/agreements?format=csv", "/v1/public/interactions?format=csv"]
)
async def test_open_data_answers_if_none_match_star_with_304(
    client: httpx.AsyncClient, approved: Make, path: str
) -> None:
    """A streamed CSV has no tag, but a list always has a representation: `If-None-Match: *`
    (alone or among tags) is a 304 (RFC 9110 §13.1.2), with the CSV's caching headers and
    CORS; any other tag gets the CSV."""
    await approved("Open data")
    for header in ("*", '"other", *'):
        response = await client.get(path, headers={"If-None-Match": header, **ORIGIN})
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["cache-control"].startswith("public, max-age=")
        assert response.headers["vary"] == "Accept"
        assert response.headers["access-control-allow-origin"] == "*"
    streamed = await client.get(path, headers={"If-None-Match": '"other"'})
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/csv")


async def test_internal_exports_answer_no_conditional_request(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    """The internal lists declare no 304 (they have no tags): their CSV streams whatever
    `If-None-Match` says."""
    response = await client.get(
        "/v1/organizations?format=csv", headers={"If-None-Match": "*", **secretariat}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")


async def test_errors_of_the_register_carry_cors_too(client: httpx.AsyncClient) -> None:
    for path, status in (
        ("/v1/public/agreements/00000000-0000-0000-0000-000000000000", 404),
        ("/v1/public/agreements/not-an-id", 422),
        ("/v1/public/agreements?limit=0", 422),
        ("/v1/public/nothing-here", 404),
    ):
        response = await client.get(path, headers=ORIGIN)
        assert response.status_code == status, path
        assert response.headers["access-control-allow-origin"] == "*", path
        assert response.headers["cache-control"] == "no-store", path


async def test_a_preflight_from_any_origin_allows_reads_only(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/v1/public/agreements",
        headers={**ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    refused = await client.options(
        "/v1/public/agreements",
        headers={**ORIGIN, "Access-Control-Request-Method": "DELETE"},
    )
    assert refused.status_code == 405


async def test_a_repeated_read_is_answered_after_reading_only_the_version(
    app: FastAPI, client: httpx.AsyncClient, approved: Make
) -> None:
    await approved("Kept")
    database: Database = app.state.database
    ran: list[str] = []
    database.direct.listeners.append(lambda _driver, sql: ran.append(sql))
    first = await client.get("/v1/public/agreements")
    assert len(ran) == 1  # the page, with its partners, decisions and the data's version
    ran.clear()
    second = await client.get("/v1/public/agreements")
    assert second.content == first.content
    assert len(ran) == 1
    assert "max" in ran[0].lower()
    assert "audit_event" in ran[0]


@pytest.fixture
async def other_instance(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second instance of the service on the same database, as a deployment runs several."""
    other = create_app(settings)
    transport = httpx.ASGITransport(app=other, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await other.state.database.dispose()


async def _titles_and_partners(client: httpx.AsyncClient) -> list[Any]:
    response = await client.get("/v1/public/agreements")
    assert response.status_code == 200
    return [
        (item["title"], [partner["name"] for partner in item["partners"]])
        for item in response.json()["items"]
    ]


async def test_a_change_through_one_instance_is_served_by_another_at_once(
    client: httpx.AsyncClient,
    other_instance: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    approved: Make,
) -> None:
    partner = await organization("Old name")
    await approved("First", partner=partner)
    assert await _titles_and_partners(other_instance) == [("First", ["Old name"])]
    assert await _titles_and_partners(other_instance) == [("First", ["Old name"])]  # kept

    renamed = await client.patch(
        f"/v1/organizations/{partner['id']}",
        json={"name": "New name"},
        headers={**secretariat, "If-Match": "*"},
    )
    assert renamed.status_code == 200, renamed.text
    assert await _titles_and_partners(other_instance) == [("First", ["New name"])]

    await approved("Second", partner=partner)
    assert await _titles_and_partners(other_instance) == [
        ("First", ["New name"]),
        ("Second", ["New name"]),
    ]
    profile = await other_instance.get(f"/v1/public/organizations/{partner['id']}")
    assert profile.json()["agreement_count"] == 2
