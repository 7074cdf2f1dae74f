"""Listing agreements: filters, sorts (dates may be null), pages and CSV (design §8)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core import csv_export
from app.models import Agreement
from tests.registry import Make, csv_rows, every_page, pointers, set_columns

URL = "/v1/agreements"


def _titles(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
async def catalogue(app: FastAPI, organization: Make, agreement: Make) -> dict[str, dict[str, Any]]:
    ngo = await organization("Seed Savers", category="ngo")
    nppo = await organization("Plant Health Service", category="nppo", country="KE")
    made = {
        "Alpha": await agreement(
            "Alpha",
            partner_ids=[ngo["id"]],
            strategic_objectives=["2020-2030.A"],
            start_date="2027-01-01",
            end_date="2027-12-31",
        ),
        "Beta": await agreement(
            "Beta",
            level="cooperation",
            instrument="memorandum_of_understanding",
            partner_ids=[nppo["id"], ngo["id"]],
            strategic_objectives=["2020-2030.B"],
            start_date="2026-06-01",
            financing={"amount": "1000", "currency": "EUR", "direction": "to_ippc"},
        ),
        "Gamma": await agreement("Gamma", partner_ids=[nppo["id"]], end_date="2030-01-01"),
        "Ágora": await agreement("Ágora"),
    }
    await set_columns(app, Agreement, made["Gamma"]["id"], status="active")
    return {**made, "ngo": ngo, "nppo": nppo}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Ágora", "Alpha", "Beta", "Gamma"]),
        ({"status": "active"}, ["Gamma"]),
        ({"status": ["draft", "active"]}, ["Ágora", "Alpha", "Beta", "Gamma"]),
        ({"level": "cooperation"}, ["Beta"]),
        ({"instrument": "memorandum_of_understanding"}, ["Beta"]),
        ({"partner_category": "nppo"}, ["Beta", "Gamma"]),
        ({"partner_category": ["ngo", "nppo"]}, ["Alpha", "Beta", "Gamma"]),
        ({"strategic_objective": "2020-2030.B"}, ["Beta"]),
        ({"strategic_objective": ["2020-2030.A", "2020-2030.B"]}, ["Alpha", "Beta"]),
        ({"start_date_from": "2026-06-01", "start_date_to": "2026-06-01"}, ["Beta"]),
        ({"start_date_from": "2026-06-02"}, ["Alpha"]),
        ({"end_date_to": "2029-01-01"}, ["Alpha"]),
        ({"has_financing": "true"}, ["Beta"]),
        ({"has_financing": "false"}, ["Ágora", "Alpha", "Gamma"]),
        ({"q": "AGORA"}, ["Ágora"]),
        ({"q": "ph"}, ["Alpha"]),
    ],
)
async def test_filters(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    catalogue: dict[str, dict[str, Any]],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    assert _titles(await client.get(URL, params=params, headers=secretariat)) == expected


async def test_partner_filter(
    client: httpx.AsyncClient, secretariat: dict[str, str], catalogue: dict[str, dict[str, Any]]
) -> None:
    ngo, nppo = catalogue["ngo"]["id"], catalogue["nppo"]["id"]
    assert _titles(await client.get(URL, params={"partner_id": ngo}, headers=secretariat)) == [
        "Alpha",
        "Beta",
    ]
    both = await client.get(URL, params={"partner_id": [ngo, nppo]}, headers=secretariat)
    assert _titles(both) == ["Alpha", "Beta", "Gamma"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "signed"},
        {"start_date_from": "2026-13-01"},
        {"start_date_from": "1767225600"},
        {"has_financing": "yes"},
        {"sort": "purpose"},
        {"partner_id": "nope"},
    ],
)
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient, secretariat: dict[str, str], params: dict[str, str]
) -> None:
    assert pointers(await client.get(URL, params=params, headers=secretariat)) == list(params)


@pytest.mark.parametrize(
    ("sort", "dated", "undated"),
    [
        ("start_date", ["Beta", "Alpha"], {"Gamma", "Ágora"}),
        ("-start_date", ["Alpha", "Beta"], {"Gamma", "Ágora"}),
        ("end_date", ["Alpha", "Gamma"], {"Beta", "Ágora"}),
        ("-end_date", ["Gamma", "Alpha"], {"Beta", "Ágora"}),
        ("-title", ["Gamma", "Beta", "Alpha", "Ágora"], set()),
        ("created_at", ["Alpha", "Beta", "Gamma", "Ágora"], set()),
    ],
)
async def test_sorts_page_across_null_dates_on_both_databases(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    catalogue: dict[str, dict[str, Any]],
    sort: str,
    dated: list[str],
    undated: set[str],
) -> None:
    """Agreements without the date come last, ascending and descending; one item a page puts
    a page boundary on each NULL. (Ties on NULL are in id order: compared as a set.)"""
    whole = _titles(await client.get(URL, params={"sort": sort}, headers=secretariat))
    paged = await every_page(client, secretariat, f"{URL}?sort={sort}&limit=1", "title")
    assert paged == whole
    assert paged[: len(dated)] == dated
    assert set(paged[len(dated) :]) == undated
    assert len(paged) == len(dated) + len(undated)


@pytest.mark.parametrize("sort", ["start_date", "-start_date", "end_date", "-end_date"])
async def test_csv_chunks_cross_null_dates_as_pages_do(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    catalogue: dict[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    sort: str,
) -> None:
    """An export reads its rows in chunks, each after the last row of the one before, in two
    parts when the sort key may be null (`Ordering.read_parts`): one row a chunk puts a chunk
    boundary on each NULL, and the CSV has every row once, in the list's order."""
    monkeypatch.setattr(csv_export, "CHUNK_ROWS", 1)
    whole = _titles(await client.get(URL, params={"sort": sort}, headers=secretariat))
    response = await client.get(URL, params={"format": "csv", "sort": sort}, headers=secretariat)
    assert [row["title"] for row in csv_rows(response)] == whole
    assert len(whole) == 4


async def test_csv_exports_the_whole_filtered_set(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    agreement: Make,
    catalogue: dict[str, dict[str, Any]],
) -> None:
    await agreement("=HYPERLINK(1)")
    response = await client.get(
        URL, params={"format": "csv", "limit": 1, "has_financing": "false"}, headers=secretariat
    )
    rows = csv_rows(response)
    assert [row["title"] for row in rows] == ["'=HYPERLINK(1)", "Ágora", "Alpha", "Gamma"]
    header = list(rows[0])
    assert header[:2] == ["id", "title"]
    start = header.index("financing_amount")
    assert header[start : start + 3] == [
        "financing_amount",
        "financing_currency",
        "financing_direction",
    ]
    financed = csv_rows(
        await client.get(
            URL, params={"has_financing": "true"}, headers={**secretariat, "Accept": "text/csv"}
        )
    )
    (beta,) = financed
    assert (beta["financing_amount"], beta["financing_currency"]) == ("1000.00", "EUR")
    assert beta["partner_ids"] == f"{catalogue['nppo']['id']}; {catalogue['ngo']['id']}"
    assert beta["required_approvals"] == "bureau; cpm"
    assert beta["start_date"] == "2026-06-01"
    assert beta["end_date"] == ""


async def test_the_ranges_of_end_date_and_of_the_timestamps(
    client: httpx.AsyncClient, secretariat: dict[str, str], catalogue: dict[str, dict[str, Any]]
) -> None:
    """`end_date_from`, `created_at_*` and `updated_at_*` each filter, inclusively."""
    alpha, beta = catalogue["Alpha"], catalogue["Beta"]
    renamed = await client.patch(
        f"{URL}/{alpha['id']}",
        json={"purpose": "Renamed later"},
        headers={**secretariat, "If-Match": "*", "Content-Type": "application/merge-patch+json"},
    )
    assert renamed.status_code == 200, renamed.text
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({"end_date_from": "2028-01-01"}, ["Gamma"]),
        ({"end_date_from": "2027-12-31", "end_date_to": "2027-12-31"}, ["Alpha"]),
        ({"created_at_from": beta["created_at"]}, ["Ágora", "Beta", "Gamma"]),
        ({"created_at_to": beta["created_at"]}, ["Alpha", "Beta"]),
        ({"updated_at_from": renamed.json()["updated_at"]}, ["Alpha"]),
        ({"updated_at_to": beta["updated_at"]}, ["Beta"]),
    ]
    for params, expected in cases:
        shown = _titles(await client.get(URL, params=params, headers=secretariat))
        assert shown == expected, params


async def test_csv_gives_the_financing_as_three_columns(
    client: httpx.AsyncClient, secretariat: dict[str, str], catalogue: dict[str, dict[str, Any]]
) -> None:
    response = await client.get(URL, params={"format": "csv"}, headers=secretariat)
    rows = {row["title"]: row for row in csv_rows(response)}
    beta, alpha = rows["Beta"], rows["Alpha"]
    assert (beta["financing_amount"], beta["financing_currency"]) == ("1000.00", "EUR")
    assert beta["financing_direction"] == "to_ippc"
    assert "financing" not in beta
    assert (alpha["financing_amount"], alpha["financing_currency"]) == ("", "")
    assert alpha["financing_direction"] == ""
