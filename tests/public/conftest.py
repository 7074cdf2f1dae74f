"""Fixtures of the public register's tests: agreements brought to each status through the API,
and the register read as a visitor reads it (no token)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.decisions.conftest import decide, member, ready, submitted
from tests.registry import (
    Make,
    agreement,
    bureau,
    integration,
    interaction,
    organization,
    secretariat,
)

__all__ = [
    "agreement",
    "bureau",
    "decide",
    "integration",
    "interaction",
    "member",
    "organization",
    "ready",
    "secretariat",
    "submitted",
]


@pytest.fixture
def approved(client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make) -> Make:
    """An approved agreement, as its JSON after the decisions: the Bureau approves on
    `decided_on`, and the CPM on `cpm_on` (default the same day) when the agreement needs it."""

    async def make(title: str = "Approved", **fields: Any) -> dict[str, Any]:
        decided_on = fields.pop("decided_on", "2025-03-14")
        cpm_on = fields.pop("cpm_on", decided_on)
        made = await submitted(title, **fields)
        response = await decide(client, bureau, made["id"], decided_on=decided_on)
        assert response.status_code == 201, response.text
        if response.json()["agreement_status"] == "cpm_review":
            response = await decide(client, bureau, made["id"], body="cpm", decided_on=cpm_on)
            assert response.status_code == 201, response.text
        assert response.json()["agreement_status"] == "approved"
        read = await client.get(f"/v1/agreements/{made['id']}", headers=bureau)
        body: dict[str, Any] = read.json()
        return body

    return make
