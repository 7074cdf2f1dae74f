"""Listing interactions, and an organization's interactions and agreements (design §8)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.registry import Make, csv_rows, every_page, pointers

URL = "/v1/interactions"


def _subjects(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["subject"] for item in response.json()["items"]]


@pytest.fixture
async def diary(organization: Make, interaction: Make, agreement: Make) -> dict[str, Any]:
    ngo, nppo = await organization("Seed Savers"), await organization("Plant Health Service")
    linked = await agreement()
    made = {
        "Kick-off": await interaction(
            "Kick-off",
            [ngo["id"]],
            occurred_on="2026-01-10",
            strategic_objectives=["2020-2030.A"],
            visibility="public",
        ),
        "Follow-up call": await interaction(
            "Follow-up call",
            [ngo["id"], nppo["id"]],
            occurred_on="2026-02-20",
            channel="call",
            agreement_id=linked["id"],
        ),
        "Site visit": await interaction(
            "Site visit", [nppo["id"]], occurred_on="2026-02-20", channel="visit"
        ),
        "Conférence": await interaction(
            "Conférence", [nppo["id"]], occurred_on="2026-03-01", channel="event"
        ),
    }
    return {**made, "ngo": ngo, "nppo": nppo, "agreement": linked}


async def test_the_latest_come_first(
    client: httpx.AsyncClient, secretariat: dict[str, str], diary: dict[str, Any]
) -> None:
    subjects = _subjects(await client.get(URL, headers=secretariat))
    assert subjects[0] == "Conférence"
    assert set(subjects[1:3]) == {"Follow-up call", "Site visit"}
    assert subjects[3] == "Kick-off"
    paged = await every_page(client, secretariat, f"{URL}?limit=1", "subject")
    assert paged == subjects


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"channel": "call"}, ["Follow-up call"]),
        ({"channel": ["call", "visit"], "sort": "subject"}, ["Follow-up call", "Site visit"]),
        ({"visibility": "public"}, ["Kick-off"]),
        (
            {"occurred_on_from": "2026-02-20", "occurred_on_to": "2026-02-20", "sort": "subject"},
            ["Follow-up call", "Site visit"],
        ),
        ({"occurred_on_to": "2026-01-31"}, ["Kick-off"]),
        ({"strategic_objective": "2020-2030.A"}, ["Kick-off"]),
        ({"q": "CONFERENCE"}, ["Conférence"]),
        ({"sort": "subject"}, ["Conférence", "Follow-up call", "Kick-off", "Site visit"]),
        ({"sort": "-subject"}, ["Site visit", "Kick-off", "Follow-up call", "Conférence"]),
        ({"sort": "occurred_on", "channel": "meeting"}, ["Kick-off"]),
    ],
)
async def test_filters_and_sorts(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    diary: dict[str, Any],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    assert _subjects(await client.get(URL, params=params, headers=secretariat)) == expected


async def test_organization_and_agreement_filters(
    client: httpx.AsyncClient, secretariat: dict[str, str], diary: dict[str, Any]
) -> None:
    by_ngo = {"organization_id": diary["ngo"]["id"], "sort": "subject"}
    assert _subjects(await client.get(URL, params=by_ngo, headers=secretariat)) == [
        "Follow-up call",
        "Kick-off",
    ]
    linked = {"agreement_id": diary["agreement"]["id"]}
    assert _subjects(await client.get(URL, params=linked, headers=secretariat)) == [
        "Follow-up call"
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"channel": "fax"},
        {"occurred_on_from": "yesterday"},
        {"strategic_objective": "A"},
        {"organization_id": "x"},
        {"sort": "location"},
        {"limit": "0"},
    ],
)
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient, secretariat: dict[str, str], params: dict[str, str]
) -> None:
    assert pointers(await client.get(URL, params=params, headers=secretariat)) == list(params)


async def test_csv(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    interaction: Make,
    diary: dict[str, Any],
) -> None:
    await interaction("@SUM(A1)", [diary["ngo"]["id"]], occurred_on="2025-01-01")
    rows = csv_rows(
        await client.get(URL, params={"format": "csv", "limit": 1}, headers=secretariat)
    )
    assert len(rows) == 5
    assert rows[-1]["subject"] == "'@SUM(A1)"
    call = next(row for row in rows if row["subject"] == "Follow-up call")
    assert call["organization_ids"] == f"{diary['ngo']['id']}; {diary['nppo']['id']}"
    assert call["agreement_id"] == diary["agreement"]["id"]
    assert list(rows[0])[:3] == ["id", "occurred_on", "channel"]


# --- An organization's records -----------------------------------------------------------------


async def test_an_organizations_interactions_and_agreements(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    organization: Make,
    agreement: Make,
    diary: dict[str, Any],
) -> None:
    nppo = diary["nppo"]
    await agreement("With the NPPO", partner_ids=[nppo["id"]], level="cooperation")
    await agreement("Without")
    path = f"/v1/organizations/{nppo['id']}"
    met = await client.get(f"{path}/interactions", params={"sort": "subject"}, headers=bureau)
    assert _subjects(met) == ["Conférence", "Follow-up call", "Site visit"]
    calls = await client.get(f"{path}/interactions", params={"channel": "call"}, headers=bureau)
    assert _subjects(calls) == ["Follow-up call"]
    agreements = await client.get(f"{path}/agreements", headers=bureau)
    assert [item["title"] for item in agreements.json()["items"]] == ["With the NPPO"]
    none = await client.get(f"{path}/agreements", params={"level": "partnership"}, headers=bureau)
    assert none.json()["items"] == []
    exported = csv_rows(
        await client.get(f"{path}/interactions", params={"format": "csv"}, headers=bureau)
    )
    assert len(exported) == 3
    read = await client.get(path, headers=bureau)
    assert read.json()["reference_counts"] == {
        "branches": 0,
        "interactions": 3,
        "agreements": 1,
        "interest_declarations": 0,
    }
    refused = await client.delete(path, headers={**secretariat, "If-Match": "*"})
    assert refused.status_code == 409
    assert refused.json()["references"] == {"interactions": 3, "agreements": 1}


@pytest.mark.parametrize("records", ["interactions", "agreements"])
async def test_an_unknown_organization_has_no_records(
    client: httpx.AsyncClient, secretariat: dict[str, str], records: str
) -> None:
    path = f"/v1/organizations/{uuid.uuid4()}/{records}"
    assert (await client.get(path, headers=secretariat)).status_code == 404
    exported = await client.get(path, params={"format": "csv"}, headers=secretariat)
    assert exported.status_code == 404
    assert (await client.get(path)).status_code == 401


async def test_the_counts_change_the_organizations_etag(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, interaction: Make
) -> None:
    met = await organization("Met")
    before = await client.get(f"/v1/organizations/{met['id']}", headers=secretariat)
    await interaction(organization_ids=[met["id"]])
    after = await client.get(
        f"/v1/organizations/{met['id']}",
        headers={**secretariat, "If-None-Match": before.headers["etag"]},
    )
    assert after.status_code == 200
    assert after.json()["reference_counts"]["interactions"] == 1


async def test_the_ranges_of_the_timestamps(
    client: httpx.AsyncClient, secretariat: dict[str, str], diary: dict[str, Any]
) -> None:
    """`created_at_*` and `updated_at_*` each filter, inclusively."""
    kick_off, site_visit = diary["Kick-off"], diary["Site visit"]
    corrected = await client.patch(
        f"{URL}/{kick_off['id']}",
        json={"summary": "Corrected later"},
        headers={**secretariat, "If-Match": "*", "Content-Type": "application/merge-patch+json"},
    )
    assert corrected.status_code == 200, corrected.text
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({"created_at_from": site_visit["created_at"]}, ["Conférence", "Site visit"]),
        ({"created_at_to": kick_off["created_at"]}, ["Kick-off"]),
        ({"updated_at_from": corrected.json()["updated_at"]}, ["Kick-off"]),
        ({"updated_at_to": site_visit["updated_at"]}, ["Follow-up call", "Site visit"]),
    ]
    for params, expected in cases:
        found = await client.get(URL, params={**params, "sort": "subject"}, headers=secretariat)
        assert _subjects(found) == expected, params


@pytest.mark.parametrize("sort", ["occurred_on", "-occurred_on"])
@pytest.mark.parametrize("listed", ["/v1/interactions", "/v1/public/interactions"])
async def test_pages_cross_a_day_of_many_interactions_in_id_order(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    interaction: Make,
    sort: str,
    listed: str,
) -> None:
    """Many interactions on one day: a cursor in the middle of them takes the next in id
    order, the keys compared as one row value (`core.pagination.after`), on both databases."""
    partner = await organization("Met often")
    day = [
        await interaction(f"Meeting {number}", [partner["id"]], visibility="public")
        for number in range(5)
    ]
    before = await interaction("The day before", [partner["id"]], occurred_on="2026-11-01")
    await interaction("Internal", [partner["id"]], occurred_on="2026-11-03")  # on no public list
    ids = sorted(item["id"] for item in day)
    expected = [before["id"], *ids] if sort == "occurred_on" else [*reversed(ids), before["id"]]
    if listed == "/v1/public/interactions":
        expected.remove(before["id"])  # internal
    paged = await every_page(client, secretariat, f"{listed}?sort={sort}&limit=2", "id")
    assert [item for item in paged if item in expected] == expected
