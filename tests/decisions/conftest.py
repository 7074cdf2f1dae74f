"""Fixtures of the workflow's tests: Bureau members with clients of their own, and agreements
brought to a status through the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import fetch_token, register_client
from tests.registry import (
    Make,
    agreement,
    bureau,
    integration,
    interaction,
    organization,
    secretariat,
)

__all__ = ["agreement", "bureau", "integration", "interaction", "organization", "secretariat"]

Member = Callable[[str], Awaitable[tuple[str, dict[str, str]]]]

ASSESSMENT = {
    "risk_level": "low",
    "undue_influence_assessment": "The partner funds no standard-setting work.",
}


@pytest.fixture
def member(app: FastAPI, client: httpx.AsyncClient) -> Member:
    """`await member("Ana")`: a Bureau member with a client of their own (named so), as
    (subject, bearer headers)."""

    async def make(name: str) -> tuple[str, dict[str, str]]:
        client_id, secret = await register_client(app, "bureau", name)
        token = await fetch_token(client, client_id, secret)
        return client_id, {"Authorization": f"Bearer {token}"}

    return make


async def post(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    if body is None:
        return await client.post(path, headers=headers)
    return await client.post(path, json=body, headers=headers)


def decision(body: str, outcome: str, **fields: Any) -> dict[str, Any]:
    return {
        "governing_body": body,
        "outcome": outcome,
        "rationale": f"The {body} weighed the due diligence.",
        "meeting_reference": "CPM-8 (2013), paragraph 42",
        **fields,
    }


async def decide(
    client: httpx.AsyncClient, headers: dict[str, str], agreement_id: str, **fields: Any
) -> httpx.Response:
    """Record a decision (`body` and `outcome` default to a Bureau approval)."""
    body = decision(fields.pop("body", "bureau"), fields.pop("outcome", "approved"), **fields)
    return await client.post(f"/v1/agreements/{agreement_id}/decisions", json=body, headers=headers)


@pytest.fixture
def ready(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, agreement: Make
) -> Make:
    """A draft ready to be submitted: a partner, an objective and a low-risk due diligence.
    Keyword arguments go to the draft (a `partner` organization's JSON may be given)."""

    async def make(title: str = "Ready", **fields: Any) -> dict[str, Any]:
        partner = fields.pop("partner", None) or await organization(f"Partner of {title}")
        fields.setdefault("partner_ids", [partner["id"]])
        fields.setdefault("strategic_objectives", ["2020-2030.A"])
        risk = fields.pop("due_diligence", ASSESSMENT)
        made = await agreement(title, **fields)
        put = await client.put(
            f"/v1/agreements/{made['id']}/due-diligence", json=risk, headers=secretariat
        )
        assert put.status_code == 201, put.text
        return made

    return make


@pytest.fixture
def submitted(client: httpx.AsyncClient, secretariat: dict[str, str], ready: Make) -> Make:
    """A submitted agreement's JSON (after submission)."""

    async def make(title: str = "Submitted", **fields: Any) -> dict[str, Any]:
        made = await ready(title, **fields)
        response = await client.post(f"/v1/agreements/{made['id']}/submit", headers=secretariat)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return make
