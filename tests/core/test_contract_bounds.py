"""The bounds the contract states are the service's own: each is enforced on input, or holds by
construction on output (docs/architecture.md, "The contract")."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from pydantic import ValidationError

from app.core.config import MAX_ORIGIN_LENGTH, Settings
from app.core.errors import (
    DETAIL_MAX_LENGTH,
    FIELD_DETAIL_MAX_LENGTH,
    POINTER_MAX_LENGTH,
    VALIDATION,
    FieldError,
    listed_errors,
    problem_body,
)
from app.core.list_query import MAX_FILTER_VALUES
from app.core.ratelimit import (
    MAX_FIELD_LENGTH,
    MAX_QUOTA,
    MAX_WINDOW_SECONDS,
    POLICY_NAMES,
    Decision,
    Policy,
    header_values,
    parse_limit,
)


@pytest.mark.parametrize(
    "form",
    [
        lambda value: "{" + value + "}",
        lambda value: "urn:uuid:" + value,
        lambda value: value.replace("-", ""),
    ],
    ids=["braced", "urn", "bare"],
)
async def test_ids_are_read_only_in_their_36_characters(
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
    form: Callable[[str], str],
) -> None:
    """Pydantic would read these forms as UUIDs too; the contract says 36 characters."""
    headers = auth_headers("secretariat")
    other = form(str(uuid.uuid4()))
    in_path = await client.get(f"/v1/organizations/{other}", headers=headers)
    assert in_path.status_code == 422
    assert in_path.json()["errors"][0]["parameter"] == "organization_id"
    in_query = await client.get(
        "/v1/interactions", params={"organization_id": other}, headers=headers
    )
    assert in_query.status_code == 422
    in_body = await client.post(
        "/v1/organizations", json={"name": "Body", "parent_id": other}, headers=headers
    )
    assert in_body.status_code == 422
    assert in_body.json()["errors"][0]["pointer"] == "/parent_id"
    canonical = await client.get(f"/v1/organizations/{uuid.uuid4()}", headers=headers)
    assert canonical.status_code == 404


async def test_the_frameworks_filter_takes_at_most_the_cap(client: httpx.AsyncClient) -> None:
    within: list[tuple[str, str | int | float | bool | None]] = [
        ("framework", "2020-2030")
    ] * MAX_FILTER_VALUES
    beyond = [*within, ("framework", "2020-2030")]
    assert (await client.get("/v1/strategic-objectives", params=within)).status_code == 200
    refused = await client.get("/v1/strategic-objectives", params=beyond)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["parameter"] == "framework"


def test_problem_texts_are_cut_at_their_bounds() -> None:
    body = problem_body(VALIDATION, "x" * (DETAIL_MAX_LENGTH + 10))
    assert len(body["detail"]) == DETAIL_MAX_LENGTH
    deep = "".join(f"/{'a' * 60}" for _ in range(20))
    (error,) = listed_errors([FieldError("y" * 1000, pointer=deep)])["errors"]
    assert len(error["detail"]) == FIELD_DETAIL_MAX_LENGTH
    assert len(error["pointer"]) <= POINTER_MAX_LENGTH
    assert deep.startswith(error["pointer"] + "/")  # an ancestor of the value, whole steps
    short = listed_errors([FieldError("fine", pointer="/name")])["errors"][0]
    assert short == {"detail": "fine", "pointer": "/name"}


def test_the_rate_limit_fields_fit_their_bound() -> None:
    """The longest fields the service can write: every policy, the largest quota and window."""
    largest = f"{MAX_QUOTA} per {MAX_WINDOW_SECONDS} seconds"
    item = parse_limit(largest)
    decisions = [
        Decision(Policy(name, item), True, MAX_QUOTA, MAX_WINDOW_SECONDS) for name in POLICY_NAMES
    ]
    policy, current = header_values(decisions)
    assert max(len(policy), len(current)) <= MAX_FIELD_LENGTH
    for beyond in (f"{MAX_QUOTA + 1}/second", f"1 per {MAX_WINDOW_SECONDS + 1} seconds"):
        with pytest.raises(ValueError, match="largest limit"):
            parse_limit(beyond)


def test_a_front_end_origin_is_bounded() -> None:
    Settings(_env_file=None, cors_allow_origins=["https://" + "a" * (MAX_ORIGIN_LENGTH - 8)])
    with pytest.raises(ValidationError, match="IPPC_CORS_ALLOW_ORIGINS"):
        Settings(_env_file=None, cors_allow_origins=["https://" + "a" * MAX_ORIGIN_LENGTH])
