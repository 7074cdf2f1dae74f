"""The OpenAPI contract: stable operationIds, and problem+json error responses declared on every
operation. `openapi/openapi.json` is generated from it (`ippc openapi`) and a test fails on drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from app.core.errors import MAX_LISTED_ERRORS, PROBLEM_MEDIA_TYPE, problem_for_status

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


class FieldErrorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    detail: str
    pointer: str | None = Field(default=None, description="JSON pointer into the request body.")
    parameter: str | None = Field(
        default=None, description="Name of the query, path or header parameter."
    )


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A stable URI reference identifying the kind of problem.")
    title: str
    status: int
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


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries declaring problem+json errors for the given statuses."""
    return {
        status: {"model": Problem, "description": problem_for_status(status).title}
        for status in statuses
    }


# Every operation can fail these ways: a server fault, or a body refused before routing.
COMMON_ERRORS = problem_responses(500)
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
            )
            _problem_media_types(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render_contract(app: FastAPI) -> str:
    return json.dumps(app.openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
