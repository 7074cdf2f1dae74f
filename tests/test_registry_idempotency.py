"""`Idempotency-Key` on creating interactions and agreements (design §8): the same key and body
replay the first 201, another body under the key is a 422, and nothing is created twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.registry import Make, organization, secretariat

__all__ = ["organization", "secretariat"]


@pytest.mark.parametrize("path", ["/v1/interactions", "/v1/agreements"])
async def test_a_key_replays_its_first_answer(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, path: str
) -> None:
    partner = await organization("Plant Health Institute")
    bodies: dict[str, dict[str, Any]] = {
        "/v1/interactions": {
            "occurred_on": "2026-11-02",
            "channel": "meeting",
            "subject": "Surveillance",
            "organization_ids": [partner["id"]],
        },
        "/v1/agreements": {
            "title": "Surveillance",
            "level": "partnership",
            "instrument": "informal_arrangement",
            "partner_ids": [partner["id"]],
        },
    }
    body = bodies[path]
    headers = {**secretariat, "Idempotency-Key": "surveillance-1"}
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(path, json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    other = await client.post(
        path, json={**body, "title" if "title" in body else "subject": "Other"}, headers=headers
    )
    assert other.status_code == 422
    listed = (await client.get(path, headers=secretariat)).json()["items"]
    assert [item["id"] for item in listed] == [first.json()["id"]]
