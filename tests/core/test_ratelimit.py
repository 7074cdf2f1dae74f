"""Rate limits in the process's memory (`core/ratelimit.py`): each rule over HTTP, against the
real application, with callers told apart by the address the transport gives them. The same
rules against Redis: test_ratelimit_redis.py."""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from app.core.config import Settings
from app.core.ratelimit import ANONYMOUS, Addresses, RateLimits, parse_networks
from app.main import create_app
from tests.conftest import make_settings, register_client

PUBLIC = "/v1/strategic-objectives"
TRUSTED = ["10.1.0.0/16", "2001:db8:ffff::1"]
LIMITS: dict[str, Any] = {
    "rate_limit_enabled": True,
    "rate_limit_anonymous": "3/minute",
    "rate_limit_client": "4/minute",
    "rate_limit_token_failures": "2/minute",
    "trusted_proxies": TRUSTED,
}

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


def limited_settings(database_url: str, **overrides: Any) -> Settings:
    return make_settings(database_url, **{**LIMITS, **overrides})


@pytest.fixture
def settings(database_url: str) -> Settings:
    return limited_settings(database_url)


@asynccontextmanager
async def clients_of(app: FastAPI) -> AsyncIterator[MakeClient]:
    """`await caller("192.0.2.1")`: an HTTP client whose requests come from that address."""
    opened: list[httpx.AsyncClient] = []

    async def caller(address: str = "192.0.2.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 1))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        opened.append(http)
        return http

    try:
        yield caller
    finally:
        for http in opened:
            await http.aclose()


@pytest.fixture
async def caller(app: FastAPI) -> AsyncIterator[MakeClient]:
    async with clients_of(app) as make:
        yield make


def remaining(response: httpx.Response, policy: str) -> int:
    match = re.search(rf'"{policy}";r=(\d+);t=(\d+)', response.headers.get("ratelimit", ""))
    assert match, response.headers.get("ratelimit")
    return int(match.group(1))


def assert_too_many(response: httpx.Response, policy: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/too-many-requests"
    assert policy in response.json()["detail"]
    retry_after = int(response.headers["retry-after"])
    reset = int(re.search(rf'"{policy}";r=0;t=(\d+)', response.headers["ratelimit"])[1])  # type: ignore[index]
    assert retry_after == max(1, reset)
    assert 1 <= retry_after <= 60


async def token_of(http: httpx.AsyncClient, client_id: str, secret: str) -> dict[str, str]:
    response = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --- Anonymous requests: per address ---------------------------------------------------------


async def test_anonymous_requests_are_refused_past_the_quota_with_the_fields(
    caller: MakeClient,
) -> None:
    http = await caller("192.0.2.1")
    for left in (2, 1, 0):
        response = await http.get(PUBLIC)
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == '"anonymous";q=3;w=60'
        assert remaining(response, "anonymous") == left
    refused = await http.get(PUBLIC, headers={"Origin": "https://anywhere.example"})
    assert_too_many(refused, "anonymous")
    assert refused.headers["ratelimit-policy"] == '"anonymous";q=3;w=60'
    # A public 429 is still readable from a browser on any origin, its fields included.
    assert refused.headers["access-control-allow-origin"] == "*"
    exposed = refused.headers["access-control-expose-headers"]
    assert {"RateLimit", "RateLimit-Policy", "Retry-After"} <= set(exposed.split(", "))


async def test_retry_after_counts_down_the_window(caller: MakeClient) -> None:
    http = await caller("192.0.2.1")
    for _ in range(3):
        await http.get(PUBLIC)
    refused = await http.get(PUBLIC)
    # The window opened with the first request, a moment ago: about a minute is left.
    assert 55 <= int(refused.headers["retry-after"]) <= 60


async def test_the_window_ends_a_window_after_its_first_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counted 20 seconds into a window of a minute, a request is told the 40 seconds left,
    not a new minute: the window is the one its first request opened."""
    settings = make_settings("sqlite:///unused.db", rate_limit_anonymous="3/minute")
    limits = RateLimits(settings)
    started = time.time()
    monkeypatch.setattr(time, "time", lambda: started)
    first = await limits.hit(ANONYMOUS, "192.0.2.1")
    monkeypatch.setattr(time, "time", lambda: started + 20)
    later = await limits.hit(ANONYMOUS, "192.0.2.1")
    assert first is not None
    assert later is not None
    assert (first.remaining, first.reset) == (2, 60)
    assert (later.remaining, later.reset) == (1, 40)


async def test_each_address_has_its_own_budget(caller: MakeClient) -> None:
    first, second = await caller("192.0.2.1"), await caller("192.0.2.2")
    for _ in range(3):
        await first.get(PUBLIC)
    assert (await first.get(PUBLIC)).status_code == 429
    response = await second.get(PUBLIC)
    assert response.status_code == 200
    assert remaining(response, "anonymous") == 2


async def test_an_ipv6_subscriber_is_one_address(caller: MakeClient) -> None:
    """Every address of one /64 counts against one budget; another /64 has its own."""
    for index in range(3):
        assert (await (await caller(f"2001:db8:1:1::{index + 1}")).get(PUBLIC)).status_code == 200
    assert (await (await caller("2001:db8:1:1::ffff")).get(PUBLIC)).status_code == 429
    assert (await (await caller("2001:db8:1:2::1")).get(PUBLIC)).status_code == 200


async def test_every_unauthenticated_route_counts(caller: MakeClient) -> None:
    """Documentation, problem pages, the contract and a request without a token to an
    internal route all spend the address's budget."""
    http = await caller()
    assert (await http.get("/problems/validation")).status_code == 200
    assert (await http.get("/openapi.json")).status_code == 200
    unauthorized = await http.get("/v1/organizations")
    assert unauthorized.status_code == 401
    assert remaining(unauthorized, "anonymous") == 0
    assert_too_many(await http.get("/docs"), "anonymous")


async def test_the_health_probes_are_counted(caller: MakeClient) -> None:
    """The probes spend their address's budget like any anonymous request, and say so: an
    orchestrator probes from an address of its own, far below the anonymous quota."""
    http = await caller()
    healthy = await http.get("/healthz")
    assert healthy.status_code == 200
    assert remaining(healthy, "anonymous") == 2
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert remaining(ready, "anonymous") == 1
    await http.get(PUBLIC)
    assert_too_many(await http.get("/healthz"), "anonymous")
    assert (await (await caller("192.0.2.9")).get("/readyz")).status_code == 200


TEXT = {"content": b"name=x", "headers": {"content-type": "text/plain"}}
EARLY_REFUSALS: list[tuple[str, str, dict[str, Any], int]] = [
    # Each refusal the edge makes before the application: (method, path, options, status).
    ("GET", PUBLIC, {"headers": {f"x-filler-{index}": "x" for index in range(120)}}, 431),
    ("GET", "/v1/organizations?q=a%00b", {}, 422),  # a NUL in the query
    ("GET", "/v1/a%00b", {}, 404),  # a NUL in the path
    ("POST", "/v1/organizations", {"headers": {"content-length": str(10**9)}}, 413),
    ("POST", "/v1/organizations", TEXT, 415),
]


@pytest.mark.parametrize(("method", "path", "options", "status"), EARLY_REFUSALS)
async def test_the_early_refusals_are_counted(
    caller: MakeClient, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    """The refusals the edge makes from the request line and headers alone carry the fields,
    spend the budget, and give way to the 429 once it is spent."""
    http = await caller()
    for left in (2, 1, 0):
        refused = await http.request(method, path, **options)
        assert refused.status_code == status
        assert remaining(refused, "anonymous") == left
    assert_too_many(await http.request(method, path, **options), "anonymous")


async def test_nothing_is_counted_when_limits_are_off(database_url: str) -> None:
    app = create_app(limited_settings(database_url, rate_limit_enabled=False))
    async with clients_of(app) as caller:
        http = await caller()
        for _ in range(6):
            response = await http.get(PUBLIC)
            assert response.status_code == 200
            assert "ratelimit" not in response.headers
    await app.state.database.dispose()


# --- Requests with a token: per client -------------------------------------------------------


@pytest.fixture
async def tokens(app: FastAPI, caller: MakeClient) -> list[dict[str, str]]:
    """Two Secretariat clients' tokens, fetched from an address of their own."""
    headers = []
    for index in range(2):
        client_id, secret = await register_client(app, "secretariat", f"client {index}")
        headers.append(await token_of(await caller(f"198.51.100.{index + 1}"), client_id, secret))
    return headers


async def test_a_client_is_refused_past_its_quota_and_another_is_not(
    caller: MakeClient, tokens: list[dict[str, str]]
) -> None:
    first, second = tokens
    http = await caller("192.0.2.1")  # one address for both clients
    for left in (3, 2, 1, 0):
        response = await http.get("/v1/me", headers=first)
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == '"client";q=4;w=60'
        assert remaining(response, "client") == left
    assert_too_many(await http.get("/v1/organizations", headers=first), "client")
    assert (await http.get("/v1/me", headers=second)).status_code == 200
    # The address's own budget was not touched by either client.
    assert remaining(await http.get(PUBLIC), "anonymous") == 2


async def test_a_client_keeps_its_budget_across_addresses(
    caller: MakeClient, tokens: list[dict[str, str]]
) -> None:
    for index in range(4):
        assert (
            await (await caller(f"192.0.2.{index + 10}")).get("/v1/me", headers=tokens[0])
        ).status_code == 200
    assert (await (await caller("192.0.2.99")).get("/v1/me", headers=tokens[0])).status_code == 429


async def test_a_request_the_scope_refuses_still_counts_for_its_client(
    app: FastAPI, caller: MakeClient
) -> None:
    client_id, secret = await register_client(app, "integration")
    headers = await token_of(await caller("198.51.100.7"), client_id, secret)
    http = await caller()
    forbidden = await http.post("/v1/organizations", json={"name": "X"}, headers=headers)
    assert forbidden.status_code == 403
    assert remaining(forbidden, "client") == 3


async def test_forged_tokens_spend_the_address_budget(caller: MakeClient) -> None:
    """A token that fails validation earns no budget: each counts against the address, and
    once it is spent even a new forged token gets a 429, not another 401."""
    http = await caller("192.0.2.5")
    for left in (2, 1, 0):
        forged = {"Authorization": f"Bearer {uuid.uuid4().hex}"}
        response = await http.get("/v1/organizations", headers=forged)
        assert response.status_code == 401
        assert remaining(response, "anonymous") == left
    forged = {"Authorization": f"Bearer {uuid.uuid4().hex}"}
    assert_too_many(await http.get("/v1/organizations", headers=forged), "anonymous")
    assert (await (await caller("192.0.2.6")).get(PUBLIC)).status_code == 200


async def test_a_bearer_request_no_route_takes_up_counts_against_the_address(
    caller: MakeClient,
) -> None:
    http = await caller()
    bearer = {"Authorization": "Bearer anything"}
    for left in (2, 1, 0):
        missing = await http.get("/v1/no-such-thing", headers=bearer)
        assert missing.status_code == 404
        assert remaining(missing, "anonymous") == left
    assert_too_many(await http.get(PUBLIC), "anonymous")


async def test_a_spent_budget_is_refused_before_the_body_is_read(
    caller: MakeClient, tokens: list[dict[str, str]]
) -> None:
    """Whatever the body (here one that is not even JSON), a request is counted and refused as
    it arrives: with a valid token against its client, with a forged one or none against its
    address. Nothing past a spent budget makes the service read or parse a body."""
    malformed = {"Content-Type": "application/json"}
    http = await caller("192.0.2.40")
    for left in (3, 2, 1, 0):
        response = await http.post(
            "/v1/organizations", content=b"{", headers={**tokens[0], **malformed}
        )
        assert response.status_code == 400
        assert remaining(response, "client") == left
    refused = await http.post("/v1/organizations", content=b"{", headers={**tokens[0], **malformed})
    assert_too_many(refused, "client")

    stranger = await caller("192.0.2.41")
    forged = {"Authorization": f"Bearer a{uuid.uuid4().hex}.b.c", **malformed}
    for left in (2, 1, 0):
        response = await stranger.patch(
            f"/v1/organizations/{uuid.uuid4()}", content=b"{", headers=forged
        )
        assert response.status_code in (400, 401)
        assert remaining(response, "anonymous") == left
    refused = await stranger.patch(
        f"/v1/organizations/{uuid.uuid4()}", content=b"{", headers=forged
    )
    assert_too_many(refused, "anonymous")
    nobody = await stranger.post("/v1/organizations", content=b"{", headers=malformed)
    assert_too_many(nobody, "anonymous")


async def test_a_token_on_a_public_route_counts_against_the_address(
    caller: MakeClient, tokens: list[dict[str, str]]
) -> None:
    response = await (await caller()).get(PUBLIC, headers=tokens[0])
    assert remaining(response, "anonymous") == 2
    assert "client" not in response.headers["ratelimit"]


# --- Failed token requests: per client id and per address --------------------------------------


async def test_failed_client_authentications_lock_the_client_id(database_url: str) -> None:
    app = create_app(limited_settings(database_url, rate_limit_anonymous="100/minute"))
    client_id, secret = await register_client(app, "secretariat")
    async with clients_of(app) as caller:
        data = {"grant_type": "client_credentials"}
        for index, left in enumerate((1, 0)):
            # Guesses from addresses of their own: only the client id's budget is shared.
            guess = await (await caller(f"203.0.113.{index + 1}")).post(
                "/oauth/token", data=data, auth=(client_id, "wrong")
            )
            assert guess.status_code == 401
            assert guess.json()["error"] == "invalid_client"
            assert remaining(guess, "failed-auth-client") == left
        # Now even the right secret waits for the window to end: guessing is over.
        right = await (await caller("203.0.113.9")).post(
            "/oauth/token", data=data, auth=(client_id, secret)
        )
        assert_too_many(right, "failed-auth-client")
        other_id, other_secret = await register_client(app, "bureau")
        issued = await (await caller("203.0.113.9")).post(
            "/oauth/token", data=data, auth=(other_id, other_secret)
        )
        assert issued.status_code == 200
        assert remaining(issued, "failed-auth-client") == 2
    await app.state.database.dispose()


async def test_failed_client_authentications_lock_the_address(database_url: str) -> None:
    """One address guessing secrets of many client ids is stopped too."""
    app = create_app(limited_settings(database_url, rate_limit_anonymous="100/minute"))
    client_id, secret = await register_client(app, "secretariat")
    async with clients_of(app) as caller:
        http = await caller("203.0.113.50")
        data = {"grant_type": "client_credentials"}
        for _ in range(2):
            guess = await http.post("/oauth/token", data=data, auth=(uuid.uuid4().hex, "x"))
            assert guess.status_code == 401
        refused = await http.post("/oauth/token", data=data, auth=(client_id, secret))
        assert_too_many(refused, "failed-auth-address")
        # A successful request counts no failure; elsewhere the client is served.
        assert (
            await (await caller("203.0.113.51")).post(
                "/oauth/token", data=data, auth=(client_id, secret)
            )
        ).status_code == 200
    await app.state.database.dispose()


# --- The caller's address behind proxies -------------------------------------------------------


async def test_a_forged_forwarded_for_changes_nothing_from_an_untrusted_peer(
    caller: MakeClient,
) -> None:
    http = await caller("192.0.2.77")  # not a trusted proxy
    for index in range(3):
        forged = {"X-Forwarded-For": f"198.51.100.{index + 1}"}
        assert (await http.get(PUBLIC, headers=forged)).status_code == 200
    refused = await http.get(PUBLIC, headers={"X-Forwarded-For": "198.51.100.200"})
    assert refused.status_code == 429


async def test_a_trusted_proxy_names_the_caller(caller: MakeClient) -> None:
    proxy = await caller("10.1.2.3")
    behind = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(3):
        assert (await proxy.get(PUBLIC, headers=behind)).status_code == 200
    assert (await proxy.get(PUBLIC, headers=behind)).status_code == 429
    # Another caller behind the same proxy, and the proxy's own address, have their budgets.
    assert (await proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.8"})).status_code == 200
    assert (await proxy.get(PUBLIC)).status_code == 200


async def test_a_malformed_forwarded_for_is_no_error(caller: MakeClient) -> None:
    proxy = await caller("10.1.2.3")
    for value in ("not an address", "", ",,,", "1.2.3.4.5", "[::1", "203.0.113.7, \x7f"):
        response = await proxy.get(PUBLIC, headers={"X-Forwarded-For": value})
        assert response.status_code in (200, 429)


def _scope(peer: str | None) -> dict[str, Any]:
    return {"type": "http", "client": (peer, 1) if peer is not None else None}


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No trusted peer: the header is not read at all.
        ("192.0.2.1", [b"203.0.113.1"], "192.0.2.1"),
        # A trusted peer: the right-most address that is not a trusted proxy.
        ("10.1.0.1", [b"203.0.113.1"], "203.0.113.1"),
        ("10.1.0.1", [b"198.51.100.1, 203.0.113.1, 10.1.0.9"], "203.0.113.1"),
        # Several lines of the header are one list, in order: the proxy's line is the last.
        ("10.1.0.1", [b"198.51.100.66", b"203.0.113.2"], "203.0.113.2"),
        # Ports and brackets as some proxies write them.
        ("10.1.0.1", [b"203.0.113.3:4711"], "203.0.113.3"),
        ("10.1.0.1", [b"[2001:db8:5::1]:443"], "2001:db8:5::/64"),
        # Every hop a trusted proxy: the one furthest from the service.
        ("10.1.0.1", [b"10.1.0.2, 10.1.0.3"], "10.1.0.2"),
        # Not an address: the walk stops, and the last address found counts.
        ("10.1.0.1", [b"203.0.113.4, garbage"], "10.1.0.1"),
        ("10.1.0.1", [b"garbage, 203.0.113.4"], "203.0.113.4"),
        # IPv6 peers count by /64; an IPv4-mapped peer as its IPv4 address.
        ("2001:db8:7::1", [], "2001:db8:7::/64"),
        ("::ffff:192.0.2.8", [], "192.0.2.8"),
        ("2001:db8:ffff::1", [b"2001:db8:8::9"], "2001:db8:8::/64"),
        # No peer at all (a server that does not say).
        (None, [b"203.0.113.1"], "unknown"),
    ],
)
def test_the_callers_address(peer: str | None, forwarded: list[bytes], expected: str) -> None:
    addresses = Addresses(parse_networks(TRUSTED))
    assert addresses.of(_scope(peer), forwarded) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert Addresses().of(_scope("10.1.0.1"), [b"203.0.113.1"]) == "10.1.0.1"
    assert ipaddress.ip_address(Addresses().of(_scope("192.0.2.1"), []))


# --- Settings and contract --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("rate_limit_anonymous", "lots"),
        ("rate_limit_client", "0/minute"),
        ("rate_limit_token_failures", "10/fortnight"),
        ("trusted_proxies", "10.0.0.0/33"),
        ("trusted_proxies", "proxy.example"),
        ("rate_limit_storage", "memcached://127.0.0.1:11211"),
    ],
)
def test_settings_refuse_what_they_cannot_use(name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **{name: value})  # type: ignore[arg-type]


def test_settings_defaults_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)
    assert settings.rate_limit_enabled is True
    assert (settings.rate_limit_anonymous, settings.rate_limit_client) == (
        "120/minute",
        "600/minute",
    )
    assert settings.rate_limit_token_failures == "10/minute"
    assert settings.rate_limit_storage is None
    assert settings.trusted_proxies == []
    monkeypatch.setenv("IPPC_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    monkeypatch.setenv("IPPC_RATE_LIMIT_STORAGE", "redis://127.0.0.1:6379/0")
    settings = Settings(_env_file=None)
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    assert settings.rate_limit_storage is not None
    assert "6379" not in repr(settings)  # the URL may hold a password: a secret


def test_the_contract_declares_the_limits(app: FastAPI) -> None:
    """Every operation declares its 429 with Retry-After, and every response the RateLimit
    fields (and the CORS headers, which the edge adds to every response too)."""
    schema = app.openapi()
    assert {"RateLimit-Policy", "RateLimit", "Retry-After"} <= set(schema["components"]["headers"])
    every = {"RateLimit-Policy", "RateLimit", "Access-Control-Allow-Origin"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "Retry-After" in responses["429"]["headers"], (method, path)
            for status, response in responses.items():
                assert every <= set(response["headers"]), (method, path, status)
