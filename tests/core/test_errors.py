"""Problem details for everything the framework itself can answer (design §8)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from app.core.config import Settings

PROBLEM = "application/problem+json"


@pytest.fixture
def probe_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_body_bytes": 2048})


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    return dict(body)


async def test_valid_body_is_accepted(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe", json={"name": "ok", "count": 1})
    assert response.status_code == 201
    assert response.json() == {"name": "ok", "count": 1, "tags": []}


async def test_malformed_json_is_400(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/v1/probe", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed-request")


async def test_validation_error_is_422_with_pointers(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/v1/probe",
        json={"name": "far-too-long-a-name", "count": -1, "tags": ["ok", "toolong"], "x": 1},
    )
    body = assert_problem(response, 422, "validation")
    errors = body["errors"]
    assert isinstance(errors, list)
    pointers = {error["pointer"] for error in errors}
    assert pointers == {"/name", "/count", "/tags/1", "/x"}
    assert all(error["detail"] for error in errors)


async def test_validation_errors_never_echo_input(probe_client: httpx.AsyncClient) -> None:
    secret = "<script>s3cr3t</script>"
    response = await probe_client.post(
        "/v1/probe", json={"name": secret, "count": "not-a-number-" + secret, secret: 1}
    )
    assert response.status_code == 422
    assert "s3cr3t" not in response.text
    assert all(
        set(error) <= {"detail", "pointer", "parameter"} for error in response.json()["errors"]
    )


async def test_missing_body_is_422(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe")
    body = assert_problem(response, 422, "validation")
    assert body["errors"] == [{"detail": "Field required", "pointer": ""}]


async def test_query_errors_name_the_parameter(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/v1/strategic-objectives", params={"limit": 0})
    body = assert_problem(response, 422, "validation")
    assert body["errors"] == [
        {"detail": "Input should be greater than or equal to 1", "parameter": "limit"}
    ]


async def test_unknown_path_is_404_problem(probe_client: httpx.AsyncClient) -> None:
    assert_problem(await probe_client.get("/v1/nothing-here"), 404, "not-found")


async def test_wrong_method_is_405_problem_with_allow(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.delete("/v1/strategic-objectives")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, HEAD"


async def test_non_json_body_is_415(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/v1/probe",
        content=b"name=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "unsupported-media-type")


async def test_body_without_content_type_is_415(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe", content=b'{"name": "x", "count": 1}')
    assert_problem(response, 415, "unsupported-media-type")


async def test_json_subtypes_are_accepted(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/v1/probe",
        content=b'{"name": "x", "count": 1}',
        headers={"content-type": "application/merge-patch+json; charset=utf-8"},
    )
    assert response.status_code == 201


async def test_declared_oversized_body_is_413(probe_client: httpx.AsyncClient) -> None:
    body = json.dumps({"name": "x", "count": 1, "tags": ["a"] * 1000})
    response = await probe_client.post(
        "/v1/probe", content=body, headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 413, "content-too-large")
    assert "2048" in str(problem["detail"])


async def test_chunked_oversized_body_is_413(probe_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "x", "count": 1, "tags": ['
        for _ in range(1000):
            yield b'"a",'
        yield b'"a"]}'

    response = await probe_client.post(
        "/v1/probe", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "content-too-large")


async def test_small_chunked_body_is_accepted(probe_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "x",'
        yield b' "count": 1}'

    response = await probe_client.post(
        "/v1/probe", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201


async def test_500_hides_internals(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/v1/internal-boom")
    body = assert_problem(response, 500, "internal")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert "X-Request-ID" in str(body["detail"])
    assert response.headers["x-request-id"]


async def test_problem_types_are_documented(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/problems/validation")
    assert response.status_code == 200
    assert response.json()["status"] == 422
    assert_problem(await probe_client.get("/problems/no-such-thing"), 404, "not-found")


async def test_405_lists_every_method_of_the_path(probe_client: httpx.AsyncClient) -> None:
    """Starlette names only the first matching route's methods; the path has two routes."""
    response = await probe_client.put("/v1/organizations")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_a_flood_of_invalid_values_gives_a_small_problem(
    probe_client: httpx.AsyncClient,
) -> None:
    tags = ["far too long"] * 120
    response = await probe_client.post("/v1/probe", json={"name": "ok", "count": 1, "tags": tags})
    body = assert_problem(response, 422, "validation")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert len(errors) == 50
    assert [error["pointer"] for error in errors] == [f"/tags/{index}" for index in range(50)]
    assert body["errors_omitted"] == 70
    assert "120 invalid values" in str(body["detail"])
    assert len(response.content) < 5000


async def test_a_few_invalid_values_are_all_listed(probe_client: httpx.AsyncClient) -> None:
    fields = {f"unknown_{index}": 0 for index in range(50)}
    response = await probe_client.post("/v1/probe", json={"name": "ok", "count": 1, **fields})
    body = assert_problem(response, 422, "validation")
    assert isinstance(body["errors"], list)
    assert len(body["errors"]) == 50
    assert "errors_omitted" not in body


async def test_thousands_of_unknown_fields_on_a_real_route(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    fields = {f"f{index}": index for index in range(5000)}
    response = await client.post(
        "/v1/organizations",
        json={"name": "Plant Health Body", **fields},
        headers=auth_headers("secretariat"),
    )
    body = assert_problem(response, 422, "validation")
    # Past fifty unknown fields, one error says how many, before anything is validated.
    assert body["errors"] == [
        {
            "detail": "5000 unknown fields: remove them (at most 50 are named one by one)",
            "pointer": "",
        }
    ]
    assert len(response.content) < 5000
