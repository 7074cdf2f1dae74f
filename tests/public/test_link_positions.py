"""Migration 0011 gives the links that existed before it their places in their records' lists."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Connection, text

from app.core.migrate import upgrade
from tests.migrations.test_migrations import _downgrade_to, _run
from tests.registry import Make


async def test_existing_links_get_their_places(
    app: FastAPI, database_url: str, organization: Make, agreement: Make, interaction: Make
) -> None:
    made = [await organization(name) for name in ("Alpha", "Bravo", "Charlie")]
    ids = sorted((item["id"] for item in made), reverse=True)
    draft = await agreement("Three partners", partner_ids=ids)
    met = await interaction("Three met", [ids[1], ids[0], ids[2]])
    single = await agreement("One partner", partner_ids=[ids[2]])
    await app.state.database.dispose()

    await _run(database_url, _downgrade_to(database_url, "0010"))
    await upgrade(database_url)

    def places(connection: Connection) -> dict[str, list[tuple[int, str]]]:
        found: dict[str, list[tuple[int, str]]] = {}
        for table, owner in (
            ("agreement_partner", "agreement_id"),
            ("interaction_organization", "interaction_id"),
        ):
            for row in connection.execute(
                text(f"SELECT {owner}, organization_id, position FROM {table}")
            ):
                found.setdefault(_text(row[0]), []).append((row[2], _text(row[1])))
        return {key: sorted(value) for key, value in found.items()}

    found = await _run(database_url, places)
    assert found[draft["id"]] == list(enumerate(ids))
    assert found[met["id"]] == list(enumerate([ids[1], ids[0], ids[2]]))
    assert found[single["id"]] == [(0, ids[2])]


def _text(value: Any) -> str:
    """A UUID as the driver gives it (an object, or SQLite's 32 hexadecimal digits) as text."""
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
