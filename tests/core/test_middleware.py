"""The outer layers: CORS by path (even on a 500), request ids, JSON access logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from app.core.logging import json_handler

FRONT_END = "https://secretariat.example"
ELSEWHERE = "https://elsewhere.example"


async def test_public_path_is_open_to_any_origin(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/v1/strategic-objectives", headers={"Origin": ELSEWHERE})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"]
    assert "ETag" in exposed
    assert "Link" in exposed


async def test_public_preflight(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.options(
        "/v1/strategic-objectives",
        headers={
            "Origin": ELSEWHERE,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "POST" not in response.headers["access-control-allow-methods"]
    assert "If-None-Match" in response.headers["access-control-allow-headers"]


async def test_public_paths_refuse_writes_in_preflight(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.options(
        "/v1/strategic-objectives",
        headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": "DELETE"},
    )
    assert response.status_code == 405


async def test_public_500_keeps_cors_headers(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/v1/public/boom", headers={"Origin": ELSEWHERE})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-request-id"]


async def test_public_errors_keep_cors_headers(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get(
        "/v1/strategic-objectives/none", headers={"Origin": ELSEWHERE}
    )
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"


async def test_internal_path_is_closed_to_unknown_origins(
    probe_client: httpx.AsyncClient,
) -> None:
    response = await probe_client.get("/v1/internal-boom", headers={"Origin": ELSEWHERE})
    assert "access-control-allow-origin" not in response.headers
    preflight = await probe_client.options(
        "/v1/probe", headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_internal_path_is_open_to_the_front_end(probe_client: httpx.AsyncClient) -> None:
    preflight = await probe_client.options(
        "/v1/probe",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == FRONT_END
    assert "Origin" in preflight.headers["vary"]
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    response = await probe_client.post(
        "/v1/probe", json={"name": "a", "count": 1}, headers={"Origin": FRONT_END}
    )
    assert response.headers["access-control-allow-origin"] == FRONT_END
    # Even the 500 of an internal route carries the front end's CORS headers.
    crash = await probe_client.get("/v1/internal-boom", headers={"Origin": FRONT_END})
    assert crash.status_code == 500
    assert crash.headers["access-control-allow-origin"] == FRONT_END


async def test_request_id_is_generated(probe_client: httpx.AsyncClient) -> None:
    first = await probe_client.get("/healthz")
    second = await probe_client.get("/healthz")
    assert len(first.headers["x-request-id"]) >= 16
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_request_id_is_honoured(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/healthz", headers={"X-Request-ID": "cpm-19.abc-123"})
    assert response.headers["x-request-id"] == "cpm-19.abc-123"


async def test_insane_request_id_is_replaced(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/healthz", headers={"X-Request-ID": 'a b"<x>' * 30})
    assert response.headers["x-request-id"] != 'a b"<x>' * 30
    assert " " not in response.headers["x-request-id"]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_access_log_is_json_with_request_id(
    probe_client: httpx.AsyncClient, log_stream: io.StringIO
) -> None:
    await probe_client.get("/healthz", headers={"X-Request-ID": "req-42"})
    access = [line for line in _lines(log_stream) if line["logger"] == "app.access"]
    assert access
    assert access[-1]["request_id"] == "req-42"
    assert access[-1]["status"] == 200
    assert access[-1]["path"] == "/healthz"
    assert isinstance(access[-1]["duration_ms"], float)


async def test_errors_are_logged_with_request_id(
    probe_client: httpx.AsyncClient, log_stream: io.StringIO
) -> None:
    await probe_client.get("/v1/internal-boom", headers={"X-Request-ID": "req-500"})
    errors = [line for line in _lines(log_stream) if line["level"] == "error"]
    assert errors
    assert errors[0]["request_id"] == "req-500"
    assert "RuntimeError" in str(errors[0]["exception"])
