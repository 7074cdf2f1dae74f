"""Fixtures of the examples' tests: the service running in its own process with the demo
register loaded, as the examples' users meet it."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx
import pytest

from tests.conftest import IPPC, clean_environment


def every_item(base: str, path: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every item of a list, following its Link headers."""
    items: list[dict[str, Any]] = []
    url: str | None = f"{base}{path}"
    while url:
        response = httpx.get(url, headers=headers or {}, timeout=10)
        response.raise_for_status()
        items += response.json()["items"]
        url = response.links.get("next", {}).get("url")
    return items


@pytest.fixture
def demo_service(sync_database_url: str, served: str) -> dict[str, Any]:
    """The running service with the demo register, and a token of the integration role to
    read what is not public (to check that the page does not show it)."""
    environment = clean_environment(DATABASE_URL=sync_database_url, IPPC_LOG_LEVEL="WARNING")
    subprocess.run([*IPPC, "demo"], env=environment, check=True, capture_output=True, timeout=300)
    created = subprocess.run(
        [*IPPC, "clients", "create", "--role", "integration", "--name", "page check", "--json"],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    client = json.loads(created.stdout)
    token = httpx.post(
        f"{served}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    return {
        "base": served,
        "headers": {"Authorization": f"Bearer {token}"},
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
