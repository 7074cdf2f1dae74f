"""The OpenAPI contract: stable operationIds, and problem+json error responses declared on every
operation. `openapi/openapi.json` is generated from it (`ippc openapi`) and a test fails on drift.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from app.core.config import MAX_ORIGIN_LENGTH
from app.core.edge import Edge
from app.core.errors import (
    DETAIL_MAX_LENGTH,
    FIELD_DETAIL_MAX_LENGTH,
    MAX_LISTED_ERRORS,
    NAME_MAX_LENGTH,
    POINTER_MAX_LENGTH,
    PROBLEM_MEDIA_TYPE,
    TITLE_MAX_LENGTH,
    TYPE_MAX_LENGTH,
    problem_for_status,
)
from app.core.numbers import INT32_MAX, INT64_MAX, MAX_COUNT
from app.core.ratelimit import MAX_FIELD_LENGTH, MAX_WINDOW_SECONDS
from app.core.validation import UUID_LENGTH

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"

# The contract names one server, relative: the service that serves it (`/openapi.json`). A
# fixed entry, so that the committed contract is the same on every machine and in every
# deployment; clients resolve it against the address they fetched the contract from (the
# deployment's IPPC_BASE_URL), whichever environment that is. `x-internal: false`: the
# contract is published, to the public page's developers as to the Secretariat's.
CONTRACT_SERVERS: list[dict[str, Any]] = [
    {
        "url": "/",
        "description": "This service, in whichever environment served the contract "
        "(production, staging, test or a local development copy): the address the contract "
        "was fetched from.",
        "x-internal": False,
    }
]


class FieldErrorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    detail: str = Field(max_length=FIELD_DETAIL_MAX_LENGTH)
    pointer: str | None = Field(
        default=None,
        max_length=POINTER_MAX_LENGTH,
        description="JSON pointer into the request body.",
    )
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
    detail: str | None = Field(default=None, max_length=DETAIL_MAX_LENGTH)
    errors: list[FieldErrorOut] | None = Field(
        default=None,
        max_length=MAX_LISTED_ERRORS,
        description=f"On validation problems: the invalid values (at most {MAX_LISTED_ERRORS}).",
    )
    errors_omitted: int | None = Field(
        default=None,
        ge=1,
        le=MAX_COUNT,
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


# The headers every response may carry, declared once (`components.headers`): the rate-limit
# fields (`core/ratelimit.py`, docs/http.md "Rate limits") and CORS (`core/edge.py`).
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Policy": {
        "description": "The rate limits that counted this request (IETF "
        "draft-ietf-httpapi-ratelimit-headers): each a name, its quota `q` and its window `w` "
        "in seconds. Sent on every response while rate limiting is on and its storage answers.",
        "schema": {"type": "string", "maxLength": MAX_FIELD_LENGTH},
        "example": '"client";q=600;w=60',
    },
    "RateLimit": {
        "description": "What is left of each limit in `RateLimit-Policy`: the requests `r` "
        "and the seconds `t` until the quota is whole again.",
        "schema": {"type": "string", "maxLength": MAX_FIELD_LENGTH},
        "example": '"client";r=599;t=60',
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_WINDOW_SECONDS},
    },
}
CORS_HEADERS: dict[str, dict[str, Any]] = {
    "Access-Control-Allow-Origin": {
        "description": "CORS. On the public paths (`/v1/public/*`, `/v1/strategic-objectives`, "
        "`/.well-known/*`): always `*`, on every response, whether or not the request names an "
        "`Origin`. On the other paths: only when the request's `Origin` is one of the front "
        "ends of `IPPC_CORS_ALLOW_ORIGINS`, and then that origin (with `Vary: Origin`).",
        "schema": {"type": "string", "maxLength": MAX_ORIGIN_LENGTH},
        "example": "*",
    },
    "Access-Control-Expose-Headers": {
        "description": "CORS: the response headers a script may read. Sent with "
        "`Access-Control-Allow-Origin`.",
        "schema": {"type": "string", "const": ", ".join(Edge.exposed_headers)},
    },
}


def _refs(names: Sequence[str]) -> dict[str, dict[str, str]]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _response_headers(schema: dict[str, Any]) -> None:
    """Every operation declares its 429 (with `Retry-After`), and every response the RateLimit
    fields and the CORS headers: the edge counts every request but CORS preflights, and writes
    what the count said, and the CORS headers, into every response (`core/edge.py`)."""
    headers = schema.setdefault("components", {}).setdefault("headers", {})
    headers.update(CORS_HEADERS)
    headers.update(RATE_LIMIT_HEADERS)
    schema["components"]["headers"] = dict(sorted(headers.items()))
    every = _refs([*CORS_HEADERS, "RateLimit-Policy", "RateLimit"])
    for path_item in schema.get("paths", {}).values():
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
                declared = response.setdefault("headers", {})
                declared.update(every)
                if str(status) == "429":
                    declared.update(_refs(["Retry-After"]))


def _parameters_without_null(schema: dict[str, Any]) -> None:
    """A parameter is given or not: `anyOf: [X, {type: null}]` (an optional value) is X."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _without_null(parameter["schema"])


# The longest text of each string format the service reads and writes: a UUID hyphenated
# (`core.validation.UUIDText` refuses other forms), a date as YYYY-MM-DD (`IsoDate`), an RFC
# 3339 date-time with nine decimals and an offset (`core.params.QueryDatetime`; the service
# writes at most six decimals and `Z` or `+00:00`).
FORMAT_MAX_LENGTHS = {
    "uuid": UUID_LENGTH,
    "date": len("2026-12-01"),
    "date-time": len("2026-12-01T09:30:00.123456789+01:00"),
}


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _implied_bounds(schema: dict[str, Any]) -> None:
    """What a schema's own terms imply, written out: the length of a formatted string
    (`FORMAT_MAX_LENGTHS`), and the `format` of an integer whose bounds fit in 32 or 64 bits."""
    for node in _walk(schema):
        kind = node.get("type")
        if kind == "string" and node.get("format") in FORMAT_MAX_LENGTHS:
            node.setdefault("maxLength", FORMAT_MAX_LENGTHS[node["format"]])
        elif kind == "integer":
            # FastAPI writes the bounds of the components' schemas as floats (`400.0`).
            for bound in ("minimum", "maximum"):
                value = node.get(bound)
                if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                    node[bound] = int(value)
            low, high = node.get("minimum"), node.get("maximum")
            if "format" not in node and isinstance(low, int) and isinstance(high, int):
                if low >= -INT32_MAX - 1 and high <= INT32_MAX:
                    node["format"] = "int32"
                elif low >= -INT64_MAX - 1 and high <= INT64_MAX:
                    node["format"] = "int64"


def install_openapi(app: FastAPI) -> None:
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
            _parameters_without_null(schema)
            _response_headers(schema)
            _implied_bounds(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render_contract(app: FastAPI) -> str:
    return json.dumps(app.openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
