from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from app.core.preconditions import resource_etag

Create = Callable[..., Awaitable[dict[str, Any]]]


def etag_of(organization: dict[str, Any]) -> str:
    """The ETag of an organization as a read shows it (its version and reference counts)."""
    counts = sorted(organization["reference_counts"].items())
    return resource_etag(uuid.UUID(organization["id"]), organization["version"], counts)


@pytest.fixture
def secretariat(auth_headers: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return auth_headers("secretariat")


@pytest.fixture
def bureau(auth_headers: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return auth_headers("bureau")


@pytest.fixture
def create(client: httpx.AsyncClient, secretariat: dict[str, str]) -> Create:
    """Registers an organization and returns its JSON."""

    async def make(name: str, **fields: Any) -> dict[str, Any]:
        response = await client.post(
            "/v1/organizations", json={"name": name, **fields}, headers=secretariat
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return make
