"""The public register's own rows (app/public/register.py), of agreements and of interactions:
kept by each change that alters what the register shows, in its transaction, and equal at every
step to the rows written anew from the registry's tables; written anew after an upgrade only
when their format is not the code's; and right when two changes of one record's row meet on
PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, insert, select, update

from app.core.db import Database, column_of
from app.core.migrate import upgrade
from app.models import Interaction, Organization, RegisterFormat
from app.public import register
from app.public.register import Rows
from tests.public.conftest import decide
from tests.registry import Make, another_transaction, lock_row, merge_patch, still_waiting

ORGANIZATIONS = Organization.__table__  # type: ignore[attr-defined]


async def kept(app: FastAPI, table: Rows = register.AGREEMENTS) -> list[dict[str, Any]]:
    """A table of the register's rows as the changes kept them."""
    database: Database = app.state.database
    statement = select(table.table).order_by(table.table.c.id)
    async with database.engine.connect() as connection:
        return [dict(row._mapping) for row in await connection.execute(statement)]


async def anew(app: FastAPI, table: Rows = register.AGREEMENTS) -> list[dict[str, Any]]:
    """A table of the register's rows as they are written anew from the registry's tables."""
    database: Database = app.state.database
    async with database.engine.connect() as connection:
        rows = (await connection.execute(table.source)).all()
    return sorted((table.published(row) for row in rows), key=lambda row: row["id"])


async def assert_kept(app: FastAPI, table: Rows = register.AGREEMENTS) -> list[dict[str, Any]]:
    rows = await kept(app, table)
    assert rows == await anew(app, table)
    return rows


async def public_ids(
    client: httpx.AsyncClient, query: str = "", *, listed: str = "agreements"
) -> list[str]:
    response = await client.get(f"/v1/public/{listed}{query}")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_every_change_keeps_the_rows_as_they_would_be_written_anew(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    organization: Make,
    submitted: Make,
) -> None:
    first = await organization("Growers' Union", category="ngo")
    second = await organization("Seed Lab", acronym="SL", category="academic_research")
    made = await submitted("Joint surveillance", partner=first)
    path = f"/v1/agreements/{made['id']}"
    assert await assert_kept(app) == []  # submitted: not public

    approval = await decide(client, bureau, made["id"], decided_on="2025-03-14")
    assert approval.status_code == 201, approval.text
    (row,) = await assert_kept(app)
    assert (row["id"], row["status"]) == (uuid.UUID(made["id"]), "approved")
    assert row["categories"] == " ngo "

    correction = await decide(
        client,
        bureau,
        made["id"],
        supersedes_id=approval.json()["id"],
        meeting_reference="EB-2025/03, item 4",
        decided_on="2025-03-14",
    )
    assert correction.status_code == 201, correction.text
    (row,) = await assert_kept(app)
    assert "EB-2025/03, item 4" in row["item"]
    assert "CPM-8 (2013)" not in row["item"]

    renamed = await merge_patch(
        client, secretariat, f"/v1/organizations/{first['id']}", {"name": "Growers' Alliance"}
    )
    assert renamed.status_code == 200, renamed.text
    (row,) = await assert_kept(app)
    assert "Growers' Alliance" in row["item"]
    assert "Growers' Union" not in row["item"]

    recategorized = await merge_patch(
        client, secretariat, f"/v1/organizations/{first['id']}", {"category": "foundation_donor"}
    )
    assert recategorized.status_code == 200, recategorized.text
    await assert_kept(app)
    assert await public_ids(client, "?partner_category=foundation_donor") == [made["id"]]
    assert await public_ids(client, "?partner_category=ngo") == []

    activated = await client.post(
        f"{path}/activate", json={"signed_on": "2025-04-01"}, headers=secretariat
    )
    assert activated.status_code == 200, activated.text
    (row,) = await assert_kept(app)
    assert row["status"] == "active"
    assert '"signed_on":"2025-04-01"' in row["item"]

    # An organization in no public agreement changes no row.
    unrelated = await merge_patch(
        client, secretariat, f"/v1/organizations/{second['id']}", {"name": "Seed Laboratory"}
    )
    assert unrelated.status_code == 200, unrelated.text
    assert await assert_kept(app) == [row]


async def test_every_change_keeps_the_rows_of_public_interactions(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    interaction: Make,
) -> None:
    rows = register.INTERACTIONS
    first = await organization("Seed traders", category="industry_association", country="NL")
    second = await organization("Plant lab", category="academic_research")
    made = await interaction("Annual meeting", [first["id"]], strategic_objectives=["2020-2030.C"])
    path = f"/v1/interactions/{made['id']}"
    assert await assert_kept(app, rows) == []  # internal: not public

    published = await merge_patch(client, secretariat, path, {"visibility": "public"})
    assert published.status_code == 200, published.text
    (row,) = await assert_kept(app, rows)
    assert (row["id"], row["channel"], row["objectives"]) == (
        uuid.UUID(made["id"]),
        "meeting",
        " 2020-2030.C ",
    )
    assert (row["categories"], row["countries"]) == (" industry_association ", " NL ")

    renamed = await merge_patch(
        client, secretariat, f"/v1/organizations/{first['id']}", {"name": "Seed merchants"}
    )
    assert renamed.status_code == 200, renamed.text
    (row,) = await assert_kept(app, rows)
    assert "Seed merchants" in row["item"]
    assert "Seed traders" not in row["item"]

    joined = await merge_patch(
        client,
        secretariat,
        path,
        {"organization_ids": [first["id"], second["id"]], "subject": "Annual meeting, 2026"},
    )
    assert joined.status_code == 200, joined.text
    (row,) = await assert_kept(app, rows)
    assert row["categories"] == " academic_research industry_association "
    assert "Annual meeting, 2026" in row["item"]
    query = "?organization_category=academic_research"
    assert await public_ids(client, query, listed="interactions") == [made["id"]]

    recategorized = await merge_patch(
        client, secretariat, f"/v1/organizations/{second['id']}", {"category": "ngo"}
    )
    assert recategorized.status_code == 200, recategorized.text
    await assert_kept(app, rows)
    assert await public_ids(client, query, listed="interactions") == []
    query = "?organization_category=ngo"
    assert await public_ids(client, query, listed="interactions") == [made["id"]]

    # An internal interaction with the same organization has no row, nor leaves one deleted.
    internal = await interaction("Private call", [first["id"]], channel="call")
    (row,) = await assert_kept(app, rows)
    assert row["id"] == uuid.UUID(made["id"])
    deleted = await client.delete(
        f"/v1/interactions/{internal['id']}", headers={**secretariat, "If-Match": "*"}
    )
    assert deleted.status_code == 204, deleted.text
    assert await assert_kept(app, rows) == [row]


async def test_an_organization_of_no_category_nor_country_is_in_the_rows(
    app: FastAPI, organization: Make, approved: Make, interaction: Make
) -> None:
    """The codes of what an organization does not say are left out of the rows' codes."""
    unsaid = await organization("Says little")
    said = await organization("Says more", category="ngo", country="KE")
    made = await approved("With both", partner_ids=[unsaid["id"], said["id"]], partner=unsaid)
    met = await interaction("Both met", [unsaid["id"], said["id"]], visibility="public")
    for table, record in ((register.AGREEMENTS, made), (register.INTERACTIONS, met)):
        (row,) = await assert_kept(app, table)
        assert row["id"] == uuid.UUID(record["id"])
        assert (row["categories"], row["countries"]) == (" ngo ", " KE ")
        assert "Says little" in row["item"]


@pytest.mark.parametrize("table", register.TABLES, ids=lambda table: table.table.name)
async def test_rows_are_written_anew_after_an_upgrade_only_when_their_format_is_not_the_codes(
    app: FastAPI,
    database_url: str,
    organization: Make,
    approved: Make,
    interaction: Make,
    table: Rows,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    partner = await organization("Met five times")
    made = [await approved(f"Written anew {number}") for number in range(5)]
    made += [
        await interaction(f"Written anew {number}", [partner["id"]], visibility="public")
        for number in range(5)
    ]
    monkeypatch.setattr(register, "BATCH", 2)  # written in batches, each after the last
    database: Database = app.state.database
    formats = RegisterFormat.__table__  # type: ignore[attr-defined]
    async with database.session(write=True) as session:
        for each in register.TABLES:
            await session.execute(delete(each.table))
        await session.commit()
    await upgrade(database_url)
    for each in register.TABLES:  # in this code's format: not written again
        assert await kept(app, each) == []

    async with database.session(write=True) as session:
        await session.execute(delete(formats).where(formats.c.name == table.table.name))
        await session.execute(insert(formats), {"name": table.table.name, "format": 0})
        await session.commit()
    await upgrade(database_url)
    rows = await assert_kept(app, table)
    assert len(rows) == 5
    assert {row["id"] for row in rows} < {uuid.UUID(item["id"]) for item in made}
    for other in register.TABLES:  # the other table's rows are in this code's format
        if other is not table:
            assert await kept(app, other) == []
    async with database.engine.connect() as connection:
        found = await connection.execute(select(formats.c.name, formats.c.format))
        assert {row.name: row.format for row in found} == {
            each.table.name: each.format for each in register.TABLES
        }


@pytest.mark.postgres_only
async def test_a_partner_renamed_while_a_decision_holds_its_agreement_waits_for_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    approved: Make,
) -> None:
    """A decision holds its agreement FOR UPDATE, then its partners FOR SHARE (the members'
    declared interests), then writes the agreement's row at commit. A rename of a partner
    meanwhile rewrites that row too, without waiting for the agreement (the row does not refer
    to it): had it waited, holding the partner the decision wants, neither could go on."""
    partner = await organization("Locked partner")
    made = await approved("Locked", partner=partner)
    agreement_id = uuid.UUID(made["id"])
    async with another_transaction(app) as other:
        await lock_row(other, register.AGREEMENT_TABLE, agreement_id)
        response = await asyncio.wait_for(
            merge_patch(
                client,
                secretariat,
                f"/v1/organizations/{partner['id']}",
                {"name": "Locked partner, renamed"},
            ),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        await lock_row(other, ORGANIZATIONS, partner["id"], share=True)
        await other.run_sync(register.AGREEMENTS.refresh, [agreement_id])  # the decision's commit
    (row,) = await assert_kept(app)
    assert "Locked partner, renamed" in row["item"]


@pytest.mark.postgres_only
async def test_the_rows_are_written_anew_while_a_decision_holds_an_agreement(
    app: FastAPI, database_url: str, approved: Make
) -> None:
    """An upgrade that writes the rows anew locks their table, not the agreements: a decision
    that holds its agreement meanwhile, then writes its row at commit, waits for the upgrade
    and nothing waits for it."""
    made = await approved("Held while written anew")
    agreement_id = uuid.UUID(made["id"])
    database: Database = app.state.database
    formats = RegisterFormat.__table__  # type: ignore[attr-defined]
    async with database.session(write=True) as session:
        await session.execute(update(formats).values(format=0))
        await session.commit()
    async with another_transaction(app) as other:
        await lock_row(other, register.AGREEMENT_TABLE, agreement_id)
        await asyncio.wait_for(upgrade(database_url), timeout=10)
        await other.run_sync(register.AGREEMENTS.refresh, [agreement_id])  # the decision's commit
    (row,) = await assert_kept(app)
    assert row["id"] == agreement_id


@pytest.mark.postgres_only
@pytest.mark.parametrize("table", register.TABLES, ids=lambda table: table.table.name)
async def test_a_change_waits_for_another_writing_the_same_row_then_reads_what_it_committed(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    approved: Make,
    interaction: Make,
    table: Rows,
) -> None:
    """Two transactions rewrite one record's row (each renames one of its organizations): the
    second waits until the first commits, then reads the first's rename with its own."""
    first = await organization("First partner")
    second = await organization("Second partner")
    both = [first["id"], second["id"]]
    if table is register.AGREEMENTS:
        made = await approved("Two partners", partner_ids=both, partner=first)
    else:
        made = await interaction("Two of them", both, visibility="public")
    async with another_transaction(app) as other:
        await other.execute(
            update(Organization)
            .where(column_of(Organization.id) == uuid.UUID(first["id"]))
            .values(name="First, renamed")
        )
        await other.run_sync(table.refresh, [uuid.UUID(made["id"])])
        waiting = asyncio.create_task(
            merge_patch(
                client,
                secretariat,
                f"/v1/organizations/{second['id']}",
                {"name": "Second, renamed"},
            )
        )
        assert await still_waiting(waiting)
    response = await waiting
    assert response.status_code == 200, response.text
    (row,) = await assert_kept(app, table)
    assert "First, renamed" in row["item"]
    assert "Second, renamed" in row["item"]


@pytest.mark.postgres_only
async def test_an_organization_changed_while_its_interaction_is_made_public_is_in_its_row(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    interaction: Make,
) -> None:
    """An interaction made public links no organization anew, so locks none: a rename of its
    organization meanwhile reads it as internal. The rename still takes its row's lock, so it
    waits for the other to commit, then writes the row with the new name."""
    partner = await organization("Before the rename")
    made = await interaction("Made public", [partner["id"]])
    interaction_id = uuid.UUID(made["id"])
    async with another_transaction(app) as other:
        await other.execute(
            update(Interaction)
            .where(column_of(Interaction.id) == interaction_id)
            .values(visibility="public")
        )
        await other.run_sync(register.INTERACTIONS.refresh, [interaction_id])  # at its commit
        waiting = asyncio.create_task(
            merge_patch(
                client,
                secretariat,
                f"/v1/organizations/{partner['id']}",
                {"name": "After the rename"},
            )
        )
        assert await still_waiting(waiting)
    response = await waiting
    assert response.status_code == 200, response.text
    (row,) = await assert_kept(app, register.INTERACTIONS)
    assert "After the rename" in row["item"]
