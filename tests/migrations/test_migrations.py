"""Migrations: they build the schema the models describe, and run safely side by side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
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


@pytest.fixture
async def empty_database(databases: DatabaseFactory) -> AsyncIterator[str]:
    url, name = await databases.empty()
    yield url
    await databases.discard(name)


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


async def test_concurrent_upgrades_are_serialized(empty_database: str) -> None:
    await asyncio.gather(*(upgrade(empty_database) for _ in range(3)))
    assert await _run(empty_database, current_revision) == head_revision()
    assert await _run(empty_database, _objective_count) == 7


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
