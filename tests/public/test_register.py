"""The public register (design §5): what is public, and nothing else, in allowlisted fields."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import select

from app.interactions.service import ORGANIZATIONS as INTERACTION_PLACES
from app.models.agreements import PUBLIC_STATUSES
from app.public import service
from app.public.schemas import (
    PublicAgreement,
    PublicDecision,
    PublicInteraction,
    PublicOrganization,
    PublicOrganizationRef,
    PublicStatus,
)
from app.reports.schemas import EngagementBalance
from tests.public.conftest import decide
from tests.registry import Make, csv_rows, every_page, pointers

SECRET = "internal-only-text"


def keys_of(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def assert_allowlisted_agreement(item: dict[str, Any]) -> None:
    assert set(item) == keys_of(PublicAgreement)
    for partner in item["partners"]:
        assert set(partner) == keys_of(PublicOrganizationRef)
    for decision in item["decisions"]:
        assert set(decision) == keys_of(PublicDecision)
    PublicAgreement.model_validate(item)


def assert_allowlisted_interaction(item: dict[str, Any]) -> None:
    assert set(item) == keys_of(PublicInteraction)
    for organization in item["organizations"]:
        assert set(organization) == keys_of(PublicOrganizationRef)
    PublicInteraction.model_validate(item)


async def problem_of(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_only_approved_agreements_are_public(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    agreement: Make,
    submitted: Make,
    approved: Make,
) -> None:
    draft = await agreement("A draft")
    waiting = await submitted("Waiting")
    refused = await submitted("Refused")
    assert (await decide(client, bureau, refused["id"], outcome="rejected")).status_code == 201
    withdrawn = await submitted("Withdrawn")
    response = await client.post(f"/v1/agreements/{withdrawn['id']}/withdraw", headers=secretariat)
    assert response.status_code == 200
    made = await approved("Approved one")
    active = await approved("Signed one")
    response = await client.post(
        f"/v1/agreements/{active['id']}/activate",
        json={"signed_on": "2025-04-01"},
        headers=secretariat,
    )
    assert response.status_code == 200, response.text

    listed = await client.get("/v1/public/agreements")
    assert listed.status_code == 200
    assert [item["title"] for item in listed.json()["items"]] == ["Approved one", "Signed one"]
    assert [item["status"] for item in listed.json()["items"]] == ["approved", "active"]

    missing = await problem_of(client, f"/v1/public/agreements/{uuid.uuid4()}")
    for hidden in (draft, waiting, refused, withdrawn):
        assert await problem_of(client, f"/v1/public/agreements/{hidden['id']}") == missing
    shown = await client.get(f"/v1/public/agreements/{made['id']}")
    assert shown.status_code == 200
    assert shown.json() == listed.json()["items"][0]


async def test_a_public_agreement_shows_its_allowlist_and_nothing_internal(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    approved: Make,
) -> None:
    partner = await organization(
        "Réseau phytosanitaire",
        acronym="RP",
        category="ngo",
        sector="private",
        description=SECRET,
        website="https://rp.example.org",
    )
    made = await approved(
        "Seed health",
        partner=partner,
        purpose=SECRET,
        scope_of_work=SECRET,
        legal_arrangement=None,
        public_summary="Training on seed health.",
        financing={"amount": "12500.50", "currency": "EUR", "direction": "to_ippc"},
        start_date="2025-05-01",
    )
    response = await client.get(f"/v1/public/agreements/{made['id']}")
    assert response.status_code == 200
    item = response.json()
    assert_allowlisted_agreement(item)
    assert SECRET not in response.text
    assert "weighed the due diligence" not in response.text  # the decision's rationale
    assert "undue_influence" not in response.text
    assert item["partners"] == [
        {
            "id": partner["id"],
            "name": "Réseau phytosanitaire",
            "acronym": "RP",
            "category": "ngo",
            "country": None,
        }
    ]
    assert item["financing"] == {"amount": "12500.50", "currency": "EUR", "direction": "to_ippc"}
    # Financed: the Bureau, then the CPM.
    assert item["decisions"] == [
        {
            "governing_body": body,
            "outcome": "approved",
            "decided_on": "2025-03-14",
            "meeting_reference": "CPM-8 (2013), paragraph 42",
        }
        for body in ("bureau", "cpm")
    ]
    listed = (await client.get("/v1/public/agreements")).json()["items"]
    assert listed == [item]


async def test_decisions_show_as_corrected_in_the_order_taken(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    submitted: Make,
) -> None:
    made = await submitted("Corrected")
    returned = await decide(client, bureau, made["id"], outcome="returned", decided_on="2024-01-10")
    assert returned.status_code == 201
    again = await client.post(f"/v1/agreements/{made['id']}/submit", headers=secretariat)
    assert again.status_code == 200, again.text
    approval = await decide(client, bureau, made["id"], decided_on="2024-06-01")
    assert approval.status_code == 201
    # The return's date and reference were wrong: its correction takes its place.
    correction = await decide(
        client,
        bureau,
        made["id"],
        outcome="returned",
        decided_on="2024-01-11",
        supersedes_id=returned.json()["id"],
        meeting_reference="Bureau, January 2024, item 4",
    )
    assert correction.status_code == 201, correction.text

    item = (await client.get(f"/v1/public/agreements/{made['id']}")).json()
    assert item["decisions"] == [
        {
            "governing_body": "bureau",
            "outcome": "returned",
            "decided_on": "2024-01-11",
            "meeting_reference": "Bureau, January 2024, item 4",
        },
        {
            "governing_body": "bureau",
            "outcome": "approved",
            "decided_on": "2024-06-01",
            "meeting_reference": "CPM-8 (2013), paragraph 42",
        },
    ]


async def test_the_public_filters(
    client: httpx.AsyncClient,
    bureau: dict[str, str],
    organization: Make,
    approved: Make,
) -> None:
    ngo = await organization("Field NGO", category="ngo", country="KE", geographic_scope="national")
    rppo = await organization("Regional body", category="rppo")
    first = await approved(
        "Pest alerts", partner=ngo, strategic_objectives=["2020-2030.B"], decided_on="2024-02-01"
    )
    second = await approved(
        "Trade facilitation",
        partner=rppo,
        level="cooperation",
        instrument="memorandum_of_understanding",
        decided_on="2024-11-01",
        cpm_on="2025-06-20",
    )

    async def titles(query: str) -> list[str]:
        response = await client.get(f"/v1/public/agreements?{query}")
        assert response.status_code == 200, response.text
        return [item["title"] for item in response.json()["items"]]

    assert await titles("") == ["Pest alerts", "Trade facilitation"]
    assert await titles("strategic_objective=2020-2030.B") == ["Pest alerts"]
    assert await titles("level=cooperation") == ["Trade facilitation"]
    assert await titles("instrument=informal_arrangement") == ["Pest alerts"]
    assert await titles("partner_category=rppo") == ["Trade facilitation"]
    assert await titles("partner_category=rppo&partner_category=ngo") == [
        "Pest alerts",
        "Trade facilitation",
    ]
    assert await titles("country=KE") == ["Pest alerts"]
    assert await titles(f"partner_id={ngo['id']}") == ["Pest alerts"]
    assert await titles("status=approved") == ["Pest alerts", "Trade facilitation"]
    assert await titles("status=active") == []
    # The year of approval is the final approval's: the CPM's in 2025, not the Bureau's in 2024.
    assert await titles("approval_year=2024") == ["Pest alerts"]
    assert await titles("approval_year=2025") == ["Trade facilitation"]
    assert await titles("approval_year=2023&approval_year=2025") == ["Trade facilitation"]
    assert await titles("q=PEST") == ["Pest alerts"]
    assert await titles("sort=-approved_on") == ["Trade facilitation", "Pest alerts"]
    assert first["id"] != second["id"]

    for bad in ("status=draft", "status=submitted", "approval_year=1200", "level=secret"):
        response = await client.get(f"/v1/public/agreements?{bad}")
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
    assert pointers(await client.get("/v1/public/agreements?sort=purpose")) == ["sort"]


async def test_public_agreements_page_with_cursors(
    client: httpx.AsyncClient, approved: Make
) -> None:
    for number in range(5):
        await approved(f"Agreement {number}")
    titles = await every_page(client, {}, "/v1/public/agreements?limit=2", "title")
    assert titles == [f"Agreement {number}" for number in range(5)]
    forged = await client.get("/v1/public/agreements?cursor=not-a-cursor")
    assert forged.status_code == 422
    assert (await client.get("/v1/public/agreements?limit=201")).status_code == 422


async def test_only_public_interactions_are_public(
    client: httpx.AsyncClient, organization: Make, interaction: Make
) -> None:
    partner = await organization(
        "Seed traders",
        category="industry_association",
        country="NL",
        geographic_scope="national",
        description=SECRET,
    )
    public = await interaction(
        "Annual meeting",
        [partner["id"]],
        visibility="public",
        summary=SECRET,
        ippc_participants=["Officer A"],
        location="Rome",
        follow_up=SECRET,
        strategic_objectives=["2020-2030.C"],
    )
    internal = await interaction("Private call", [partner["id"]], channel="call")

    listed = await client.get("/v1/public/interactions")
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [item["id"] for item in items] == [public["id"]]
    assert_allowlisted_interaction(items[0])
    assert SECRET not in listed.text
    assert "Officer A" not in listed.text
    assert items[0]["organizations"] == [
        {
            "id": partner["id"],
            "name": "Seed traders",
            "acronym": None,
            "category": "industry_association",
            "country": "NL",
        }
    ]
    assert items[0]["strategic_objectives"] == ["2020-2030.C"]

    read = await client.get(f"/v1/public/interactions/{public['id']}")
    assert read.json() == items[0]
    missing = await problem_of(client, f"/v1/public/interactions/{uuid.uuid4()}")
    assert await problem_of(client, f"/v1/public/interactions/{internal['id']}") == missing

    async def subjects(query: str) -> list[str]:
        response = await client.get(f"/v1/public/interactions?{query}")
        assert response.status_code == 200, response.text
        return [item["subject"] for item in response.json()["items"]]

    assert await subjects("channel=meeting") == ["Annual meeting"]
    assert await subjects("channel=call") == []
    assert await subjects("organization_category=industry_association") == ["Annual meeting"]
    assert await subjects("country=NL") == ["Annual meeting"]
    assert await subjects("country=KE") == []
    assert await subjects(f"organization_id={partner['id']}") == ["Annual meeting"]
    assert await subjects("strategic_objective=2020-2030.A") == []
    assert await subjects("occurred_on_from=2026-11-03") == []
    assert await subjects("q=annual") == ["Annual meeting"]
    assert (await client.get("/v1/public/interactions?visibility=internal")).status_code == 200
    assert await subjects("visibility=internal") == ["Annual meeting"]  # not a filter here


async def test_an_organization_has_a_public_profile_only_when_in_the_register(
    client: httpx.AsyncClient,
    organization: Make,
    interaction: Make,
    agreement: Make,
    approved: Make,
) -> None:
    partner = await organization(
        "Plant Health Alliance",
        category="ngo",
        sector="private",
        country="KE",
        geographic_scope="national",
        website="https://pha.example.org",
        description=SECRET,
    )
    quiet = await organization("Quiet partner", category="other")
    await agreement("Only a draft", partner_ids=[quiet["id"]])
    await interaction("Internal chat", [quiet["id"]])
    made = await approved("Joint surveillance", partner=partner)
    met = await interaction("Public visit", [partner["id"]], visibility="public", channel="visit")

    response = await client.get(f"/v1/public/organizations/{partner['id']}")
    assert response.status_code == 200, response.text
    profile = response.json()
    assert set(profile) == keys_of(PublicOrganization)
    PublicOrganization.model_validate(profile)
    assert SECRET not in response.text
    assert profile["name"] == "Plant Health Alliance"
    assert profile["website"] == "https://pha.example.org"
    assert profile["agreement_count"] == 1
    assert [item["id"] for item in profile["agreements"]] == [made["id"]]
    assert profile["interaction_count"] == 1
    assert [item["id"] for item in profile["interactions"]] == [met["id"]]
    for item in profile["agreements"]:
        assert_allowlisted_agreement(item)

    missing = await problem_of(client, f"/v1/public/organizations/{uuid.uuid4()}")
    assert await problem_of(client, f"/v1/public/organizations/{quiet['id']}") == missing


async def test_a_profile_reads_its_counts_and_lists_in_one_snapshot(
    client: httpx.AsyncClient,
    organization: Make,
    interaction: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A meeting recorded between the profile's count and its list (here, at the list's
    first read) shows in neither: the count and the list agree."""
    partner = await organization("Snapshot partner")
    await interaction("First visit", [partner["id"]], visibility="public")
    real_page = service._page
    recorded: list[dict[str, Any]] = []

    async def page_after_a_write(*args: Any, **kwargs: Any) -> Any:
        if not recorded:
            recorded.append(await interaction("Second visit", [partner["id"]], visibility="public"))
        return await real_page(*args, **kwargs)

    monkeypatch.setattr(service, "_page", page_after_a_write)
    profile = (await client.get(f"/v1/public/organizations/{partner['id']}")).json()
    assert recorded
    assert profile["interaction_count"] == 1
    assert [item["subject"] for item in profile["interactions"]] == ["First visit"]
    monkeypatch.setattr(service, "_page", real_page)
    again = (await client.get(f"/v1/public/organizations/{partner['id']}")).json()
    assert again["interaction_count"] == 2
    assert len(again["interactions"]) == 2


async def test_the_open_data_is_every_filtered_item_as_csv(
    client: httpx.AsyncClient, organization: Make, approved: Make, interaction: Make
) -> None:
    partner = await organization("=HYPERLINK(1)", category="ngo")
    for number in range(3):
        await approved(f"Agreement {number}", partner=partner)
    await approved("=SUM(A1)")
    await interaction("@public meeting", [partner["id"]], visibility="public")
    await interaction("Internal one", [partner["id"]])

    rows = csv_rows(await client.get("/v1/public/agreements?format=csv&limit=1"))
    assert [row["title"] for row in rows] == ["'=SUM(A1)", *(f"Agreement {n}" for n in range(3))]
    assert rows[1]["partners"] == "'=HYPERLINK(1)"
    assert rows[1]["partner_categories"] == "ngo"
    assert rows[1]["decisions"] == "2025-03-14 bureau approved (CPM-8 (2013), paragraph 42)"
    assert SECRET not in str(rows)
    assert set(rows[0]) >= {"id", "status", "partner_ids", "strategic_objectives"}
    assert "purpose" not in rows[0]
    assert "rationale" not in rows[0]

    accept = await client.get("/v1/public/interactions", headers={"Accept": "text/csv"})
    interactions = csv_rows(accept)
    assert [row["subject"] for row in interactions] == ["'@public meeting"]
    assert accept.headers["cache-control"].startswith("public, max-age=")
    assert accept.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_the_register_is_read_only(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/v1/public/agreements")
    assert response.status_code == 405
    assert response.headers["access-control-allow-origin"] == "*"


async def test_the_public_engagement_balance_counts_public_data_only(
    client: httpx.AsyncClient,
    organization: Make,
    approved: Make,
    interaction: Make,
    submitted: Make,
) -> None:
    ngo = await organization("Field NGO", category="ngo", sector="private")
    nppo = await organization("A national organization", category="nppo", sector="public")
    await approved("Approved one", partner=ngo, decided_on="2025-03-14")
    await submitted("Not approved", partner=nppo)
    await interaction("Public meeting", [ngo["id"], nppo["id"]], visibility="public")
    await interaction("Internal call", [nppo["id"]], channel="call", occurred_on="2026-11-03")

    response = await client.get("/v1/public/engagement-balance")
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"].startswith("public, max-age=")
    balance = response.json()
    EngagementBalance.model_validate(balance)
    totals = {(year["year"], year["kind"]): year["total"] for year in balance["years"]}
    # The public meeting with two organizations: two pairs; the internal call is not counted;
    # the approved agreement's one partner: one pair; the submitted one is not approved.
    assert totals == {(2026, "interactions"): 2, (2025, "agreements"): 1}
    as_csv = await client.get("/v1/public/engagement-balance?format=csv")
    assert as_csv.text.splitlines()[0].startswith("year,")
    assert as_csv.headers["content-type"].startswith("text/csv")
    kept_csv = await client.get(
        "/v1/public/engagement-balance?format=csv",
        headers={"If-None-Match": as_csv.headers["etag"]},
    )
    assert kept_csv.status_code == 304
    revalidated = await client.get(
        "/v1/public/engagement-balance", headers={"If-None-Match": response.headers["etag"]}
    )
    assert revalidated.status_code == 304
    bad = await client.get("/v1/public/engagement-balance?from=2025-02-01&to=2025-01-01")
    assert bad.status_code == 422


def test_the_public_statuses_are_those_the_contract_names() -> None:
    """The statuses the statements and the partial index take as public are the contract's."""
    assert [str(status) for status in PublicStatus] == list(PUBLIC_STATUSES)


async def test_organizations_show_in_the_order_the_secretariat_gave(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    approved: Make,
    interaction: Make,
) -> None:
    """Partners and the organizations met show in the record's own order, after a change of
    that order too. The order given is that of the ids descending, unlike the link table's
    index (ascending ids), so that rows read in the index's order would show."""
    made = [await organization(name) for name in ("Alpha", "Bravo", "Charlie")]
    ids = sorted((item["id"] for item in made), reverse=True)
    named = {item["id"]: item["name"] for item in made}
    approved_agreement = await approved("Ordered", partner=made[0], partner_ids=ids)
    assert approved_agreement["partner_ids"] == ids
    # First in another order, then changed (the links are written again).
    met = await interaction("Met in order", sorted(ids), visibility="public")
    read = await client.get(f"/v1/interactions/{met['id']}", headers=secretariat)
    changed = await client.patch(
        f"/v1/interactions/{met['id']}",
        json={"organization_ids": ids},
        headers={
            **secretariat,
            "If-Match": read.headers["etag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert changed.status_code == 200, changed.text

    # Each link keeps its place in the record's list.
    links = await app.state.database.read(
        select(INTERACTION_PLACES.c.organization_id, INTERACTION_PLACES.c.position).where(
            INTERACTION_PLACES.c.interaction_id == uuid.UUID(met["id"])
        )
    )
    assert sorted((row.position, str(row.organization_id)) for row in links) == list(enumerate(ids))
    public = (await client.get(f"/v1/public/agreements/{approved_agreement['id']}")).json()
    assert [item["id"] for item in public["partners"]] == ids
    assert [item["name"] for item in public["partners"]] == [named[key] for key in ids]
    shown = (await client.get(f"/v1/public/interactions/{met['id']}")).json()
    assert [item["id"] for item in shown["organizations"]] == ids
    listed = (await client.get("/v1/public/interactions")).json()["items"]
    assert [item["id"] for item in listed[0]["organizations"]] == ids
