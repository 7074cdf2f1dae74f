"""The edge on its own, around small ASGI apps: what it adds to any answer, however made."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import default_cache_control, is_public_path
from app.core.edge import Edge
from app.core.head import is_head_request
from app.core.logging import json_handler

FRONT_END = "https://secretariat.example"


def _edge(app: ASGIApp) -> Edge:
    return Edge(
        app,
        cache_control=default_cache_control,
        is_public_path=is_public_path,
        internal_origins=[FRONT_END],
        max_body_bytes=1024,
    )


def _client(edge: Edge) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=edge, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _failing(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("before any answer")


async def test_a_failure_before_any_answer_is_a_500_with_every_edge_header() -> None:
    async with _client(_edge(_failing)) as client:
        public = await client.get("/v1/public/x", headers={"X-Request-ID": "req-1"})
        internal = await client.get("/v1/internal", headers={"Origin": FRONT_END})
    for response in (public, internal):
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert public.headers["x-request-id"] == "req-1"
    assert public.headers["access-control-allow-origin"] == "*"
    assert public.headers["cache-control"] == "no-store"
    assert internal.headers["access-control-allow-origin"] == FRONT_END
    assert internal.headers["vary"] == "Origin"


async def _own_headers(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [
        (b"vary", b"Accept"),
        (b"x-request-id", b"the-route's"),
        (b"vary", b"Accept-Language"),
        (b"cache-control", b"public, max-age=5"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


async def test_headers_the_edge_sets_replace_the_responses_and_vary_is_joined() -> None:
    async with _client(_edge(_own_headers)) as client:
        response = await client.get("/v1/internal", headers={"X-Request-ID": "req-2"})
    assert response.headers.get_list("vary") == ["Accept, Accept-Language, Origin"]
    assert response.headers.get_list("x-request-id") == ["req-2"]
    assert response.headers.get_list("cache-control") == ["public, max-age=5"]
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )


async def test_head_runs_as_a_marked_get_and_leaves_without_any_body() -> None:
    seen: list[tuple[str, bool, bool]] = []

    async def streamed(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope["method"], is_head_request(scope), is_head_request()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk in (b"one", b"two"):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def server_send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    scope: Scope = {"type": "http", "method": "HEAD", "path": "/v1/x", "headers": []}
    await _edge(streamed)(scope, receive, server_send)
    assert seen == [("GET", True, True)]
    assert scope["method"] == "HEAD"  # the server's own scope is left as it was
    assert [message.get("body") for message in sent[1:]] == [b""]
    assert sent[1]["more_body"] is False


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger("app.access")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_one_access_line_a_request_whoever_answers(access_log: io.StringIO) -> None:
    async with _client(_edge(_own_headers)) as client:
        await client.get("/v1/internal")
        await client.get("/v1/internal?x=%00")  # refused by the edge
        await client.head("/v1/internal")
    lines = [json.loads(line) for line in access_log.getvalue().splitlines()]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/v1/internal", 200),
        ("GET", "/v1/internal", 422),
        ("HEAD", "/v1/internal", 200),
    ]


async def test_no_access_line_when_the_log_does_not_take_info(access_log: io.StringIO) -> None:
    logging.getLogger("app.access").setLevel(logging.WARNING)
    async with _client(_edge(_own_headers)) as client:
        assert (await client.get("/v1/internal")).status_code == 200
    assert access_log.getvalue() == ""
