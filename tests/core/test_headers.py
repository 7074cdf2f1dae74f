"""Headers every response carries: nosniff, a Cache-Control, a Content-Security-Policy, and CORS
headers that do not depend on whether the request named an origin (public paths) or say that
they do (internal paths). Errors and 500s included."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from app.api import is_public_path

ELSEWHERE = "https://elsewhere.example"
FRONT_END = "https://secretariat.example"
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def _vary(response: httpx.Response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("vary", "").split(",")}


# (method, path, expected status) over the kinds of answer: success, errors, a crash, preflight.
ANSWERS = [
    ("GET", "/v1/strategic-objectives", 200),
    ("GET", "/v1/strategic-objectives/none", 404),
    ("GET", "/v1/public/boom", 500),
    ("GET", "/v1/internal-boom", 500),
    ("GET", "/v1/me", 401),
    ("GET", "/v1/nothing-here", 404),
    ("DELETE", "/v1/strategic-objectives", 405),
    ("POST", "/v1/probe", 422),
    ("GET", "/healthz", 200),
    ("GET", "/problems/validation", 200),
]


@pytest.mark.parametrize(("method", "path", "status"), ANSWERS)
async def test_every_response_says_nosniff_and_forbids_active_content(
    probe_client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await probe_client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == API_POLICY


async def test_early_refusals_say_nosniff(probe_client: httpx.AsyncClient) -> None:
    refused = [
        await probe_client.post("/v1/probe", content=b"x", headers={"content-type": "text/plain"}),
        await probe_client.get("/v1/strategic-objectives?x=%00"),
        await probe_client.options(
            "/v1/strategic-objectives",
            headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": "GET"},
        ),
    ]
    assert [response.status_code for response in refused] == [415, 422, 204]
    for response in refused:
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "cache_control"),
    [
        ("/v1/me", "private, no-cache"),
        ("/v1/nothing-here", "private, no-cache"),
        ("/v1/internal-boom", "private, no-cache"),
        ("/problems/no-such-thing", "private, no-cache"),
        ("/v1/strategic-objectives/none", "no-store"),
        ("/v1/public/boom", "no-store"),
        ("/healthz", "no-store"),
        ("/readyz", "no-store"),
        ("/problems/validation", "public, max-age=86400"),
        ("/v1/strategic-objectives", "public, max-age=60"),
    ],
)
async def test_cache_control_of_responses_that_set_none(
    probe_client: httpx.AsyncClient, path: str, cache_control: str
) -> None:
    response = await probe_client.get(path)
    assert response.headers["cache-control"] == cache_control


async def test_internal_reads_are_private_and_revalidated(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    headers = auth_headers("secretariat")
    created = await client.post("/v1/organizations", json={"name": "Body"}, headers=headers)
    assert created.status_code == 201
    for path in ("/v1/me", "/v1/organizations", "/v1/audit-events"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "private, no-cache", path
    csv = await client.get("/v1/organizations", params={"format": "csv"}, headers=headers)
    assert csv.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(
    ("path", "status"),
    [("/v1/strategic-objectives", 200), ("/v1/strategic-objectives/none", 404)],
)
async def test_public_paths_are_open_whether_or_not_an_origin_is_named(
    probe_client: httpx.AsyncClient, path: str, status: int
) -> None:
    without = await probe_client.get(path)
    with_origin = await probe_client.get(path, headers={"Origin": ELSEWHERE})
    for response in (without, with_origin):
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == "*"
        assert "ETag" in response.headers["access-control-expose-headers"]
        assert "origin" not in _vary(response)
    # A cache may hand either copy to any browser: they are the same.
    assert {name: value for name, value in without.headers.items() if name != "x-request-id"} == {
        name: value for name, value in with_origin.headers.items() if name != "x-request-id"
    }


async def test_a_public_500_without_origin_is_open(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/v1/public/boom")
    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("origin", [None, ELSEWHERE, FRONT_END])
@pytest.mark.parametrize("path", ["/v1/me", "/v1/internal-boom", "/healthz", "/v1/nothing-here"])
async def test_internal_responses_vary_on_origin(
    probe_client: httpx.AsyncClient, path: str, origin: str | None
) -> None:
    response = await probe_client.get(path, headers={"Origin": origin} if origin else {})
    assert "origin" in _vary(response)
    if origin == FRONT_END:
        assert response.headers["access-control-allow-origin"] == FRONT_END
    else:
        assert "access-control-allow-origin" not in response.headers


def test_public_paths_are_whole_segments() -> None:
    assert is_public_path("/v1/strategic-objectives")
    assert is_public_path("/v1/strategic-objectives/2020-2030.A")
    assert is_public_path("/v1/public/agreements")
    assert is_public_path("/.well-known/jwks.json")
    assert not is_public_path("/v1/strategic-objectivesX")
    assert not is_public_path("/v1/publicity")
    assert not is_public_path("/.well-knownX")


async def test_the_token_endpoint_is_never_stored_even_when_it_refuses_a_body(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/oauth/token",
        content=b"x" * 2_000_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "extra",
    [
        {f"x-filler-{index}": "1" for index in range(101)},
        {"x-large": "a" * 40_000},
    ],
)
async def test_too_many_or_too_large_headers_are_431(
    client: httpx.AsyncClient, extra: dict[str, str]
) -> None:
    response = await client.get("/v1/strategic-objectives", headers=extra)
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/request-header-fields-too-large"
    assert response.headers["access-control-allow-origin"] == "*"


async def test_the_usual_headers_with_a_long_token_pass(client: httpx.AsyncClient) -> None:
    headers = {
        "Authorization": "Bearer " + "a" * 8192,
        **{f"x-h-{i}": "v" * 100 for i in range(80)},
    }
    response = await client.get("/v1/me", headers=headers)
    assert response.status_code == 401  # read and refused as a token, not as a request
