"""Decisions are append-only at every layer: no route changes or deletes one (405, in
test_decisions), the ORM refuses to, and so do the triggers of the migrations, which must exist
at head on both databases."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, delete, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.core.append_only import AppendOnlyViolation, guarded_tables, trigger_names
from app.core.db import Database
from app.core.tracking import set_actor
from app.models import Decision
from tests.conftest import TEST_OPERATOR
from tests.decisions.conftest import decision
from tests.registry import Make

TABLE = "decision"


async def _recorded(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> dict[str, Any]:
    made = await submitted()
    response = await client.post(
        f"/v1/agreements/{made['id']}/decisions",
        json=decision("bureau", "approved"),
        headers=bureau,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _rationales(database: Database) -> list[str]:
    async with database.session(write=False) as session:
        return [str(row) for row in (await session.execute(text("SELECT rationale FROM decision")))]


def test_decisions_are_declared_append_only() -> None:
    assert TABLE in guarded_tables()


async def test_the_triggers_exist_at_head(app: FastAPI) -> None:
    database: Database = app.state.database

    def read(connection: Connection) -> set[str]:
        if connection.dialect.name == "postgresql":
            sql = (
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'decision'::regclass "
                "AND NOT tgisinternal"
            )
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'decision'"
        return {str(name) for name in connection.execute(text(sql)).scalars()}

    async with database.engine.connect() as connection:
        found = await connection.run_sync(read)
        dialect = connection.dialect.name
    assert set(trigger_names(TABLE, dialect)) <= found


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE decision SET rationale = 'Rewritten'",
        "DELETE FROM decision",
        pytest.param("TRUNCATE decision CASCADE", marks=pytest.mark.postgres_only),
    ],
)
async def test_raw_changes_are_refused_by_the_database(
    app: FastAPI,
    client: httpx.AsyncClient,
    bureau: dict[str, str],
    submitted: Make,
    sql: str,
) -> None:
    await _recorded(client, bureau, submitted)
    database: Database = app.state.database
    before = await _rationales(database)
    async with database.session(write=True) as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(sql))
    assert await _rationales(database) == before


async def test_the_orm_refuses_to_change_or_delete_a_decision(
    app: FastAPI, client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    recorded = await _recorded(client, bureau, submitted)
    database: Database = app.state.database
    before = await _rationales(database)
    async with database.session(write=True) as session:
        row = await session.get(Decision, uuid.UUID(recorded["id"]))
        assert row is not None
        row.rationale = "Rewritten"
        with pytest.raises(AppendOnlyViolation):
            await session.flush()
    async with database.session(write=True) as session:
        row = await session.get(Decision, uuid.UUID(recorded["id"]))
        await session.delete(row)
        with pytest.raises(AppendOnlyViolation):
            await session.flush()
    for statement in (update(Decision).values(rationale="Rewritten"), delete(Decision)):
        async with database.session(write=True) as session:
            with pytest.raises(AppendOnlyViolation):
                await session.execute(statement)
    assert await _rationales(database) == before


async def test_the_database_keeps_one_correction_per_decision(
    app: FastAPI, client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    """The service refuses a second correction (409 `decision-superseded`); the unique index on
    `supersedes_id` refuses it too, for a writer that skipped the check."""
    recorded = await _recorded(client, bureau, submitted)
    database: Database = app.state.database

    def correction() -> Decision:
        return Decision(
            agreement_id=uuid.UUID(recorded["agreement_id"]),
            governing_body="bureau",
            outcome="approved",
            rationale="Corrected",
            meeting_reference="CPM-8",
            decided_on=date(2026, 1, 1),
            supersedes_id=uuid.UUID(recorded["id"]),
            recorded_by="tests",
            agreement_status="approved",
        )

    async with database.session(write=True) as session:
        set_actor(session, TEST_OPERATOR)
        session.add(correction())
        await session.commit()
    async with database.session(write=True) as session:
        set_actor(session, TEST_OPERATOR)
        session.add(correction())
        with pytest.raises(IntegrityError):
            await session.flush()
