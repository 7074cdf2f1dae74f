"""The scenarios the bench measures, as data.

A scenario names the server it drives (the service or the bare baseline), the status its
requests must get, the groups it belongs to, and how to build the cycle of requests it sends
from the `Fixtures`: the load generator sends them in turn, round and round, over every
connection. To measure a new resource: seed its rows (`bench/seed.py`), collect what its
requests need in `prepare` (ids, tags), and add its scenarios to `SCENARIOS`; a new list only
needs a `ListPages` in `LISTS` (and its route in `positions.routes`).

Groups: `default`, the run's own (what the floors of docs/performance.md are written against),
and `lists`, every list scenario: each list with every sort and its common filters, internal and
public, for the scale table (`--scale`). A list scenario of the default run is in both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx

from bench import positions

# The page size of the list scenarios, as the issue states it.
PAGE_SIZE = 50
DEFAULT = "default"
LISTS_GROUP = "lists"
GROUPS = (DEFAULT, LISTS_GROUP)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Fixtures:
    """What the scenarios' requests draw on, collected once the service is up."""

    token: str
    token_issued_at: float = field(default_factory=time.monotonic)
    # Each list scenario's pages, as paths: its first page, then the pages after rows drawn at
    # random from the whole filtered list (`bench.positions`).
    pages: dict[str, list[str]] = field(default_factory=dict)
    # Ids to read in turn (every one, shuffled, or as many drawn at random): organizations,
    # decisions, public agreements.
    organization_ids: list[str] = field(default_factory=list)
    decision_ids: list[str] = field(default_factory=list)
    public_ids: list[str] = field(default_factory=list)
    # The strong ETags of the strategic objectives list and of the public list's first page.
    objectives_etag: str = ""
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
    groups: frozenset[str] = frozenset({DEFAULT})


BASELINE = Scenario(
    "baseline",
    "GET /hello (a bare FastAPI app)",
    lambda _: [Request("GET", "/hello")],
    server="baseline",
    groups=frozenset(GROUPS),
)

# The public lists "uncached": each request's query differs from every other in the cycle (an
# extra parameter the list ignores), so no answer the service keeps is ever asked for again
# (the cycle is longer than the answers it keeps, `core.kept.MAX_KEPT_ANSWERS`).
UNCACHED_CYCLE = 2_000


@dataclass(frozen=True)
class ListPages:
    """A list scenario: a list, its filters and sort (`query`, without `limit` or `cursor`),
    paged from random positions (`Fixtures.pages`). A public list is asked anonymously, and
    with a query of its own for each request (none kept)."""

    name: str
    path: str
    query: str
    title: str
    default: bool = False

    @property
    def public(self) -> bool:
        return self.path.startswith("/v1/public/")

    def requests(self, fixtures: Fixtures) -> list[Request]:
        pages = fixtures.pages[self.name]
        if self.public:
            return [
                Request("GET", f"{pages[index % len(pages)]}&bench-nonce={index}")
                for index in range(UNCACHED_CYCLE)
            ]
        return [Request("GET", path, fixtures.bearer()) for path in pages]

    def scenario(self) -> Scenario:
        where = f"?{self.query}" if self.query else ""
        kept = ", none kept" if self.public else ""
        return Scenario(
            self.name,
            f"GET {self.path}{where} ({self.title}), pages from random positions{kept}",
            self.requests,
            groups=frozenset({DEFAULT, LISTS_GROUP} if self.default else {LISTS_GROUP}),
        )


# A word of a third of the seeded titles, subjects and names, with its accents (the search
# is insensitive to them: it finds "Végétaux" and "vegetaux" alike).
TERM = "végétaux"

LISTS: tuple[ListPages, ...] = (
    # The default run's lists (the names its floors are written against).
    ListPages("organizations-list", "/v1/organizations", "", "by name", default=True),
    ListPages("interactions-list", "/v1/interactions", "", "the latest first", default=True),
    ListPages(
        "agreements-list",
        "/v1/agreements",
        "sort=start_date",
        "NULLs last: pages cross them",
        default=True,
    ),
    ListPages("decisions-list", "/v1/decisions", "", "the latest first", default=True),
    ListPages("public-list", "/v1/public/agreements", "", "by title", default=True),
    # Every other sort, and the common filters, of each list.
    ListPages("organizations-by-name-desc", "/v1/organizations", "sort=-name", "by name, down"),
    ListPages("organizations-by-created", "/v1/organizations", "sort=created_at", "oldest first"),
    ListPages(
        "organizations-by-updated", "/v1/organizations", "sort=-updated_at", "latest change first"
    ),
    ListPages("organizations-category", "/v1/organizations", "category=ngo", "one category"),
    ListPages("organizations-country", "/v1/organizations", "country=KE", "one country"),
    ListPages("organizations-q", "/v1/organizations", f"q={TERM}", "a search"),
    ListPages(
        "interactions-by-occurred", "/v1/interactions", "sort=occurred_on", "the oldest first"
    ),
    ListPages("interactions-by-subject", "/v1/interactions", "sort=subject", "by subject"),
    ListPages("interactions-by-created", "/v1/interactions", "sort=created_at", "oldest first"),
    ListPages(
        "interactions-by-updated", "/v1/interactions", "sort=-updated_at", "latest change first"
    ),
    ListPages("interactions-channel", "/v1/interactions", "channel=meeting", "one channel"),
    ListPages("interactions-public", "/v1/interactions", "visibility=public", "public ones"),
    ListPages(
        "interactions-objective",
        "/v1/interactions",
        "strategic_objective=2020-2030.B",
        "one objective",
    ),
    ListPages("interactions-q", "/v1/interactions", f"q={TERM}", "a search"),
    ListPages("agreements-by-title", "/v1/agreements", "", "by title"),
    ListPages(
        "agreements-by-start-date-desc", "/v1/agreements", "sort=-start_date", "NULLs last, down"
    ),
    ListPages("agreements-by-end-date", "/v1/agreements", "sort=end_date", "NULLs last"),
    ListPages(
        "agreements-by-approved-on",
        "/v1/agreements",
        "sort=-approved_on",
        "the latest approved first, most never approved",
    ),
    ListPages("agreements-by-created", "/v1/agreements", "sort=created_at", "oldest first"),
    ListPages("agreements-by-updated", "/v1/agreements", "sort=-updated_at", "latest change first"),
    ListPages("agreements-approved", "/v1/agreements", "status=approved", "one status"),
    ListPages("agreements-level", "/v1/agreements", "level=cooperation", "one level"),
    ListPages(
        "agreements-partner-category",
        "/v1/agreements",
        "partner_category=ngo",
        "a category of partner",
    ),
    ListPages(
        "agreements-objective",
        "/v1/agreements",
        "strategic_objective=2020-2030.A",
        "one objective",
    ),
    ListPages("agreements-q", "/v1/agreements", f"q={TERM}", "a search"),
    ListPages("decisions-by-decided-on", "/v1/decisions", "sort=decided_on", "the oldest first"),
    ListPages("decisions-by-created", "/v1/decisions", "sort=created_at", "oldest first"),
    ListPages(
        "decisions-outcome",
        "/v1/decisions",
        "governing_body=bureau&outcome=approved",
        "one body and outcome",
    ),
    ListPages(
        "public-list-by-approved-on",
        "/v1/public/agreements",
        "sort=-approved_on",
        "the latest approved first",
    ),
    ListPages(
        "public-list-by-start-date", "/v1/public/agreements", "sort=start_date", "NULLs last"
    ),
    ListPages(
        "public-list-partner-category",
        "/v1/public/agreements",
        "partner_category=ngo",
        "a category of partner",
    ),
    ListPages("public-list-q", "/v1/public/agreements", f"q={TERM}", "a search"),
    ListPages("public-interactions-list", "/v1/public/interactions", "", "the latest first"),
    ListPages(
        "public-interactions-by-subject", "/v1/public/interactions", "sort=subject", "by subject"
    ),
    ListPages(
        "public-interactions-channel", "/v1/public/interactions", "channel=meeting", "one channel"
    ),
)
_LIST = {pages.name: pages.scenario() for pages in LISTS}

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
    _LIST["organizations-list"],
    _LIST["interactions-list"],
    _LIST["agreements-list"],
    _LIST["decisions-list"],
    Scenario(
        "organization-read",
        "GET /v1/organizations/{id}, every id in turn (or as many drawn at random)",
        lambda fixtures: [
            Request("GET", f"/v1/organizations/{id_}", fixtures.bearer())
            for id_ in fixtures.organization_ids
        ],
    ),
    Scenario(
        "decision-read",
        "GET /v1/decisions/{id}, every id in turn (or as many drawn at random)",
        lambda fixtures: [
            Request("GET", f"/v1/decisions/{id_}", fixtures.bearer())
            for id_ in fixtures.decision_ids
        ],
    ),
    _LIST["public-list"],
    Scenario(
        "public-list-repeated",
        f"GET /v1/public/agreements?limit={PAGE_SIZE}, the same page while nothing changes",
        lambda fixtures: [Request("GET", fixtures.pages["public-list"][0])],
    ),
    Scenario(
        "public-list-304",
        f"GET /v1/public/agreements?limit={PAGE_SIZE} with If-None-Match (304)",
        lambda fixtures: [
            Request(
                "GET",
                fixtures.pages["public-list"][0],
                (("If-None-Match", fixtures.public_etag),),
            )
        ],
        expect=304,
    ),
    Scenario(
        "public-read",
        "GET /v1/public/agreements/{id}, every public id in turn (or as many drawn at random)",
        lambda fixtures: [
            Request("GET", f"/v1/public/agreements/{id_}") for id_ in fixtures.public_ids
        ],
    ),
    Scenario(
        "public-csv",
        "GET /v1/public/agreements?format=csv, every public agreement",
        lambda _: [Request("GET", "/v1/public/agreements?format=csv")],
    ),
    *(scenario for name, scenario in _LIST.items() if DEFAULT not in scenario.groups),
)

NAMES = tuple(scenario.name for scenario in SCENARIOS)
# What each read scenario reads: the list whose ids it cycles through.
READS = {
    "organization-read": "/v1/organizations",
    "decision-read": "/v1/decisions",
    "public-read": "/v1/public/agreements",
}
# What else needs the public list's first page.
_NEEDS_PUBLIC_LIST = ("public-list-repeated", "public-list-304")


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)


def in_groups(groups: Sequence[str]) -> list[str]:
    """The names of the scenarios in any of `groups`, in their order."""
    return [scenario.name for scenario in SCENARIOS if scenario.groups.intersection(groups)]


def fetch_token(service: httpx.Client, client_id: str, secret: str) -> str:
    """An access token from the service's own token endpoint."""
    response = service.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def prepare(service: httpx.Client, token: str, database_url: str, names: Sequence[str]) -> Fixtures:
    """What the scenarios `names` need: the pages of each list scenario and the ids of each read
    scenario (`bench.positions`, from the database), and the ETags of the strategic objectives
    and of the public list's first page (from the service)."""
    fixtures = Fixtures(token=token)
    wanted = set(names)
    if wanted.intersection(_NEEDS_PUBLIC_LIST):
        wanted.add("public-list")
    lists = {pages.name: (pages.path, pages.query) for pages in LISTS if pages.name in wanted}
    reads = {name: path for name, path in READS.items() if name in wanted}
    fixtures.pages, ids = asyncio.run(
        positions.collect(database_url, lists, list(reads.values()), limit=PAGE_SIZE)
    )
    fixtures.organization_ids = ids.get(READS["organization-read"], [])
    fixtures.decision_ids = ids.get(READS["decision-read"], [])
    fixtures.public_ids = ids.get(READS["public-read"], [])
    if "public-list" in fixtures.pages:
        first_public = service.get(fixtures.pages["public-list"][0])
        first_public.raise_for_status()
        fixtures.public_etag = first_public.headers["ETag"]
    objectives = service.get("/v1/strategic-objectives")
    objectives.raise_for_status()
    fixtures.objectives_etag = objectives.headers["ETag"]
    return fixtures
