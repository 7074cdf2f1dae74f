"""The scenarios the bench measures, as data.

A scenario names the server it drives (the service or the bare baseline), the status its
requests must get, and how to build the cycle of requests it sends from the `Fixtures`: the
load generator sends them in turn, round and round, over every connection. To measure a new
resource: seed its rows (`bench/seed.py`), collect what its requests need in `prepare` (ids,
cursors, tags), and add its scenarios to `SCENARIOS`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

import httpx

# The organizations list's page size in the list scenario, as the issue states it.
PAGE_SIZE = 50


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Fixtures:
    """What the scenarios' requests draw on, collected once from the running service."""

    token: str
    token_issued_at: float = field(default_factory=time.monotonic)
    # Every page of the organizations list (the first, then one per cursor), as paths.
    organization_pages: list[str] = field(default_factory=list)
    # Every organization's id, shuffled (so that reads do not follow the index's order).
    organization_ids: list[str] = field(default_factory=list)
    # The strong ETag of the strategic objectives list.
    objectives_etag: str = ""
    # Every page of the interactions and agreements lists, as paths.
    interaction_pages: list[str] = field(default_factory=list)
    agreement_pages: list[str] = field(default_factory=list)
    # Every page of the decisions list, and every decision's id, shuffled.
    decision_pages: list[str] = field(default_factory=list)
    decision_ids: list[str] = field(default_factory=list)
    # Every page of the public agreements list, every public agreement's id (shuffled), and the
    # first page's ETag.
    public_pages: list[str] = field(default_factory=list)
    public_ids: list[str] = field(default_factory=list)
    public_etag: str = ""

    def bearer(self) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {self.token}"),)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    requests: Callable[[Fixtures], Sequence[Request]]
    server: Literal["service", "baseline"] = "service"
    expect: int = 200


BASELINE = Scenario(
    "baseline",
    "GET /hello (a bare FastAPI app)",
    lambda _: [Request("GET", "/hello")],
    server="baseline",
)

# The public list "uncached": each request's query differs from every other in the cycle (an
# extra parameter the list ignores), so no answer the service keeps is ever asked for again
# (the cycle is longer than the answers it keeps, `core.kept.MAX_KEPT_ANSWERS`).
UNCACHED_CYCLE = 2_000


def _uncached_public_pages(fixtures: Fixtures) -> list[Request]:
    pages = fixtures.public_pages
    return [
        Request("GET", f"{pages[index % len(pages)]}&bench-nonce={index}")
        for index in range(UNCACHED_CYCLE)
    ]


SCENARIOS: tuple[Scenario, ...] = (
    BASELINE,
    Scenario("healthz", "GET /healthz", lambda _: [Request("GET", "/healthz")]),
    Scenario(
        "objectives",
        "GET /v1/strategic-objectives (public, 7 rows)",
        lambda _: [Request("GET", "/v1/strategic-objectives")],
    ),
    Scenario(
        "objectives-304",
        "GET /v1/strategic-objectives with If-None-Match (304)",
        lambda fixtures: [
            Request(
                "GET",
                "/v1/strategic-objectives",
                (("If-None-Match", fixtures.objectives_etag),),
            )
        ],
        expect=304,
    ),
    Scenario(
        "organizations-list",
        f"GET /v1/organizations?limit={PAGE_SIZE}, pages from every position",
        lambda fixtures: [
            Request("GET", path, fixtures.bearer()) for path in fixtures.organization_pages
        ],
    ),
    Scenario(
        "interactions-list",
        f"GET /v1/interactions?limit={PAGE_SIZE} (latest first), pages from every position",
        lambda fixtures: [
            Request("GET", path, fixtures.bearer()) for path in fixtures.interaction_pages
        ],
    ),
    Scenario(
        "agreements-list",
        f"GET /v1/agreements?limit={PAGE_SIZE}&sort=start_date (NULLs last), pages from "
        "every position",
        lambda fixtures: [
            Request("GET", path, fixtures.bearer()) for path in fixtures.agreement_pages
        ],
    ),
    Scenario(
        "decisions-list",
        f"GET /v1/decisions?limit={PAGE_SIZE} (latest first), pages from every position",
        lambda fixtures: [
            Request("GET", path, fixtures.bearer()) for path in fixtures.decision_pages
        ],
    ),
    Scenario(
        "organization-read",
        "GET /v1/organizations/{id}, every id in turn",
        lambda fixtures: [
            Request("GET", f"/v1/organizations/{id_}", fixtures.bearer())
            for id_ in fixtures.organization_ids
        ],
    ),
    Scenario(
        "decision-read",
        "GET /v1/decisions/{id}, every id in turn",
        lambda fixtures: [
            Request("GET", f"/v1/decisions/{id_}", fixtures.bearer())
            for id_ in fixtures.decision_ids
        ],
    ),
    Scenario(
        "public-list",
        f"GET /v1/public/agreements?limit={PAGE_SIZE}, pages from every position, none kept",
        _uncached_public_pages,
    ),
    Scenario(
        "public-list-repeated",
        f"GET /v1/public/agreements?limit={PAGE_SIZE}, the same page while nothing changes",
        lambda fixtures: [Request("GET", fixtures.public_pages[0])],
    ),
    Scenario(
        "public-list-304",
        f"GET /v1/public/agreements?limit={PAGE_SIZE} with If-None-Match (304)",
        lambda fixtures: [
            Request("GET", fixtures.public_pages[0], (("If-None-Match", fixtures.public_etag),))
        ],
        expect=304,
    ),
    Scenario(
        "public-read",
        "GET /v1/public/agreements/{id}, every public id in turn",
        lambda fixtures: [
            Request("GET", f"/v1/public/agreements/{id_}") for id_ in fixtures.public_ids
        ],
    ),
    Scenario(
        "public-csv",
        "GET /v1/public/agreements?format=csv, every public agreement",
        lambda _: [Request("GET", "/v1/public/agreements?format=csv")],
    ),
)

NAMES = tuple(scenario.name for scenario in SCENARIOS)


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)


def fetch_token(service: httpx.Client, client_id: str, secret: str) -> str:
    """An access token from the service's own token endpoint."""
    response = service.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def walk(
    service: httpx.Client, headers: dict[str, str], path: str, query: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Every page of a list, from its first: their paths, and the ids of their items."""
    pages: list[str] = []
    ids: list[str] = []
    query = {"limit": str(PAGE_SIZE), **query}
    while True:
        page_path = f"{path}?{urlencode(query)}"
        response = service.get(page_path, headers=headers)
        response.raise_for_status()
        page = response.json()
        pages.append(page_path)
        ids.extend(item["id"] for item in page["items"])
        if not page["next_cursor"]:
            return pages, ids
        query["cursor"] = page["next_cursor"]


def prepare(service: httpx.Client, token: str) -> Fixtures:
    """Walk the organizations, interactions, agreements, decisions and public agreements lists
    once (every page's path, and every organization's, decision's and public agreement's id)
    and read the ETags of the strategic objectives and of the public list's first page."""
    fixtures = Fixtures(token=token)
    headers = dict(fixtures.bearer())
    fixtures.organization_pages, fixtures.organization_ids = walk(
        service, headers, "/v1/organizations", {}
    )
    fixtures.interaction_pages, _ = walk(service, headers, "/v1/interactions", {})
    fixtures.agreement_pages, _ = walk(service, headers, "/v1/agreements", {"sort": "start_date"})
    fixtures.decision_pages, fixtures.decision_ids = walk(service, headers, "/v1/decisions", {})
    fixtures.public_pages, fixtures.public_ids = walk(service, {}, "/v1/public/agreements", {})
    random.Random(2).shuffle(fixtures.public_ids)  # noqa: S311 (an order, not a secret)
    first_public = service.get(fixtures.public_pages[0])
    first_public.raise_for_status()
    fixtures.public_etag = first_public.headers["ETag"]
    random.Random(0).shuffle(fixtures.organization_ids)  # noqa: S311 (an order, not a secret)
    random.Random(1).shuffle(fixtures.decision_ids)  # noqa: S311 (an order, not a secret)
    objectives = service.get("/v1/strategic-objectives")
    objectives.raise_for_status()
    fixtures.objectives_etag = objectives.headers["ETag"]
    return fixtures
