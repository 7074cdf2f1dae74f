"""Migrations: they build the schema the models describe, and run safely side by side."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Boolean, Connection, Integer, String, Uuid, column, table, text
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.core.db import UTCDateTime, create_engine
from app.core.migrate import (
    alembic_config,
    current_revision,
    declared_for,
    head_revision,
    upgrade,
)
from tests.conftest import DatabaseFactory


async def _run(url: str, work: Any) -> Any:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": declared_for(connection.dialect.name),
        },
    )
    return list(compare_metadata(context, SQLModel.metadata))


async def test_models_and_migrations_agree(database_url: str) -> None:
    differences = await _run(database_url, _differences)
    assert differences == [], "models and migrations differ: write a revision"


async def test_a_fresh_database_is_at_head(database_url: str) -> None:
    assert await _run(database_url, current_revision) == head_revision()


def _objective_count(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM strategic_objective")).scalar_one())


async def test_concurrent_upgrades_are_serialized(databases: DatabaseFactory) -> None:
    """Instances starting together on a new database: one migrates, the others wait and find
    it done. Several rounds, since the race on a brand-new SQLite file is not every time."""
    for _ in range(5):
        url, name = await databases.empty()
        try:
            await asyncio.gather(*(upgrade(url) for _ in range(6)))
            assert await _run(url, current_revision) == head_revision()
            assert await _run(url, _objective_count) == 7
        finally:
            await databases.discard(name)


async def test_upgrade_at_head_changes_nothing(database_url: str) -> None:
    await upgrade(database_url)
    assert await _run(database_url, _objective_count) == 7


def _downgrade_to_base(url: str) -> Any:
    def work(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        connection.commit()

    return work


async def test_downgrade_and_upgrade_again(database_url: str) -> None:
    await _run(database_url, _downgrade_to_base(database_url))
    assert await _run(database_url, current_revision) is None
    await upgrade(database_url)
    assert await _run(database_url, current_revision) == head_revision()
    assert await _run(database_url, _objective_count) == 7


def _downgrade_to(url: str, revision: str) -> Any:
    def work(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()

    return work


ORGANIZATION_OF_0004 = table(
    "organization",
    column("id", Uuid()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
    column("version", Integer()),
    column("name", String()),
    column("acronym", String()),
    column("archived", Boolean()),
    column("name_key", String()),
    column("search_key", String()),
    column("country_key", String()),
)


def _insert_organization_of_0004(connection: Connection) -> None:
    """An organization as revision 0004 stored it: search text cut at 400 characters."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    connection.execute(
        ORGANIZATION_OF_0004.insert().values(
            id=uuid.uuid4(),
            created_at=now,
            updated_at=now,
            version=1,
            name=("\u00c9tablissement " * 21).strip(),  # its search text passes 400 characters
            acronym="ACRONYM",
            archived=False,
            name_key="old",
            search_key="cut",
            country_key="",
        )
    )
    connection.commit()


def _organization_keys(connection: Connection) -> Any:
    return connection.execute(
        text("SELECT name, acronym, name_key, name_digest, search_key FROM organization")
    ).one()


async def test_the_kit_revision_computes_the_keys_of_existing_organizations(
    database_url: str,
) -> None:
    from app.organizations.service import keys

    await _run(database_url, _downgrade_to(database_url, "0004"))
    await _run(database_url, _insert_organization_of_0004)
    await upgrade(database_url)
    row = await _run(database_url, _organization_keys)
    expected = keys(row.name, row.acronym, None)
    assert (row.name_key, row.name_digest, row.search_key) == (
        expected["name_key"],
        expected["name_digest"],
        expected["search_key"],
    )
    assert row.search_key.endswith("acronym")
