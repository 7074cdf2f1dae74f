"""The day an agreement was approved (`agreement.approved_on`): the approving decision's, or
its correction's; kept by the decisions' service and given to existing agreements by the
migration that adds it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Connection, text

from app.core.db import Database
from app.core.migrate import upgrade
from app.models import Agreement
from tests.decisions.conftest import decide
from tests.migrations.test_migrations import _downgrade_to, _run
from tests.registry import Make


async def approved_on(app: FastAPI, agreement_id: str) -> date | None:
    database: Database = app.state.database
    async with database.session(write=False) as session:
        row = await session.get(Agreement, uuid.UUID(agreement_id))
        assert row is not None
        return row.approved_on


async def test_the_approving_decision_dates_the_approval(
    app: FastAPI, client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted("Bureau alone")
    assert await approved_on(app, made["id"]) is None
    assert (await decide(client, bureau, made["id"], decided_on="2025-02-03")).status_code == 201
    assert await approved_on(app, made["id"]) == date(2025, 2, 3)
    read = await client.get(f"/v1/agreements/{made['id']}", headers=bureau)
    assert read.json()["approved_on"] == "2025-02-03"
    for query, found in (
        ("approved_on_from=2025-02-03&approved_on_to=2025-02-03", [made["id"]]),
        ("approved_on_from=2025-02-04", []),
        ("approved_on_to=2025-02-02", []),
    ):
        listed = await client.get(f"/v1/agreements?{query}", headers=bureau)
        assert [item["id"] for item in listed.json()["items"]] == found, query


async def test_with_the_cpm_the_approval_is_the_cpms(
    app: FastAPI, client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted("With the CPM", level="cooperation")
    bureau_approval = await decide(client, bureau, made["id"], decided_on="2025-01-10")
    assert bureau_approval.json()["agreement_status"] == "cpm_review"
    assert await approved_on(app, made["id"]) is None
    cpm = await decide(client, bureau, made["id"], body="cpm", decided_on="2025-06-20")
    assert cpm.status_code == 201
    assert await approved_on(app, made["id"]) == date(2025, 6, 20)

    # Correcting the Bureau's decision leaves the approval's day alone...
    corrected = await decide(
        client,
        bureau,
        made["id"],
        decided_on="2025-01-11",
        supersedes_id=bureau_approval.json()["id"],
    )
    assert corrected.status_code == 201, corrected.text
    assert await approved_on(app, made["id"]) == date(2025, 6, 20)
    # ...and correcting the CPM's, then its correction, moves it each time.
    first = await decide(
        client,
        bureau,
        made["id"],
        body="cpm",
        decided_on="2025-06-21",
        supersedes_id=cpm.json()["id"],
    )
    assert first.status_code == 201, first.text
    assert await approved_on(app, made["id"]) == date(2025, 6, 21)
    second = await decide(
        client,
        bureau,
        made["id"],
        body="cpm",
        decided_on="2025-06-19",
        supersedes_id=first.json()["id"],
    )
    assert second.status_code == 201, second.text
    assert await approved_on(app, made["id"]) == date(2025, 6, 19)


async def test_the_migration_dates_the_approvals_already_recorded(
    app: FastAPI,
    client: httpx.AsyncClient,
    database_url: str,
    bureau: dict[str, str],
    submitted: Make,
) -> None:
    plain = await submitted("Plain")
    await decide(client, bureau, plain["id"], decided_on="2024-05-06")
    corrected = await submitted("Corrected")
    approval = await decide(client, bureau, corrected["id"], decided_on="2024-07-01")
    correction = await decide(
        client,
        bureau,
        corrected["id"],
        decided_on="2024-07-02",
        supersedes_id=approval.json()["id"],
    )
    assert correction.status_code == 201
    waiting = await submitted("Waiting")
    await app.state.database.dispose()

    await _run(database_url, _downgrade_to(database_url, "0008"))
    await upgrade(database_url)

    def dates(connection: Connection) -> dict[str, Any]:
        rows = connection.execute(text("SELECT title, approved_on FROM agreement")).all()
        return {row.title: row.approved_on for row in rows}

    found = await _run(database_url, dates)
    assert {title: None if day is None else str(day) for title, day in found.items()} == {
        "Plain": "2024-05-06",
        "Corrected": "2024-07-02",
        "Waiting": None,
    }
    assert waiting["status"] == "submitted"
