"""The OpenAPI contract: stable operationIds, and problem+json error responses declared on every
operation. `openapi/openapi.json` is generated from it (`ippc openapi`) and a test fails on drift.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from app.core.errors import (
    MAX_LISTED_ERRORS,
    NAME_MAX_LENGTH,
    PROBLEM_MEDIA_TYPE,
    TITLE_MAX_LENGTH,
    TYPE_MAX_LENGTH,
    problem_for_status,
)

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"

# The contract names one server, relative: the service that serves it (`/openapi.json`). A
# fixed entry, so that the committed contract is the same on every machine and in every
# deployment; clients resolve it against the address they fetched the contract from (the
# deployment's IPPC_BASE_URL).
CONTRACT_SERVERS: list[dict[str, str]] = [
    {"url": "/", "description": "This service: the address the contract was fetched from."}
]


class FieldErrorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    detail: str
    pointer: str | None = Field(default=None, description="JSON pointer into the request body.")
    parameter: str | None = Field(
        default=None,
        max_length=NAME_MAX_LENGTH,
        description="Name of the query, path or header parameter.",
    )


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        max_length=TYPE_MAX_LENGTH,
        description="A stable URI reference identifying the kind of problem.",
    )
    title: str = Field(max_length=TITLE_MAX_LENGTH)
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    errors: list[FieldErrorOut] | None = Field(
        default=None,
        max_length=MAX_LISTED_ERRORS,
        description=f"On validation problems: the invalid values (at most {MAX_LISTED_ERRORS}).",
    )
    errors_omitted: int | None = Field(
        default=None,
        ge=1,
        description="On validation problems with more invalid values than `errors` lists: "
        "how many more there were.",
    )


def operation_id(route: APIRoute) -> str:
    """The endpoint function's name: readable and stable (`list_strategic_objectives`)."""
    return route.name


# The version every resource of the API is under.
V1 = "/v1"


def api_router(prefix: str = "", **options: Any) -> APIRouter:
    """A router of the service: `prefix` is its routes' whole prefix (`/v1/organizations`), and
    their operation ids are the contract's (`operation_id`).

    Its routes are complete when its module is imported: every application of the process adds
    these same route objects to its own route list (`api.routes`, `main.create_app`). Included
    as a router instead, this FastAPI would build each route's state (dependencies, response
    fields) again for every application, lazily, at a router's first request: about 1.5 ms a
    route, which the tests, building an application per test, paid for every router they used.
    """
    return APIRouter(prefix=prefix, generate_unique_id_function=operation_id, **options)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries declaring problem+json errors for the given statuses."""
    return {
        status: {"model": Problem, "description": problem_for_status(status).title}
        for status in statuses
    }


# Every operation can fail these ways: a server fault, or a body refused before routing.
COMMON_ERRORS = problem_responses(431, 500, 503)
BODY_ERRORS = problem_responses(400, 413, 415, 422)
QUERY_ERRORS = problem_responses(422)


def _problem_media_types(schema: dict[str, Any]) -> None:
    """Error responses are served as application/problem+json: say so in the contract."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if str(status)[0] not in "45":
                    continue
                content = response.get("content", {})
                if "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def _explicit_security(schema: dict[str, Any]) -> None:
    """Anonymous operations say so (`security: []`) rather than by leaving it out."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            operation.setdefault("security", [])


def _required_if_match(schema: dict[str, Any]) -> None:
    """An operation that answers 428 without `If-Match` declares the header required.

    The code keeps it optional, so that the service itself answers a missing header with its
    428 problem (FastAPI would answer a missing required header with a 422)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if "428" not in operation.get("responses", {}):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") == "If-Match":
                    parameter["required"] = True
                    parameter["schema"] = _without_null(parameter["schema"])


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, {type: null}]` (an optional value) as X: a required header has a value."""
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    if len(options) != 1:
        return schema
    kept = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**options[0], **kept}


def _query_schemas(schema: dict[str, Any]) -> None:
    """The schemas that the parameters of lists read in one pass refer to (`core.list_query`)."""
    from app.core.list_query import QUERY_SCHEMAS

    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in sorted(QUERY_SCHEMAS.items()):
        schemas.setdefault(name, definition)
    schema["components"]["schemas"] = dict(sorted(schemas.items()))
    # Their parameters come in through `openapi_extra`, which FastAPI adds last: put them
    # where FastAPI writes declared parameters, before the body and the responses.
    for path in schema.get("paths", {}).values():
        for name, operation in path.items():
            if "parameters" not in operation:
                continue
            parameters = operation.pop("parameters")
            ordered: dict[str, Any] = {}
            for key, value in operation.items():
                if key in ("requestBody", "responses") and "parameters" not in ordered:
                    ordered["parameters"] = parameters
                ordered[key] = value
            ordered.setdefault("parameters", parameters)
            path[name] = ordered


# The rate-limit fields (`core/ratelimit.py`, docs/http.md "Rate limits"), declared once.
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Policy": {
        "description": "The rate limits that counted this request (IETF "
        "draft-ietf-httpapi-ratelimit-headers): each a name, its quota `q` and its window `w` "
        "in seconds. Sent while rate limiting is on and its storage answers.",
        "schema": {"type": "string"},
        "example": '"client";q=600;w=60',
    },
    "RateLimit": {
        "description": "What is left of each limit in `RateLimit-Policy`: the requests `r` "
        "and the seconds `t` until the quota is whole again.",
        "schema": {"type": "string"},
        "example": '"client";r=599;t=60',
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
}


def _rate_limits(schema: dict[str, Any], unlimited_paths: frozenset[str]) -> None:
    """Operations that rate limits count declare their 429 (with `Retry-After`), and their
    successful answers and 429 the RateLimit fields. Errors carry the fields too; the contract
    names them where a client plans its pace."""
    headers = schema.setdefault("components", {}).setdefault("headers", {})
    headers.update(RATE_LIMIT_HEADERS)
    fields = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
    for path, path_item in schema.get("paths", {}).items():
        if path in unlimited_paths:
            continue
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "429",
                {
                    "description": problem_for_status(429).title,
                    "content": {
                        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                },
            )
            for status, response in responses.items():
                if str(status)[0] in "23":
                    response.setdefault("headers", {}).update(
                        {name: ref for name, ref in fields.items() if name != "Retry-After"}
                    )
                elif str(status) == "429":
                    response.setdefault("headers", {}).update(fields)


def install_openapi(app: FastAPI, *, unlimited_paths: Sequence[str] = ()) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
                license_info=app.license_info,
            )
            _query_schemas(schema)
            _problem_media_types(schema)
            _explicit_security(schema)
            _required_if_match(schema)
            _rate_limits(schema, frozenset(unlimited_paths))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render_contract(app: FastAPI) -> str:
    return json.dumps(app.openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
