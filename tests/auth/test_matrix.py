"""The authorization matrix: who may call each operation, written out from design §4 as a table,
and checked against the service as it answers.

`MATRIX` names every operation the app serves (method and path, as the routes declare them;
HEAD and OPTIONS aside) with the access it needs: `PUBLIC`, `ANY_TOKEN` (any valid token), or
one scope. A test fails when the app has an operation the table lacks (add each new route to the
table, from the design) or the table names one the app lacks. Each operation is then one case:
without a token it answers 401 with a Bearer challenge (unless public); with a token of each role
it answers 403 exactly when the role lacks the table's scope, and otherwise something that is
neither 401, 403 nor a 5xx. The routes' own declarations are checked against the table too, and
so are the scopes the contract shows."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.auth.dependencies import authenticate, public, require
from app.auth.scopes import ROLE_SCOPES, SCOPE_DESCRIPTIONS, Role, Scope
from tests.conftest import register_client

PUBLIC: Final = "public"
ANY_TOKEN: Final = "any valid token"
Access = Scope | str

# Design §4: the scopes, the roles, and what is public (the public transparency API, the strategic
# objectives, the operational endpoints, the embedded issuer's token endpoint, keys and metadata).
MATRIX: dict[tuple[str, str], Access] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/problems/{slug}"): PUBLIC,
    ("POST", "/oauth/token"): PUBLIC,
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    ("GET", "/.well-known/oauth-authorization-server"): PUBLIC,
    ("GET", "/v1/strategic-objectives"): PUBLIC,
    ("GET", "/v1/strategic-objectives/{code}"): PUBLIC,
    ("GET", "/v1/public/agreements"): PUBLIC,
    ("GET", "/v1/public/agreements/{agreement_id}"): PUBLIC,
    ("GET", "/v1/public/interactions"): PUBLIC,
    ("GET", "/v1/public/interactions/{interaction_id}"): PUBLIC,
    ("GET", "/v1/public/organizations/{organization_id}"): PUBLIC,
    ("GET", "/v1/public/engagement-balance"): PUBLIC,
    ("GET", "/v1/me"): ANY_TOKEN,
    ("GET", "/v1/organizations"): Scope.registry_read,
    ("POST", "/v1/organizations"): Scope.registry_write,
    ("GET", "/v1/organizations/{organization_id}"): Scope.registry_read,
    ("PATCH", "/v1/organizations/{organization_id}"): Scope.registry_write,
    ("DELETE", "/v1/organizations/{organization_id}"): Scope.registry_write,
    ("GET", "/v1/organizations/{organization_id}/interactions"): Scope.registry_read,
    ("GET", "/v1/organizations/{organization_id}/agreements"): Scope.registry_read,
    ("GET", "/v1/interactions"): Scope.registry_read,
    ("POST", "/v1/interactions"): Scope.registry_write,
    ("GET", "/v1/interactions/{interaction_id}"): Scope.registry_read,
    ("PATCH", "/v1/interactions/{interaction_id}"): Scope.registry_write,
    ("DELETE", "/v1/interactions/{interaction_id}"): Scope.registry_write,
    ("GET", "/v1/agreements"): Scope.registry_read,
    ("POST", "/v1/agreements"): Scope.registry_write,
    ("GET", "/v1/agreements/{agreement_id}"): Scope.registry_read,
    ("PATCH", "/v1/agreements/{agreement_id}"): Scope.registry_write,
    ("DELETE", "/v1/agreements/{agreement_id}"): Scope.registry_write,
    ("GET", "/v1/agreements/{agreement_id}/due-diligence"): Scope.registry_read,
    ("PUT", "/v1/agreements/{agreement_id}/due-diligence"): Scope.registry_write,
    ("POST", "/v1/agreements/{agreement_id}/submit"): Scope.registry_write,
    ("POST", "/v1/agreements/{agreement_id}/withdraw"): Scope.registry_write,
    ("POST", "/v1/agreements/{agreement_id}/activate"): Scope.registry_write,
    ("POST", "/v1/agreements/{agreement_id}/suspend"): Scope.registry_write,
    ("POST", "/v1/agreements/{agreement_id}/resume"): Scope.registry_write,
    ("POST", "/v1/agreements/{agreement_id}/terminate"): Scope.registry_write,
    ("POST", "/v1/agreements/{agreement_id}/close"): Scope.registry_write,
    ("GET", "/v1/agreements/{agreement_id}/history"): Scope.registry_read,
    ("POST", "/v1/agreements/{agreement_id}/decisions"): Scope.decisions_write,
    ("GET", "/v1/agreements/{agreement_id}/decisions"): Scope.registry_read,
    ("GET", "/v1/decisions"): Scope.registry_read,
    ("GET", "/v1/decisions/{decision_id}"): Scope.registry_read,
    ("POST", "/v1/interest-declarations"): Scope.decisions_write,
    ("GET", "/v1/interest-declarations"): Scope.registry_read,
    ("GET", "/v1/interest-declarations/{declaration_id}"): Scope.registry_read,
    ("PATCH", "/v1/interest-declarations/{declaration_id}"): Scope.decisions_write,
    ("GET", "/v1/audit-events"): Scope.audit_read,
    ("GET", "/v1/audit-events/{event_id}"): Scope.audit_read,
    ("GET", "/v1/reports/summary"): Scope.registry_read,
    ("GET", "/v1/reports/engagement-balance"): Scope.registry_read,
}

# Values for path parameters (a parameter named `id` or `*_id` gets a new UUID).
PATH_VALUES = {"slug": "validation", "code": "2020-2030.A", "event_id": "1"}

# What each operation is sent, when a bare request would not reach its rules (each still acts on
# nothing that exists, or on what the test makes). Other writes get an empty JSON object.
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/organizations"): {"json": {"name": "Matrix probe"}},
    ("PATCH", "/v1/organizations/{organization_id}"): {
        "content": b"{}",
        "headers": {"Content-Type": "application/merge-patch+json", "If-Match": "*"},
    },
    ("DELETE", "/v1/organizations/{organization_id}"): {"headers": {"If-Match": "*"}},
    ("POST", "/v1/interactions"): {
        "json": {
            "occurred_on": "2026-11-02",
            "channel": "meeting",
            "subject": "Matrix probe",
            "organization_ids": ["00000000-0000-4000-8000-000000000000"],
        }
    },
    ("PATCH", "/v1/interactions/{interaction_id}"): {
        "content": b"{}",
        "headers": {"Content-Type": "application/merge-patch+json", "If-Match": "*"},
    },
    ("DELETE", "/v1/interactions/{interaction_id}"): {"headers": {"If-Match": "*"}},
    ("POST", "/v1/agreements"): {
        "json": {"title": "Matrix probe", "level": "partnership", "instrument": "letter_of_intent"}
    },
    ("PATCH", "/v1/agreements/{agreement_id}"): {
        "content": b"{}",
        "headers": {"Content-Type": "application/merge-patch+json", "If-Match": "*"},
    },
    ("DELETE", "/v1/agreements/{agreement_id}"): {"headers": {"If-Match": "*"}},
    ("PUT", "/v1/agreements/{agreement_id}/due-diligence"): {
        "json": {"risk_level": "low", "undue_influence_assessment": "Matrix probe"}
    },
    ("POST", "/v1/agreements/{agreement_id}/decisions"): {
        "json": {
            "governing_body": "bureau",
            "outcome": "approved",
            "rationale": "Matrix probe",
            "meeting_reference": "Matrix probe",
        }
    },
    ("POST", "/v1/interest-declarations"): {
        "json": {
            "organization_id": "00000000-0000-4000-8000-000000000000",
            "nature": "Matrix probe",
        }
    },
    ("PATCH", "/v1/interest-declarations/{declaration_id}"): {
        "content": b"{}",
        "headers": {"Content-Type": "application/merge-patch+json", "If-Match": "*"},
    },
}
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
ROLES = tuple(Role)
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}")


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _walk(child)


@dataclass(frozen=True)
class Route:
    """An operation as mounted: its full path and its dependencies merged with its routers'."""

    path: str
    methods: frozenset[str]
    dependant: Dependant


def api_routes(app: FastAPI) -> list[Route]:
    """Every API route of the app as served (FastAPI mounts included routers lazily)."""
    return [
        Route(context.path_format, frozenset(context.methods or ()), context.dependant)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path_format
    ]


def operations(app: FastAPI) -> dict[tuple[str, str], Route]:
    """(method, path) -> route, for each method the routes declare (HEAD and OPTIONS aside)."""
    return {
        (method, route.path): route
        for route in api_routes(app)
        for method in route.methods - IGNORED_METHODS
    }


def access_of(route: Route) -> tuple[bool, frozenset[str] | None]:
    """(public?, the scopes required or None when no `require(...)` guards the route)."""
    is_public = False
    scopes: set[str] | None = None
    for dependant in _walk(route.dependant):
        if dependant.call is public:
            is_public = True
        if dependant.call is authenticate:
            scopes = (scopes or set()) | set(dependant.own_oauth_scopes or ())
            scopes |= set(dependant.parent_oauth_scopes or ())
    return is_public, (frozenset(scopes) if scopes is not None else None)


def declared_as(access: Access) -> tuple[bool, frozenset[str] | None]:
    """What `access_of` reads from a route declared with `access`."""
    if access == PUBLIC:
        return True, None
    if access == ANY_TOKEN:
        return False, frozenset()
    return False, frozenset({Scope(access).value})


def unguarded_routes(app: FastAPI) -> list[str]:
    return [
        f"{sorted(route.methods)} {route.path}"
        for route in api_routes(app)
        if access_of(route) == (False, None)
    ]


def concrete_path(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PATH_VALUES:
            return PATH_VALUES[name]
        if name == "id" or name.endswith("_id"):
            return str(uuid.uuid4())
        raise AssertionError(f"give the path parameter {name!r} a value in PATH_VALUES")

    return _PATH_PARAM.sub(value, path)


def role_may(role: Role, access: Access) -> bool:
    return access in (PUBLIC, ANY_TOKEN) or Scope(access) in ROLE_SCOPES[role]


async def check_operation(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    access: Access,
    headers_for: Callable[[str], dict[str, str]],
    request: dict[str, Any] | None = None,
) -> list[str]:
    """What the operation answers wrongly, without a token and with each role's (empty when
    all is well)."""
    options = dict(request or REQUESTS.get((method, path)) or {})
    if not options and method in ("POST", "PUT", "PATCH"):
        options = {"json": {}}
    extra_headers = options.pop("headers", {})
    url = concrete_path(path)
    wrong: list[str] = []

    def refused(response: httpx.Response) -> bool:
        return response.status_code in (401, 403) or response.status_code >= 500

    anonymous = await client.request(method, url, headers=extra_headers, **options)
    challenge = anonymous.headers.get("www-authenticate", "")
    if access == PUBLIC:
        if refused(anonymous):
            wrong.append(f"{method} {path} without token: {anonymous.status_code}, expected access")
    elif anonymous.status_code != 401 or not challenge.startswith("Bearer"):
        wrong.append(f"{method} {path} without token: {anonymous.status_code} {challenge!r}")
    for role in ROLES:
        headers = {**extra_headers, **headers_for(role)}
        response = await client.request(method, url, headers=headers, **options)
        if role_may(role, access):
            if refused(response):
                wrong.append(f"{method} {path} as {role}: {response.status_code}, expected access")
        elif response.status_code != 403:
            wrong.append(f"{method} {path} as {role}: {response.status_code}, expected 403")
    return wrong


def test_the_matrix_names_every_operation_of_the_app_and_no_other(app: FastAPI) -> None:
    served = set(operations(app))
    assert sorted(served - set(MATRIX)) == [], "operations missing from MATRIX (add them)"
    assert sorted(set(MATRIX) - served) == [], "MATRIX names operations the app lacks"


@pytest.mark.parametrize(
    ("method", "path"), sorted(MATRIX), ids=[f"{m} {p}" for m, p in sorted(MATRIX)]
)
async def test_operation_answers_each_role_as_the_matrix_says(
    method: str,
    path: str,
    app: FastAPI,
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
) -> None:
    access = MATRIX[(method, path)]
    route = operations(app).get((method, path))
    assert route is not None, f"the app does not serve {method} {path}"
    request = None
    if (method, path) == ("POST", "/oauth/token"):
        client_id, secret = await register_client(app, "integration")
        form = {"grant_type": "client_credentials", "client_id": client_id}
        request = {"data": {**form, "client_secret": secret}}
    wrong = await check_operation(client, method, path, access, auth_headers, request)
    if access_of(route) != declared_as(access):
        wrong.append(f"{method} {path} is declared {access_of(route)}, not {access!r}")
    assert wrong == []


def test_every_route_is_public_or_guarded(app: FastAPI) -> None:
    assert api_routes(app), "the app has no routes?"
    assert unguarded_routes(app) == []


def test_the_check_finds_an_unguarded_route(app: FastAPI) -> None:
    stray = APIRouter()

    @stray.get("/v1/stray")
    async def get_stray() -> dict[str, str]:
        return {}

    app.include_router(stray)
    assert unguarded_routes(app) == ["['GET'] /v1/stray"]


def _probe(app: FastAPI, declared: Scope, *, fails: bool = False) -> str:
    """A decisions route of the kind later issues add, declared with `declared`; `fails`
    makes it answer 500 to whoever gets through."""
    probe = APIRouter()

    @probe.post("/v1/probe/{decision_id}/record", dependencies=[require(declared)])
    async def record_probe_decision(
        decision_id: uuid.UUID, payload: dict[str, str]
    ) -> dict[str, str]:
        if fails:
            raise RuntimeError("a defect")
        return {"recorded": str(decision_id)}

    app.include_router(probe)
    return "/v1/probe/{decision_id}/record"


async def test_the_check_sees_a_scope_a_role_lacks(
    app: FastAPI, client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    """The Bureau may record a decision, the Secretariat may not, and says so as RFC 6750 asks."""
    path = _probe(app, Scope.decisions_write)
    assert access_of(operations(app)[("POST", path)]) == declared_as(Scope.decisions_write)
    check = await check_operation(client, "POST", path, Scope.decisions_write, auth_headers)
    assert check == []

    url = concrete_path(path)
    refused = await client.post(url, json={}, headers=auth_headers("secretariat"))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/forbidden"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert 'scope="decisions:write"' in refused.headers["www-authenticate"]
    accepted = await client.post(url, json={}, headers=auth_headers("bureau"))
    assert accepted.status_code == 200


async def test_the_check_finds_a_route_declared_with_the_wrong_scope(
    app: FastAPI, client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    path = _probe(app, Scope.registry_read)
    wrong = await check_operation(client, "POST", path, Scope.decisions_write, auth_headers)
    assert sorted(wrong) == [
        f"POST {path} as integration: 200, expected 403",
        f"POST {path} as secretariat: 200, expected 403",
    ]
    assert access_of(operations(app)[("POST", path)]) != declared_as(Scope.decisions_write)


async def test_the_check_finds_a_server_error_behind_the_guard(
    app: FastAPI, client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    path = _probe(app, Scope.decisions_write, fails=True)
    wrong = await check_operation(client, "POST", path, Scope.decisions_write, auth_headers)
    assert wrong == [f"POST {path} as bureau: 500, expected access"]


def test_the_contract_declares_the_scheme_and_each_operations_scopes(app: FastAPI) -> None:
    contract = app.openapi()
    scheme = contract["components"]["securitySchemes"]["OAuth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert scheme["type"] == "oauth2"
    assert flow["tokenUrl"] == "/oauth/token"
    assert flow["scopes"] == {scope.value: text for scope, text in SCOPE_DESCRIPTIONS.items()}
    for (method, path), access in MATRIX.items():
        operation = contract["paths"][path][method.lower()]
        name = f"{method} {path}"
        if access == PUBLIC and path == "/oauth/token":
            # No token; the client authenticates with HTTP Basic, or in the form.
            assert operation["security"] == [{"ClientSecretBasic": []}, {}], name
            continue
        if access == PUBLIC:
            assert operation["security"] == [], name  # says so: anonymous
            continue
        scopes = sorted(declared_as(access)[1] or ())
        assert operation["security"] == [{"OAuth2": scopes}], name
        assert {"401", "403"} <= set(operation["responses"]), name
