from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

Create = Callable[..., Awaitable[dict[str, Any]]]


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
