"""The authorization matrix, read from `app.routes`: every route is public or guarded by a scope,
and every guarded route answers each role (and no token) as its scopes say. Routes added later
are covered the day they are added: paths, parameters and bodies are made up generically."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.auth.dependencies import authenticate, public, require
from app.auth.scopes import ROLE_SCOPES, SCOPE_DESCRIPTIONS, Principal, Role, Scope
from app.main import create_app
from tests.conftest import make_settings

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
    has_body: bool


def api_routes(app: FastAPI) -> list[Route]:
    """Every API route of the app as served (FastAPI mounts included routers lazily)."""
    routes = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.path_format:
            routes.append(
                Route(
                    path=context.path_format,
                    methods=frozenset(context.methods or ()),
                    dependant=context.dependant,
                    has_body=context.body_field is not None,
                )
            )
    return routes


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


def unguarded_routes(app: FastAPI) -> list[str]:
    return [
        f"{sorted(route.methods)} {route.path}"
        for route in api_routes(app)
        if access_of(route) == (False, None)
    ]


def guarded_routes(app: FastAPI) -> list[Route]:
    return [route for route in api_routes(app) if access_of(route)[1] is not None]


def concrete_path(route: Route) -> str:
    """The route's path with made-up parameters: a random UUID for ids, a word otherwise."""
    types = {field.name: field.field_info.annotation for field in route.dependant.path_params}
    path = route.path

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "id" or name.endswith("_id") or types.get(name) is uuid.UUID:
            return str(uuid.uuid4())
        if types.get(name) is int:
            return "1"
        return "dummy"

    return _PATH_PARAM.sub(value, path)


async def check_route(
    client: httpx.AsyncClient,
    route: Route,
    headers_for: Callable[[str], dict[str, str]],
) -> list[str]:
    """What the route does wrong, for no token and for each role (empty when all is well)."""
    required = access_of(route)[1]
    assert required is not None
    path = concrete_path(route)
    body: dict[str, Any] = {"json": {}} if route.has_body else {}
    wrong: list[str] = []
    for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
        anonymous = await client.request(method, path, **body)
        challenge = anonymous.headers.get("www-authenticate", "")
        if anonymous.status_code != 401 or not challenge.startswith("Bearer"):
            wrong.append(f"{method} {path} without token: {anonymous.status_code} {challenge!r}")
        for role in ROLES:
            response = await client.request(method, path, headers=headers_for(role), **body)
            allowed = required <= {scope.value for scope in ROLE_SCOPES[role]}
            if allowed and response.status_code in (401, 403):
                wrong.append(f"{method} {path} as {role}: {response.status_code}, expected access")
            if not allowed and response.status_code != 403:
                wrong.append(f"{method} {path} as {role}: {response.status_code}, expected 403")
    return wrong


# The routes of the service as built, read once to name the parametrized cases.
_ROUTES = {
    f"{'/'.join(sorted(route.methods))} {route.path}": route.path
    for route in guarded_routes(create_app(make_settings("sqlite:///:memory:")))
}


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


def test_the_matrix_covers_the_guarded_routes() -> None:
    assert "GET /v1/me" in _ROUTES


@pytest.mark.parametrize("route_name", sorted(_ROUTES))
async def test_route_answers_each_role_as_its_scopes_say(
    route_name: str,
    app: FastAPI,
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
) -> None:
    route = next(route for route in guarded_routes(app) if route.path == _ROUTES[route_name])
    assert await check_route(client, route, auth_headers) == []


async def test_the_matrix_sees_a_scope_a_role_lacks(
    app: FastAPI, client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    """A decisions route (as later issues add): the Bureau may, the Secretariat may not."""
    probe = APIRouter()

    @probe.post("/v1/probe/{decision_id}/record")
    async def record_probe_decision(
        decision_id: uuid.UUID,
        principal: Annotated[Principal, require(Scope.decisions_write)],
        payload: dict[str, str],
    ) -> dict[str, str]:
        return {"by": principal.subject}

    app.include_router(probe)
    route = next(route for route in guarded_routes(app) if route.path.startswith("/v1/probe"))
    assert access_of(route) == (False, frozenset({"decisions:write"}))
    assert await check_route(client, route, auth_headers) == []

    path = f"/v1/probe/{uuid.uuid4()}/record"
    refused = await client.post(path, json={}, headers=auth_headers("secretariat"))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/forbidden"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert 'scope="decisions:write"' in refused.headers["www-authenticate"]
    accepted = await client.post(path, json={}, headers=auth_headers("bureau"))
    assert accepted.status_code == 200


def test_the_contract_declares_the_scheme_and_each_operations_scopes(app: FastAPI) -> None:
    contract = app.openapi()
    scheme = contract["components"]["securitySchemes"]["OAuth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert scheme["type"] == "oauth2"
    assert flow["tokenUrl"] == "/oauth/token"
    assert flow["scopes"] == {scope.value: text for scope, text in SCOPE_DESCRIPTIONS.items()}
    for route in guarded_routes(app):
        scopes = access_of(route)[1]
        assert scopes is not None
        for method in route.methods:
            operation = contract["paths"][route.path][method.lower()]
            assert operation["security"] == [{"OAuth2": sorted(scopes)}], route.path
            assert {"401", "403"} <= set(operation["responses"]), route.path
