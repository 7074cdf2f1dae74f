"""URLs the service hands out come from IPPC_BASE_URL, never from the request's Host header."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import ValidationError
from starlette.requests import Request

from app.core.config import Settings
from app.core.urls import next_link
from tests.conftest import PUBLIC_BASE_URL

# What an attacker puts in the headers a proxy or a client may send.
SPOOFED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://partnerships.ippc.example", "https://partnerships.ippc.example"),
        ("https://partnerships.ippc.example/", "https://partnerships.ippc.example"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_base_url_is_an_origin(given: str, kept: str) -> None:
    assert Settings(_env_file=None, base_url=given).base_url == kept


@pytest.mark.parametrize(
    "given",
    [
        "partnerships.ippc.example",
        "/v1",
        "ftp://partnerships.ippc.example",
        "https://",
        "https://partnerships.ippc.example/api",
        "https://partnerships.ippc.example?x=1",
        "https://partnerships.ippc.example/?",
        "https://partnerships.ippc.example#top",
        "https://user:pass@partnerships.ippc.example",
        "https://partnerships.ippc.example:99999",
        "https://partnerships ippc.example",
    ],
)
def test_base_url_refuses_anything_else(given: str) -> None:
    with pytest.raises(ValidationError, match="IPPC_BASE_URL"):
        Settings(_env_file=None, base_url=given)


def test_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPPC_BASE_URL", "https://api.example.org")
    assert Settings(_env_file=None).base_url == "https://api.example.org"
    monkeypatch.delenv("IPPC_BASE_URL")
    assert Settings(_env_file=None).base_url == "http://localhost:8000"


def _assert_not_spoofed(response: httpx.Response) -> None:
    for name in ("location", "link", "content-location"):
        assert "evil" not in response.headers.get(name, "")


async def test_location_is_built_on_the_base_url(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    response = await client.post(
        "/v1/organizations",
        json={"name": "Plant Health Body"},
        headers={**auth_headers("secretariat"), **SPOOFED},
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == (
        f"{PUBLIC_BASE_URL}/v1/organizations/{response.json()['id']}"
    )
    _assert_not_spoofed(response)


async def test_links_are_built_on_the_base_url(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    secretariat = auth_headers("secretariat")
    for name in ("First Body", "Second Body"):
        created = await client.post("/v1/organizations", json={"name": name}, headers=secretariat)
        assert created.status_code == 201
    for path, headers in (
        ("/v1/organizations", secretariat),
        ("/v1/audit-events", secretariat),
        ("/v1/strategic-objectives", {}),
    ):
        response = await client.get(path, params={"limit": 1}, headers={**headers, **SPOOFED})
        assert response.status_code == 200, response.text
        cursor = response.json()["next_cursor"]
        assert response.headers["link"] == (
            f'<{PUBLIC_BASE_URL}{path}?limit=1&cursor={cursor}>; rel="next"'
        )
        _assert_not_spoofed(response)


async def test_a_link_carries_only_the_parameters_the_route_reads(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    """Parameters no route reads (a cache buster, anything) change nothing in the next page:
    the Link leaves them out, so that a long query cannot make a header as long."""
    secretariat = auth_headers("secretariat")
    for name in ("First Body", "Second Body"):
        created = await client.post("/v1/organizations", json={"name": name}, headers=secretariat)
        assert created.status_code == 201
    noise = [("unknown", "x" * 5000), ("_", "1700000000")]
    for path, headers, read in (
        # A list that reads its query itself (`core.list_query`).
        ("/v1/organizations", secretariat, [("q", "body"), ("limit", "1")]),
        # Routes whose parameters FastAPI reads.
        ("/v1/audit-events", secretariat, [("limit", "1")]),
        ("/v1/strategic-objectives", {}, [("limit", "1")]),
    ):
        response = await client.get(path, params=[*noise, *read], headers=headers)
        assert response.status_code == 200, response.text
        cursor = response.json()["next_cursor"]
        kept = "&".join(f"{name}={value}" for name, value in read)
        assert response.headers["link"] == (
            f'<{PUBLIC_BASE_URL}{path}?{kept}&cursor={cursor}>; rel="next"'
        )


async def test_a_trailing_slash_is_not_redirected(client: httpx.AsyncClient) -> None:
    for path in ("/v1/strategic-objectives/", "/healthz/", "/v1/organizations/"):
        response = await client.get(path, headers=SPOOFED)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert "location" not in response.headers
        _assert_not_spoofed(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", "cursor=NEXT"),
        (b"limit=2", "limit=2&cursor=NEXT"),
        # A cursor given is replaced, wherever it stood; the others keep their order.
        (b"cursor=OLD&limit=2&sort=-name", "limit=2&sort=-name&cursor=NEXT"),
        (b"category=ngo&cursor=OLD&category=rppo", "category=ngo&category=rppo&cursor=NEXT"),
        # Values are decoded and encoded again: spaces, accents, reserved characters, blanks.
        (b"q=caf%C3%A9+%26+co&acronym=", "q=caf%C3%A9+%26+co&acronym=&cursor=NEXT"),
        (b"q=a%2Bb%3Dc", "q=a%2Bb%3Dc&cursor=NEXT"),
    ],
)
def test_the_next_link_keeps_the_query_and_replaces_the_cursor(query: bytes, expected: str) -> None:
    settings = Settings(_env_file=None, base_url="https://partnerships.ippc.example")
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/v1/organizations",
            "query_string": query,
            "headers": [(b"host", b"evil.example")],
        }
    )
    assert next_link(settings, request, "NEXT") == {
        "Link": f'<https://partnerships.ippc.example/v1/organizations?{expected}>; rel="next"'
    }
    assert next_link(settings, request, None) == {}
