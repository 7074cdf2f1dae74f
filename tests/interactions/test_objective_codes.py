"""An interaction's objectives kept beside it as one text of codes (`objective_codes`), for the
index of the list's default order to carry: written with the objectives by every write, by the
migration that adds them for the interactions there were, and what the list's objective filter
reads."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Connection, select, text

from app.core.db import Database
from app.core.migrate import upgrade
from app.models import Interaction
from tests.migrations.test_migrations import _downgrade_to, _run
from tests.registry import Make, merge_patch

URL = "/v1/interactions"
INTERACTIONS = Interaction.__table__  # type: ignore[attr-defined]


async def kept(app: FastAPI, interaction_id: str) -> str:
    database: Database = app.state.database
    statement = select(INTERACTIONS.c.objective_codes).where(
        INTERACTIONS.c.id == uuid.UUID(interaction_id)
    )
    async with database.engine.connect() as connection:
        return str((await connection.execute(statement)).scalar_one())


async def listed(client: httpx.AsyncClient, headers: dict[str, str], *codes: str) -> list[str]:
    params = {"strategic_objective": list(codes)}
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_the_codes_follow_the_objectives_and_the_filter_reads_them(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    interaction: Make,
) -> None:
    met = await organization("Seed Savers")
    made = await interaction(
        "Two objectives", [met["id"]], strategic_objectives=["2020-2030.C", "2020-2030.A"]
    )
    other = await interaction("None", [met["id"]])
    assert await kept(app, made["id"]) == " 2020-2030.A 2020-2030.C "
    assert await kept(app, other["id"]) == " "
    assert await listed(client, secretariat, "2020-2030.C") == [made["id"]]
    assert await listed(client, secretariat, "2020-2030.B", "2020-2030.A") == [made["id"]]
    assert await listed(client, secretariat, "2020-2030.B") == []

    path = f"{URL}/{made['id']}"
    response = await merge_patch(
        client, secretariat, path, {"strategic_objectives": ["2020-2030.B"]}
    )
    assert response.status_code == 200, response.text
    assert "objective_codes" not in response.json()  # kept for the index, never shown
    assert await kept(app, made["id"]) == " 2020-2030.B "
    assert await listed(client, secretariat, "2020-2030.C") == []
    assert await listed(client, secretariat, "2020-2030.B") == [made["id"]]
    # A change of another field keeps them.
    response = await merge_patch(client, secretariat, path, {"subject": "Renamed"})
    assert response.status_code == 200, response.text
    assert await listed(client, secretariat, "2020-2030.B") == [made["id"]]
    response = await merge_patch(client, secretariat, path, {"strategic_objectives": []})
    assert response.status_code == 200, response.text
    assert await kept(app, made["id"]) == " "
    assert await listed(client, secretariat, "2020-2030.B") == []


async def test_the_codes_are_not_in_the_audit_trail(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    interaction: Make,
) -> None:
    met = await organization("Seed Savers")
    made = await interaction("Audited", [met["id"]], strategic_objectives=["2020-2030.A"])
    response = await client.get(
        "/v1/audit-events", params={"resource_id": made["id"]}, headers=secretariat
    )
    assert response.status_code == 200, response.text
    (event,) = response.json()["items"]
    assert event["changes"]["strategic_objectives"]["after"] == ["2020-2030.A"]
    assert "objective_codes" not in event["changes"]


async def test_the_migration_writes_the_codes_of_the_interactions_there_are(
    app: FastAPI, database_url: str, organization: Make, interaction: Make
) -> None:
    met = await organization("Seed Savers")
    two = await interaction("Two", [met["id"]], strategic_objectives=["2020-2030.C", "2020-2030.A"])
    none = await interaction("None", [met["id"]])
    await app.state.database.dispose()

    await _run(database_url, _downgrade_to(database_url, "0018"))
    await upgrade(database_url)

    def written(connection: Connection) -> dict[str, Any]:
        rows = connection.execute(text("SELECT id, objective_codes FROM interaction")).all()
        return {str(uuid.UUID(str(row.id))): row[1] for row in rows}

    assert await _run(database_url, written) == {
        two["id"]: " 2020-2030.A 2020-2030.C ",
        none["id"]: " ",
    }
