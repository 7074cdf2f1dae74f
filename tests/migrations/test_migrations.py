"""Migrations: they build the schema the models describe, and run safely side by side."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.core.db import create_engine
from app.core.migrate import alembic_config, current_revision, head_revision, upgrade
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
        connection, opts={"compare_type": True, "compare_server_default": True}
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
