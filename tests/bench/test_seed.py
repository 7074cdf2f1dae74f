"""The bench's seed, on the test's database: the streamed rows it promises (counts, link places,
the computed columns as the service's own functions make them), written through each database's
fast path and leaving the schema as the migrations made it; and the pages it draws from random
positions, which the service accepts and answers with the page after the row drawn."""

from __future__ import annotations

import gc
import random
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from app.agreements.workflow import ApprovalFacts, required_approvals
from app.core.db import Database
from app.core.listing import spaced
from app.core.text import normalize
from app.organizations.service import keys
from bench import positions
from bench.seed import (
    CHUNK,
    TABLES,
    Sizes,
    agreements,
    collect,
    in_chunks,
    interactions,
    organization_rows,
    seed,
)
from tests.conftest import BACKEND

ROWS = 240


def test_rows_means_agreements_with_interactions_and_organizations_in_proportion() -> None:
    assert (Sizes(ROWS).agreements, Sizes(ROWS).interactions) == (ROWS, ROWS)
    assert Sizes(1_000_000).organizations == 100_000
    assert Sizes(10_000).organizations == 1_000
    assert Sizes(30).organizations == Sizes.MIN_ORGANIZATIONS  # partners to choose from


def test_chunks_keep_each_records_rows_before_their_links_and_hold_no_more() -> None:
    organizations = list(organization_rows(30))
    ids = [row["id"] for row in organizations]
    categories = {row["id"]: row["category"] for row in organizations}
    chunks = list(in_chunks(agreements(ids, 25, categories=categories), size=10))
    assert [len(chunk["agreement"]) for chunk in chunks] == [10, 10, 5]
    assert all(
        list(chunk)[:4] == ["agreement", "agreement_partner", "agreement_objective", "decision"]
        for chunk in chunks
    )
    assert sum(len(chunk["decision"]) for chunk in chunks) == 12  # every other one
    assert CHUNK >= 1_000  # chunks large enough for the fast paths, small enough for memory


def test_the_streams_computed_columns_are_the_services() -> None:
    organizations = list(organization_rows(50))
    for row in organizations:
        computed = keys(row["name"], row["acronym"], row["country"])
        assert {name: row[name] for name in computed} == computed
    ids = [row["id"] for row in organizations]
    rows = collect(interactions(ids, 200))
    for row in rows["interaction"]:
        assert row["subject_key"] == row["search_key"] == normalize(row["subject"])
        assert row["objective_codes"] == spaced(row["strategic_objectives"])
    categories = {row["id"]: row["category"] for row in organizations}
    rows = collect(agreements(ids, 200, categories=categories))
    decisions = {row["id"]: row for row in rows["decision"]}
    for row in rows["agreement"]:
        assert row["title_key"] == row["search_key"] == normalize(row["title"])
        named = [categories[uuid.UUID(item)] for item in row["partner_ids"]]
        assert row["partner_categories"] == spaced(named)
        assert row["objective_codes"] == spaced(row["strategic_objectives"])
        facts = ApprovalFacts(row["level"], row["instrument"], False, False, None)
        assert row["required_approvals"] == [str(body) for body in required_approvals(facts)]
        decision = decisions.get(row["last_decision_id"])
        if row["status"] == "draft":
            assert decision is None
            assert row["approved_on"] is None
        else:
            assert decision is not None
            assert decision["agreement_id"] == row["id"]
            assert decision["agreement_status"] == row["status"]
            approved = row["status"] == "approved"
            assert row["approved_on"] == (decision["decided_on"] if approved else None)
    assert any(row["status"] == "approved" for row in rows["agreement"])


async def _scalars(database: Database, statement: str) -> list[Any]:
    async with database.engine.connect() as connection:
        return list((await connection.execute(text(statement))).scalars())


async def _schema(database: Database) -> list[str]:
    """The indexes and constraints of the seeded tables, as PostgreSQL defines them."""
    names = ", ".join(f"'{name}'" for name in TABLES)
    indexes = await _scalars(
        database,
        f"SELECT indexname || ' ' || indexdef FROM pg_indexes "
        f"WHERE tablename IN ({names}) ORDER BY 1",
    )
    constraints = await _scalars(
        database,
        "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE conrelid::regclass::text IN "
        f"({names}) OR confrelid::regclass::text IN ({names}) ORDER BY 1",
    )
    return [*indexes, *constraints]


@pytest.fixture
async def seeded(database_url: str) -> tuple[str, Any, list[str]]:
    database = Database(database_url, poolclass=NullPool)
    try:
        before = await _schema(database) if BACKEND == "postgresql" else []
        result = await seed(database_url, ROWS)
        after = await _schema(database) if BACKEND == "postgresql" else []
    finally:
        await database.dispose()
    assert before == after  # every index and constraint made again, as it was
    assert gc.isenabled()  # the collector, off during the load, is on again
    return database_url, result, before


async def test_the_seed_writes_what_it_promises(seeded: tuple[str, Any, list[str]]) -> None:
    url, result, schema = seeded
    assert BACKEND == "sqlite" or len(schema) > 40
    sizes = Sizes(ROWS)
    expected = collect(
        interactions([row["id"] for row in organization_rows(sizes.organizations)], ROWS)
    )
    database = Database(url, poolclass=NullPool)
    try:
        counted = {
            name: (await _scalars(database, f'SELECT count(*) FROM "{name}"'))[0] for name in TABLES
        }
        assert counted == dict(result.counts)
        assert counted["organization"] == sizes.organizations
        assert counted["agreement"] == counted["interaction"] == ROWS
        assert counted["decision"] == ROWS // 2
        assert counted["interaction_organization"] == len(expected["interaction_organization"])
        tables = SQLModel.metadata.tables
        async with database.engine.connect() as connection:
            agreement, partner = tables["agreement"], tables["agreement_partner"]
            listed = {
                row.id: row.partner_ids
                for row in await connection.execute(select(agreement.c.id, agreement.c.partner_ids))
            }
            placed: dict[uuid.UUID, list[tuple[int, str]]] = {}
            for row in await connection.execute(select(partner)):
                placed.setdefault(row.agreement_id, []).append(
                    (row.position, str(row.organization_id))
                )
            assert len(placed) == ROWS
            for id_, links in placed.items():  # the partners' places are their order
                assert [organization for _, organization in sorted(links)] == listed[id_]
                assert sorted(place for place, _ in links) == list(range(len(links)))
            organization = tables["organization"]
            for row in await connection.execute(select(organization)):
                assert row.name_key == keys(row.name, row.acronym, row.country)["name_key"]
                assert row.search_key == keys(row.name, row.acronym, row.country)["search_key"]
            interaction = tables["interaction"]
            for row in await connection.execute(select(interaction)):
                assert row.subject_key == row.search_key == normalize(row.subject)
            public = await _scalars(
                database, "SELECT count(*) FROM agreement WHERE status = 'approved'"
            )
            assert public[0] > 0
    finally:
        await database.dispose()


LIST_CASES = [
    ("/v1/organizations", ""),
    ("/v1/organizations", "sort=-created_at&category=ngo"),
    ("/v1/agreements", "sort=start_date"),
    ("/v1/agreements", "sort=-approved_on"),
    ("/v1/agreements", "q=v%C3%A9g%C3%A9taux"),
    ("/v1/agreements", "partner_category=ngo&sort=-end_date"),
    ("/v1/interactions", "sort=subject&channel=meeting"),
    ("/v1/decisions", ""),
    ("/v1/public/agreements", "sort=-approved_on"),
    ("/v1/public/interactions", ""),
]


async def _everything(
    client: httpx.AsyncClient, path: str, query: str, headers: dict[str, str]
) -> list[str]:
    """The ids of the whole list, in its order, walked through the API."""
    ids: list[str] = []
    url = f"{path}?{query}&limit=200" if query else f"{path}?limit=200"
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        url = f"{path}?{query}&limit=200&cursor={cursor}" if cursor else ""
    return ids


async def test_cursors_from_random_positions_give_the_page_after_the_row(
    seeded: tuple[str, Any, list[str]],
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
) -> None:
    url, _, _ = seeded
    headers = auth_headers("integration")
    routes = positions.routes()
    database = Database(url, poolclass=NullPool)
    try:
        async with database.engine.connect() as connection:
            for path, query in LIST_CASES:
                whole = await _everything(client, path, query, headers)
                assert whole, (path, query)
                route = routes[path]
                filters, sort = await route.query(query)
                ordering = route.spec.ordering(sort)
                statement = route.spec.where(filters).with_only_columns(
                    *(key.column for key in ordering.keys)
                )
                rows = await positions.draw_rows(
                    connection, statement, route.spec.sorts.tiebreaker, 12, random.Random(path)
                )
                drawn = {str(row[-1]) for row in rows}
                assert len(drawn) >= min(6, len(whole) // 2), (path, query)  # spread out
                for row in rows:
                    cursor = positions.cursor_after(ordering, row)
                    separator = "&" if query else ""
                    response = await client.get(
                        f"{path}?{query}{separator}limit=20&cursor={cursor}", headers=headers
                    )
                    assert response.status_code == 200, response.text
                    place = whole.index(str(row[-1]))
                    shown = [item["id"] for item in response.json()["items"]]
                    assert shown == whole[place + 1 : place + 21], (path, query)
    finally:
        await database.dispose()


async def test_every_page_drawn_is_a_full_one_when_the_list_holds_more(
    seeded: tuple[str, Any, list[str]],
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
) -> None:
    """Rows near the end of a list are drawn again: a scenario's pages hold `limit` rows at
    every size, so that ten thousand rows and a million compare the same work."""
    url, _, _ = seeded
    headers = auth_headers("integration")
    lists = {
        "organizations": ("/v1/organizations", ""),  # 24: four rows have 20 after them
        "meetings": ("/v1/interactions", "channel=meeting&sort=subject"),
        "agreements": ("/v1/agreements", "sort=-end_date"),
    }
    pages, _ = await positions.collect(url, lists, [], limit=20, positions=30)
    for name, (path, query) in lists.items():
        whole = await _everything(client, path, query, headers)
        assert len(whole) > 20, name
        cursors = set()
        for drawn in pages[name]:
            response = await client.get(drawn, headers=headers)
            assert response.status_code == 200, response.text
            assert len(response.json()["items"]) == 20, (name, drawn)
            cursors.add(drawn)
        assert len(cursors) >= min(5, len(whole) - 20), name  # still drawn, not one row


async def test_a_scenarios_pages_start_with_the_first_and_are_the_same_each_time(
    seeded: tuple[str, Any, list[str]],
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
) -> None:
    url, _, _ = seeded
    lists = {
        "a": ("/v1/agreements", "status=approved&sort=-updated_at"),
        "q": ("/v1/agreements", "q=végétaux"),  # as the scenarios write it
    }
    reads = ["/v1/organizations", "/v1/public/agreements"]
    pages, ids = await positions.collect(url, lists, reads, limit=50, positions=30, most=15)
    again, _ = await positions.collect(url, lists, reads, limit=50, positions=30, most=15)
    assert pages == again  # drawn from a seeded generator
    paths, found = pages["a"], pages["q"]
    assert paths[0] == "/v1/agreements?status=approved&sort=-updated_at&limit=50"
    assert found[0] == "/v1/agreements?q=v%C3%A9g%C3%A9taux&limit=50"
    for drawn in (paths, found):
        assert len(drawn) == 31
        assert all("&cursor=" in path for path in drawn[1:])
        for path in drawn[:5]:
            response = await client.get(path, headers=auth_headers("integration"))
            assert response.status_code == 200, response.text
            assert response.json()["items"]
    organizations = ids["/v1/organizations"]
    assert len(organizations) == len(set(organizations)) == 15  # more there: 15 drawn
    public = await _everything(client, "/v1/public/agreements", "", {})
    if len(public) <= 15:
        assert sorted(ids["/v1/public/agreements"]) == sorted(public)  # every one
    else:
        assert set(ids["/v1/public/agreements"]) <= set(public)
