"""Listing organizations: pages, filters, search, sort, CSV (design §8)."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import httpx
import pytest

from app.core.csv_export import cell, wants_csv
from tests.organizations.conftest import Create

URL = "/v1/organizations"


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def _every_page(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> list[str]:
    """The names of every page, following the Link headers from `url`."""
    seen: list[str] = []
    following: str | None = url
    while following:
        response = await client.get(following, headers=headers)
        seen += _names(response)
        link = response.headers.get("link")
        following = link[1 : link.index(">")] if link else None
    return seen


async def test_pages_follow_link_headers(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    for index in range(5):
        await create(f"Organization {index}")
    seen = await _every_page(client, secretariat, f"{URL}?limit=2")
    assert seen == [f"Organization {index}" for index in range(5)]


async def test_limit_is_bounded(client: httpx.AsyncClient, secretariat: dict[str, str]) -> None:
    assert (await client.get(URL, params={"limit": 201}, headers=secretariat)).status_code == 422
    assert (await client.get(URL, params={"limit": 200}, headers=secretariat)).status_code == 200


async def test_search_ignores_case_and_accents(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    await create("Organización Norteamericana de Protección a las Plantas", acronym="NAPPO")
    await create("Ministère de l'Agriculture", country="FR")
    await create("Plant Health Australia", country="AU")
    assert _names(await client.get(URL, params={"q": "PROTECCION"}, headers=secretariat)) == [
        "Organización Norteamericana de Protección a las Plantas"
    ]
    assert _names(await client.get(URL, params={"q": "ministere"}, headers=secretariat)) == [
        "Ministère de l'Agriculture"
    ]
    assert _names(await client.get(URL, params={"q": "nappo"}, headers=secretariat)) == [
        "Organización Norteamericana de Protección a las Plantas"
    ]
    assert _names(await client.get(URL, params={"q": "100%"}, headers=secretariat)) == []
    assert _names(await client.get(URL, params={"q": "_"}, headers=secretariat)) == []


async def test_filters_repeat_and_combine(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    await create("A", category="ngo", country="KE")
    await create("B", category="rppo", country="KE")
    await create("C", category="nppo", country="FR")
    params: list[tuple[str, str | int | float | bool | None]]
    params = [("category", "ngo"), ("category", "rppo")]
    assert _names(await client.get(URL, params=params, headers=secretariat)) == ["A", "B"]
    params = [("category", "ngo"), ("category", "nppo"), ("country", "FR")]
    assert _names(await client.get(URL, params=params, headers=secretariat)) == ["C"]
    bad = await client.get(URL, params={"category": "lobby"}, headers=secretariat)
    assert bad.status_code == 422


async def test_date_ranges_are_inclusive(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    first = await create("First")
    await create("Second")
    exactly = {"created_at_from": first["created_at"], "created_at_to": first["created_at"]}
    assert _names(await client.get(URL, params=exactly, headers=secretariat)) == ["First"]
    after = {"created_at_from": first["created_at"]}
    assert _names(await client.get(URL, params=after, headers=secretariat)) == ["First", "Second"]


async def test_sort_whitelist_and_direction(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    await create("Beta")
    await create("alpha")
    await create("Gamma")
    assert _names(await client.get(URL, headers=secretariat)) == ["alpha", "Beta", "Gamma"]
    descending = await client.get(URL, params={"sort": "-name"}, headers=secretariat)
    assert _names(descending) == ["Gamma", "Beta", "alpha"]
    created = await client.get(URL, params={"sort": "-created_at"}, headers=secretariat)
    assert _names(created) == ["Gamma", "alpha", "Beta"]
    refused = await client.get(URL, params={"sort": "website"}, headers=secretariat)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["parameter"] == "sort"


async def test_descending_pages_and_a_cursor_of_another_sort(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    for name in ("A", "B", "C"):
        await create(name)
    first = await client.get(URL, params={"sort": "-name", "limit": 2}, headers=secretariat)
    cursor = first.json()["next_cursor"]
    rest = await client.get(
        URL, params={"sort": "-name", "limit": 2, "cursor": cursor}, headers=secretariat
    )
    assert _names(first) + _names(rest) == ["C", "B", "A"]
    mixed = await client.get(URL, params={"sort": "name", "cursor": cursor}, headers=secretariat)
    assert mixed.status_code == 422


async def test_csv_streams_the_whole_filtered_set(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    for index in range(3):
        await create(f"Org {index}", country="KE")
    await create("Elsewhere", country="FR")
    response = await client.get(
        URL, params={"format": "csv", "country": "KE", "limit": 1}, headers=secretariat
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["name"] for row in rows] == ["Org 0", "Org 1", "Org 2"]
    assert rows[0]["archived"] == "false"
    assert rows[0]["country"] == "KE"


async def test_csv_by_accept_header(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    await create("Org")
    response = await client.get(URL, headers={**secretariat, "Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    json_preferred = await client.get(
        URL, headers={**secretariat, "Accept": "application/json, text/csv;q=0.5"}
    )
    assert json_preferred.headers["content-type"] == "application/json"


async def test_csv_defuses_formulas(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    await create('=HYPERLINK("http://evil.example","x")', acronym="+1", description="@SUM(A1)")
    await create("-2+3", description="\tcmd")
    response = await client.get(URL, params={"format": "csv"}, headers=secretariat)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"'-2+3", '\'=HYPERLINK("http://evil.example","x")'}
    formula = by_name['\'=HYPERLINK("http://evil.example","x")']
    assert formula["acronym"] == "'+1"
    assert formula["description"] == "'@SUM(A1)"
    assert by_name["'-2+3"]["description"] == "'\tcmd"
    assert by_name["'-2+3"]["version"] == "1"


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at", "-updated_at"])
async def test_date_sorts_page_past_the_first_page(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create, sort: str
) -> None:
    """Following the service's own next_cursor on a date sort (it was a 500 after page 1)."""
    for index in range(5):
        await create(f"Dated {index}")
    seen = await _every_page(client, secretariat, f"{URL}?limit=2&sort={sort}")
    expected = [f"Dated {index}" for index in range(5)]
    assert seen == (expected[::-1] if sort.startswith("-") else expected)


async def test_a_cursor_of_another_list_is_refused(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    for name in ("A", "B"):
        await create(name)
    page = await client.get(URL, params={"limit": 1}, headers=secretariat)
    cursor = page.json()["next_cursor"]
    token, *values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert token == "organizations:name"
    other = base64.urlsafe_b64encode(json.dumps(["interactions:name", *values]).encode())
    response = await client.get(
        URL, params={"cursor": other.decode().rstrip("=")}, headers=secretariat
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "values",
    [
        None,
        {"a": 1},
        [True, "00000000-0000-4000-8000-000000000000"],
        [1e308 * 10, "00000000-0000-4000-8000-000000000000"],
        ["a\x00", "00000000-0000-4000-8000-000000000000"],
        ["\ud800", "00000000-0000-4000-8000-000000000000"],
        ["x", None],
    ],
)
async def test_forged_cursors_are_422_never_500(
    client: httpx.AsyncClient, secretariat: dict[str, str], values: Any
) -> None:
    payload = ["organizations:name", *values] if isinstance(values, list) else values
    raw = json.dumps(payload).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for sort in ("name", "-created_at"):
        response = await client.get(
            URL, params={"cursor": cursor, "sort": sort}, headers=secretariat
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {"detail": "Invalid cursor: use the next_cursor of a page", "parameter": "cursor"}
        ]


async def test_lists_vary_on_accept(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    """The same URL answers JSON or CSV by the Accept header: caches must keep them apart."""
    await create("Org")
    as_json = await client.get(URL, headers=secretariat)
    as_csv = await client.get(URL, headers={**secretariat, "Accept": "text/csv"})
    for response in (as_json, as_csv):
        assert "accept" in response.headers["vary"].lower()


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "\n=1+1",
        " =1+1",
        "\u00a0=1+1",
        "\u200b=1+1",
        "\ufeff=1+1",
        "\u2060@SUM(A1)",
        "\uff1d1+1",
        "\uff0b1",
        "\r=1",
        "\r",
        "\t",
        "  \u3000-2",
        "\u0301=1",
        "\u034f=1",
        "\ufe0f=1",
        "\u3164=1",
        "\u115f=1",
        "\u1160=1",
        "\uffa0=1",
        "\u2800=1",
        "\u17b4=1",
    ],
)
def test_a_formula_behind_invisible_characters_is_defused(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Plant health", "", "  ", "a=b", "1-2", "\u200b"])
def test_plain_text_is_left_alone(text: str) -> None:
    assert cell(text) == text


def test_a_list_cell_leaves_an_item_not_given_empty() -> None:
    """The partners' countries of an agreement whose second partner has none."""
    assert cell(["NO", None, "GB"]) == "NO; ; GB"
    assert cell([None]) == ""


@pytest.mark.parametrize(
    "stem",
    [
        "\U00020000" * 298,  # four bytes each in UTF-8
        '"' * 298,  # escaped in JSON
        "\u4e2d" * 298,
    ],
)
async def test_the_longest_names_page_on(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create, stem: str
) -> None:
    """A page ending on the longest name still gives a cursor that works (a 500 once)."""
    names = [f"{stem} {letter}" for letter in "AB"]
    for name in names:
        await create(name)
    assert await _every_page(client, secretariat, f"{URL}?limit=1") == names
    assert await _every_page(client, secretariat, f"{URL}?limit=1&sort=-name") == names[::-1]


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        ("text/csv", True),
        ("text/csv, application/json;q=0.9", True),
        ("application/json, text/csv;q=0.5", False),
        ("*/*;q=1, text/csv;q=0.5", False),
        ("text/csv;q=0.1, */*", False),
        ("text/*;q=0.9, application/*;q=0.5", True),
        ("text/csv;q=0, */*", False),
        ("*/*", False),
        ("text/csv;q=nonsense", False),
        # Weights RFC 9110 does not write make the range unacceptable, all alike.
        ("application/json;q=nan, text/csv", True),
        ("application/json;q=abc, text/csv", True),
        ("application/json;q=1e0, text/csv;q=0.5", True),
        ("application/json;q=0.5000, text/csv;q=0.4", True),
        ("application/json;q=0.500, text/csv;q=0.4", False),
        ("application/json;q=1.0, text/csv;q=1.001", False),
    ],
)
def test_csv_is_chosen_by_the_most_specific_range(accept: str, csv: bool) -> None:
    assert wants_csv(None, accept) is csv
