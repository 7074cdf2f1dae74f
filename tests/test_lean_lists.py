"""The lean lists and reads of the registry (docs/performance.md): pages of interactions and
agreements (and of one organization's), and each one by id, written from the rows byte for byte
as the response models would write them, each one statement outside any transaction."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.agreements.schemas import AgreementOut
from app.core.pagination import Page
from app.interactions.schemas import InteractionOut
from tests.organizations.test_lean_reads import statements_of
from tests.registry import Make, agreement, interaction, organization, secretariat

__all__ = ["agreement", "interaction", "organization", "secretariat"]


async def _registry(organization: Make, agreement: Make, interaction: Make) -> dict[str, Any]:
    first = await organization("Organización de Protección", country="MX", category="rppo")
    second = await organization("Plant Health Institute")
    financed = await agreement(
        "Memorandum «de coopération»",
        level="cooperation",
        instrument="memorandum_of_understanding",
        partner_ids=[first["id"], second["id"]],
        strategic_objectives=["2020-2030.A", "2020-2030.C"],
        start_date="2026-01-01",
        financing={"amount": "125000.5", "currency": "EUR", "direction": "to_ippc"},
        legal_arrangement="Signed by both",
    )
    await agreement("Undated, unfinanced")
    await interaction(
        "Meeting in Rome",
        organization_ids=[first["id"], second["id"]],
        ippc_participants=["Secretary", "Officer"],
        strategic_objectives=["2020-2030.B"],
        agreement_id=financed["id"],
        visibility="public",
        location="Rome",
    )
    await interaction("A call", organization_ids=[second["id"]], channel="call")
    return first


@pytest.mark.parametrize(
    ("path", "item"),
    [
        ("/v1/agreements", AgreementOut),
        ("/v1/interactions", InteractionOut),
        ("/v1/organizations/{first}/agreements", AgreementOut),
        ("/v1/organizations/{first}/interactions", InteractionOut),
    ],
)
async def test_a_page_is_the_models_bytes(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    agreement: Make,
    interaction: Make,
    path: str,
    item: Any,
) -> None:
    first = await _registry(organization, agreement, interaction)
    with statements_of(app) as in_transaction:
        response = await client.get(
            path.format(first=first["id"]), params={"limit": 5}, headers=secretariat
        )
    assert response.status_code == 200, response.text
    # One statement for the page, outside any transaction (and one, before it, for the
    # organization's existence on its lists).
    assert set(in_transaction) == {False}
    page = response.json()
    assert page["items"]
    expected = Page[item](
        items=[item.model_validate(each) for each in page["items"]],
        next_cursor=page["next_cursor"],
    )
    assert response.content == expected.model_dump_json().encode()
    if item is AgreementOut:
        amounts = [each["financing"] for each in page["items"] if each["financing"]]
        assert amounts == [{"amount": "125000.50", "currency": "EUR", "direction": "to_ippc"}]


@pytest.mark.parametrize(
    ("path", "item"), [("agreements", AgreementOut), ("interactions", InteractionOut)]
)
async def test_a_read_is_the_models_bytes(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    agreement: Make,
    interaction: Make,
    path: str,
    item: Any,
) -> None:
    await _registry(organization, agreement, interaction)
    page = (await client.get(f"/v1/{path}", headers=secretariat)).json()["items"]
    for each in page:
        with statements_of(app) as in_transaction:
            response = await client.get(f"/v1/{path}/{each['id']}", headers=secretariat)
        assert response.status_code == 200
        assert in_transaction == [False]
        assert response.json() == each
        assert response.content == item.model_validate(each).model_dump_json().encode()
        etag = response.headers["etag"]
        again = await client.get(
            f"/v1/{path}/{each['id']}", headers={**secretariat, "If-None-Match": etag}
        )
        assert again.status_code == 304
