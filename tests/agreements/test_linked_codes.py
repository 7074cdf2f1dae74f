"""The codes an agreement's links name, kept beside it (app/registry/codes.py): its partners'
categories and its objectives, written at each commit that changes them and by the migration
that adds them, as the database would write them anew; and right when a partner is added while
its category changes (PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, select, text, update

from app.core.db import Database, column_of
from app.core.migrate import upgrade
from app.models import Organization
from app.registry import codes
from tests.migrations.test_migrations import _downgrade_to, _run
from tests.registry import Make, another_transaction, lock_row, merge_patch, still_waiting

AGREEMENTS = codes.AGREEMENTS


async def kept(app: FastAPI, agreement_id: str) -> tuple[str, str]:
    """An agreement's codes as its commits kept them."""
    database: Database = app.state.database
    statement = select(AGREEMENTS.c.partner_categories, AGREEMENTS.c.objective_codes).where(
        AGREEMENTS.c.id == uuid.UUID(agreement_id)
    )
    async with database.engine.connect() as connection:
        row = (await connection.execute(statement)).one()
    return row.partner_categories, row.objective_codes


async def anew(app: FastAPI, agreement_id: str) -> tuple[str, str]:
    """An agreement's codes as the database writes them from its links now."""
    database: Database = app.state.database
    statement = select(codes.PARTNER_CATEGORIES, codes.OBJECTIVE_CODES).where(
        AGREEMENTS.c.id == uuid.UUID(agreement_id)
    )
    async with database.engine.connect() as connection:
        return tuple((await connection.execute(statement)).one())  # type: ignore[return-value]


async def assert_codes(app: FastAPI, agreement_id: str, expected: tuple[str, str]) -> None:
    assert await kept(app, agreement_id) == await anew(app, agreement_id) == expected


async def listed(client: httpx.AsyncClient, headers: dict[str, str], query: str) -> list[str]:
    response = await client.get(f"/v1/agreements?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_the_codes_follow_the_links_and_the_partners_categories(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    agreement: Make,
) -> None:
    growers = await organization("Growers", category="ngo")
    bureau = await organization("Plant bureau", category="rppo")
    made = await agreement(
        "Coded", partner_ids=[growers["id"]], strategic_objectives=["2020-2030.B"]
    )
    await assert_codes(app, made["id"], (" ngo ", " 2020-2030.B "))

    path = f"/v1/agreements/{made['id']}"
    both = {
        "partner_ids": [bureau["id"], growers["id"]],
        "strategic_objectives": ["2020-2030.C", "2020-2030.A"],
    }
    assert (await merge_patch(client, secretariat, path, both)).status_code == 200
    await assert_codes(app, made["id"], (" ngo rppo ", " 2020-2030.A 2020-2030.C "))
    assert (
        await merge_patch(client, secretariat, path, {"title": "Coded again"})
    ).status_code == 200
    await assert_codes(app, made["id"], (" ngo rppo ", " 2020-2030.A 2020-2030.C "))

    recategorized = await merge_patch(
        client, secretariat, f"/v1/organizations/{growers['id']}", {"category": "foundation_donor"}
    )
    assert recategorized.status_code == 200, recategorized.text
    await assert_codes(app, made["id"], (" foundation_donor rppo ", " 2020-2030.A 2020-2030.C "))
    assert await listed(client, secretariat, "partner_category=foundation_donor") == [made["id"]]
    assert await listed(client, secretariat, "partner_category=ngo") == []
    assert await listed(client, secretariat, "strategic_objective=2020-2030.C") == [made["id"]]
    assert await listed(client, secretariat, "strategic_objective=2020-2030.B") == []

    fewer = {"partner_ids": [bureau["id"]], "strategic_objectives": ["2020-2030.A"]}
    assert (await merge_patch(client, secretariat, path, fewer)).status_code == 200
    await assert_codes(app, made["id"], (" rppo ", " 2020-2030.A "))


async def test_the_migration_writes_the_codes_of_the_agreements_there_are(
    app: FastAPI, database_url: str, organization: Make, agreement: Make
) -> None:
    ngo = await organization("An NGO", category="ngo")
    donor = await organization("A donor", category="foundation_donor")
    other = await organization("Another NGO", category="ngo")
    two = await agreement(
        "Two categories",
        partner_ids=[ngo["id"], donor["id"], other["id"]],
        strategic_objectives=["2020-2030.C", "2020-2030.A"],
    )
    none = await agreement("No links")
    await app.state.database.dispose()

    await _run(database_url, _downgrade_to(database_url, "0014"))
    await upgrade(database_url)

    def written(connection: Connection) -> dict[str, Any]:
        rows = connection.execute(
            text("SELECT id, partner_categories, objective_codes FROM agreement")
        ).all()
        return {str(uuid.UUID(str(row.id))): (row[1], row[2]) for row in rows}

    assert await _run(database_url, written) == {
        two["id"]: (" foundation_donor ngo ", " 2020-2030.A 2020-2030.C "),
        none["id"]: (" ", " "),
    }


@pytest.mark.postgres_only
async def test_a_partner_added_while_its_category_changes_is_coded_as_it_is_at_the_end(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    agreement: Make,
) -> None:
    """A change of category holds its organization until it commits; a draft that adds that
    organization as a partner waits for it (FOR SHARE), then codes the category it committed."""
    partner = await organization("Changing", category="ngo")
    made = await agreement("Adds a partner")
    async with another_transaction(app) as other:
        await other.execute(
            update(Organization)
            .where(column_of(Organization.id) == uuid.UUID(partner["id"]))
            .values(category="academic_research")
        )
        waiting = asyncio.create_task(
            merge_patch(
                client,
                secretariat,
                f"/v1/agreements/{made['id']}",
                {"partner_ids": [partner["id"]]},
            )
        )
        assert await still_waiting(waiting)
    response = await waiting
    assert response.status_code == 200, response.text
    await assert_codes(app, made["id"], (" academic_research ", " "))


@pytest.mark.postgres_only
async def test_a_change_of_category_waits_for_its_agreements_before_it_holds_the_organization(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    agreement: Make,
) -> None:
    """A decision holds its agreement, then wants its partners FOR SHARE. A change of a
    partner's category, which rewrites the agreement's codes, waits for the agreement before it
    holds the partner: the decision goes on, then the change."""
    partner = await organization("Recategorized", category="ngo")
    made = await agreement("Held", partner_ids=[partner["id"]])
    async with another_transaction(app) as other:
        await lock_row(other, AGREEMENTS, made["id"])
        waiting = asyncio.create_task(
            merge_patch(
                client, secretariat, f"/v1/organizations/{partner['id']}", {"category": "other"}
            )
        )
        assert await still_waiting(waiting)
        partners = Organization.__table__  # type: ignore[attr-defined]
        await asyncio.wait_for(lock_row(other, partners, partner["id"], share=True), timeout=10)
    response = await waiting
    assert response.status_code == 200, response.text
    await assert_codes(app, made["id"], (" other ", " "))
