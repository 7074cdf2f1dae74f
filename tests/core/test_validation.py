"""No input carries a NUL character (PostgreSQL can store none): refused as bad input, never a
500, wherever it comes."""

from __future__ import annotations

import uuid
from typing import get_args

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from app.core.validation import InputModel


async def test_nul_in_a_body_is_422_pointing_at_the_field(
    probe_client: httpx.AsyncClient,
) -> None:
    response = await probe_client.post(
        "/v1/probe", json={"name": "a\u0000", "count": 1, "tags": ["ok", "b\u0000"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"detail": "NUL characters are not allowed", "pointer": "/name"},
        {"detail": "NUL characters are not allowed", "pointer": "/tags"},
    ]


async def test_nul_in_a_query_parameter_is_422_naming_it(
    probe_client: httpx.AsyncClient,
) -> None:
    response = await probe_client.get("/v1/strategic-objectives?framework=2020-2030&x=a%00b")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"detail": "NUL characters are not allowed", "parameter": "x"}
    ]


async def test_nul_in_the_path_is_404(probe_client: httpx.AsyncClient) -> None:
    # On PostgreSQL a NUL reaching the database would be a 500; on SQLite the lookup would find
    # nothing and answer 404 anyway, so the paths below show the rule on both databases: a
    # route that answers any segment (200 without the rule), and a UUID (422 without it).
    assert (await probe_client.get("/v1/probe/echo/abc")).status_code == 200
    for path in (
        "/v1/strategic-objectives/2020-2030.A%00",
        "/v1/probe/echo/a%00b",
        f"/v1/organizations/{uuid.uuid4()}%00",
    ):
        response = await probe_client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_every_request_body_is_an_input_model(app: FastAPI) -> None:
    bodies = 0
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.body_field is not None:
            model = context.body_field.field_info.annotation
            # An optional body (a workflow transition's) is `Model | None`.
            options = [option for option in get_args(model) if option is not type(None)]
            if options:
                (model,) = options
            assert isinstance(model, type), context.path_format
            assert issubclass(model, InputModel), f"{context.path_format}: {model.__name__}"
            bodies += 1
    assert bodies >= 2


async def test_nul_in_the_token_form_is_an_oauth_error(client: httpx.AsyncClient) -> None:
    in_form = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a\u0000", "client_secret": "b"},
    )
    in_basic = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("a\u0000", "b")
    )
    for response in (in_form, in_basic):
        assert response.status_code in (400, 401)
        assert response.json()["error"] in ("invalid_request", "invalid_client")


async def test_nul_under_a_name_that_is_not_plain_is_422_without_echo(
    probe_client: httpx.AsyncClient,
) -> None:
    response = await probe_client.get("/v1/strategic-objectives?%3Cscript%3E=a%00&ok=b%00")
    assert response.status_code == 422
    assert "script" not in response.text
    assert response.json()["errors"] == [
        {"detail": "NUL characters are not allowed", "parameter": "ok"},
        {"detail": "NUL characters are not allowed"},
    ]
