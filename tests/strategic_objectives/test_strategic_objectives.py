"""`/v1/strategic-objectives`: both frameworks seeded, public, paged, cacheable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

URL = "/v1/strategic-objectives"

EXPECTED_CODES = [
    "2012-2019.A",
    "2012-2019.B",
    "2012-2019.C",
    "2012-2019.D",
    "2020-2030.A",
    "2020-2030.B",
    "2020-2030.C",
]


async def test_both_frameworks_are_seeded(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/strategic-objectives")
    assert response.status_code == 200
    body = response.json()
    assert [item["code"] for item in body["items"]] == EXPECTED_CODES
    assert body["next_cursor"] is None
    assert "link" not in response.headers
    first = body["items"][0]
    assert first == {
        "code": "2012-2019.A",
        "framework": "2012-2019",
        "letter": "A",
        "title": "Protect sustainable agriculture and enhance global food security through "
        "the prevention of pest spread",
    }


async def test_filter_by_framework(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/strategic-objectives", params={"framework": "2020-2030"})
    assert [item["letter"] for item in response.json()["items"]] == ["A", "B", "C"]
    both = await client.get(
        "/v1/strategic-objectives", params=[("framework", "2020-2030"), ("framework", "2012-2019")]
    )
    assert len(both.json()["items"]) == 7


async def test_unknown_framework_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/strategic-objectives", params={"framework": "1990"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "framework"


async def test_pages_follow_the_cursor_and_link(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    url: str | None = "/v1/strategic-objectives?limit=3"
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [item["code"] for item in body["items"]]
        pages += 1
        assert pages <= 3, "the pages never end (the same page again?)"
        if body["next_cursor"]:
            link = response.headers["link"]
            assert link.endswith('>; rel="next"')
            assert f"cursor={body['next_cursor']}" in link
            assert "limit=3" in link
            url = link[1 : link.index(">")]
        else:
            url = None
    assert seen == EXPECTED_CODES
    assert pages == 3


async def test_limit_over_200_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/strategic-objectives", params={"limit": 201})
    assert response.status_code == 422


async def test_bad_cursor_is_422(client: httpx.AsyncClient) -> None:
    for cursor in ("not-a-cursor", "WzEsMiwzXQ", "e30", "%%%"):
        response = await client.get("/v1/strategic-objectives", params={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert response.json()["errors"][0]["parameter"] == "cursor"


async def test_get_one_by_code(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/strategic-objectives/2020-2030.B")
    assert response.status_code == 200
    assert response.json()["title"] == "Protect the environment from the impacts of plant pests"
    missing = await client.get("/v1/strategic-objectives/2020-2030.Z")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_responses_are_cacheable_with_strong_etag(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/strategic-objectives")
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert response.headers["cache-control"] == "public, max-age=60"
    again = await client.get("/v1/strategic-objectives")
    assert again.headers["etag"] == etag
    other = await client.get("/v1/strategic-objectives", params={"limit": 2})
    assert other.headers["etag"] != etag


async def test_matching_if_none_match_is_304(client: httpx.AsyncClient) -> None:
    etag = (await client.get("/v1/strategic-objectives/2012-2019.C")).headers["etag"]
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = await client.get(
            "/v1/strategic-objectives/2012-2019.C", headers={"If-None-Match": header}
        )
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
    stale = await client.get(
        "/v1/strategic-objectives/2012-2019.C", headers={"If-None-Match": '"stale"'}
    )
    assert stale.status_code == 200


async def test_open_to_any_origin_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/strategic-objectives", headers={"Origin": "https://www.ippc.example"}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "ETag" in response.headers["access-control-expose-headers"]


async def test_served_from_memory_after_the_first_read(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Reference data changes only with a migration: one read per process, then no query."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert (await client.get(URL)).status_code == 200
            assert (await client.get(URL, params={"framework": "2012-2019"})).status_code == 200
            assert (await client.get(f"{URL}/2020-2030.A")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [s for s in statements if "strategic_objective" in s] != []
    assert len([s for s in statements if "strategic_objective" in s]) == 1
    assert app.state.objectives.reads == 1


async def test_answers_kept_are_bounded(app: FastAPI, client: httpx.AsyncClient) -> None:
    from app.strategic_objectives import service

    for limit in range(1, 201):  # 400 distinct answers
        await client.get(URL, params={"limit": limit, "framework": ["2012-2019"]})
        await client.get(URL, params={"limit": limit})
    assert len(app.state.objectives._answers) == service.MAX_KEPT


async def test_answered_at_the_edge_once_kept(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each answer is the same for the life of the process: once made, the edge answers the
    same request itself, 200, 304 and HEAD alike, and the routes do not run again."""
    from app.strategic_objectives import service

    calls: list[str] = []
    page, one = service.Catalogue.page, service.Catalogue.one

    async def counted_page(self: service.Catalogue, **options: Any) -> Any:
        calls.append("page")
        return await page(self, **options)

    async def counted_one(self: service.Catalogue, code: str) -> Any:
        calls.append("one")
        return await one(self, code)

    monkeypatch.setattr(service.Catalogue, "page", counted_page)
    monkeypatch.setattr(service.Catalogue, "one", counted_one)
    first = await client.get(URL)
    single = await client.get(f"{URL}/2020-2030.A")
    for _ in range(3):
        again = await client.get(URL)
        assert again.content == first.content
        assert again.headers["etag"] == first.headers["etag"]
        assert (await client.get(f"{URL}/2020-2030.A")).content == single.content
        not_modified = await client.get(URL, headers={"If-None-Match": first.headers["etag"]})
        assert not_modified.status_code == 304
        head = await client.head(f"{URL}/2020-2030.A")
        assert head.status_code == 200
        assert head.content == b""
    assert calls == ["page", "one"]
    assert (await client.get(URL, params={"limit": 3})).status_code == 200
    assert calls == ["page", "one", "page"]
