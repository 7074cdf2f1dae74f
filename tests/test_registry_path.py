"""The issue's whole path, through HTTP alone: the Secretariat records a meeting with two
organizations, drafts a financed memorandum with both as partners, assesses its due diligence,
finds both through filters and exports both lists as CSV; a Bureau or integration token reads
all of it and changes nothing; without a token nothing of it is visible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.registry import csv_rows


async def test_the_secretariats_path(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    secretariat = auth_headers("secretariat")

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=body, headers=secretariat)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    nappo = await post("/v1/organizations", {"name": "NAPPO", "category": "rppo"})
    kephis = await post(
        "/v1/organizations",
        {"name": "KEPHIS", "category": "nppo", "geographic_scope": "national", "country": "KE"},
    )
    both = [nappo["id"], kephis["id"]]
    meeting = await post(
        "/v1/interactions",
        {
            "occurred_on": "2026-11-02",
            "channel": "meeting",
            "subject": "Fruit fly surveillance",
            "organization_ids": both,
            "visibility": "public",
        },
    )
    mou = await post(
        "/v1/agreements",
        {
            "title": "Memorandum on surveillance",
            "level": "partnership",
            "instrument": "memorandum_of_understanding",
            "partner_ids": both,
            "strategic_objectives": ["2020-2030.A"],
            "financing": {"amount": "125000.50", "currency": "USD", "direction": "to_ippc"},
        },
    )
    diligence = f"/v1/agreements/{mou['id']}/due-diligence"
    assessed = await client.put(
        diligence,
        json={"risk_level": "low", "undue_influence_assessment": "No role in standards."},
        headers=secretariat,
    )
    assert assessed.status_code == 201

    found = await client.get(
        "/v1/interactions", params={"organization_id": kephis["id"]}, headers=secretariat
    )
    assert [item["id"] for item in found.json()["items"]] == [meeting["id"]]
    found = await client.get(
        "/v1/agreements",
        params={"partner_category": "rppo", "has_financing": "true"},
        headers=secretariat,
    )
    assert [item["id"] for item in found.json()["items"]] == [mou["id"]]
    interactions = csv_rows(
        await client.get("/v1/interactions", params={"format": "csv"}, headers=secretariat)
    )
    agreements = csv_rows(
        await client.get("/v1/agreements", params={"format": "csv"}, headers=secretariat)
    )
    assert [row["id"] for row in interactions] == [meeting["id"]]
    assert [(row["id"], row["financing_amount"]) for row in agreements] == [
        (mou["id"], "125000.50")
    ]

    readable = [
        f"/v1/interactions/{meeting['id']}",
        f"/v1/agreements/{mou['id']}",
        diligence,
        "/v1/interactions",
        "/v1/agreements",
        f"/v1/organizations/{nappo['id']}/interactions",
        f"/v1/organizations/{nappo['id']}/agreements",
    ]
    for role in ("bureau", "integration"):
        headers = auth_headers(role)
        for path in readable:
            assert (await client.get(path, headers=headers)).status_code == 200, (role, path)
        writes = [
            client.patch(
                f"/v1/agreements/{mou['id']}",
                json={"title": "x"},
                headers={**headers, "If-Match": "*"},
            ),
            client.put(diligence, json={"risk_level": "high"}, headers=headers),
            client.delete(
                f"/v1/interactions/{meeting['id']}", headers={**headers, "If-Match": "*"}
            ),
            client.post("/v1/interactions", json={}, headers=headers),
        ]
        for write in writes:
            assert (await write).status_code == 403
    for path in readable:
        anonymous = await client.get(path)
        assert anonymous.status_code == 401
        assert meeting["id"] not in anonymous.text
