"""Bringing a database to the latest schema, safely when several instances start at once.

The whole upgrade runs in one transaction that first takes a database-wide lock: a transaction
advisory lock on PostgreSQL, the write lock (`BEGIN IMMEDIATE`) on SQLite. An instance that
comes second waits, then finds the schema already at head and does nothing. Both databases have
transactional DDL, so a failed upgrade leaves nothing half done.

Steps registered with `after_upgrade` (what writes rows of its own from the registry's tables:
the public register) run after an upgrade to head, in the same transaction and under the same
lock, so that a schema and the rows derived from it never disagree.

The migrations are found next to the package, never through the current directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from app.core.db import WRITE_OPTION, create_engine, transaction_lock

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# An arbitrary constant shared by every instance: the key of the migration advisory lock.
MIGRATION_LOCK_KEY = 7_310_411_902


_AFTER_UPGRADE: list[Callable[[Connection], None]] = []


def after_upgrade(step: Callable[[Connection], None]) -> None:
    """Run `step` after each upgrade to head (module docstring); registered once, on import."""
    if step not in _AFTER_UPGRADE:
        _AFTER_UPGRADE.append(step)


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes["database_url"] = url
    return config


def declared_for(dialect: str) -> Callable[..., bool]:
    """Alembic's `include_object` for a database of `dialect`: what the models declare for
    another database only (`ddl_if(dialect=...)`, as PostgreSQL's trigram indexes) is not
    expected in this one, so comparing the models with it finds no difference there."""

    def include(item: Any, _name: Any, _kind: Any, _reflected: Any, _compare_to: Any) -> bool:
        condition = getattr(item, "_ddl_if", None)
        wanted = getattr(condition, "dialect", None)
        if wanted is None:
            return True
        return dialect == wanted if isinstance(wanted, str) else dialect in wanted

    return include


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    transaction_lock(connection, MIGRATION_LOCK_KEY)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    if revision == "head":
        for step in _AFTER_UPGRADE:
            step(connection)
    if connection.dialect.name == "sqlite":
        violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if violations:
            raise RuntimeError(f"the migration left {len(violations)} foreign key violations")


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the latest by default)."""
    engine = create_engine(url, sqlite_foreign_keys=False, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(**{WRITE_OPTION: True})
            async with connection.begin():
                await connection.run_sync(_upgrade, alembic_config(url), revision)
    finally:
        await engine.dispose()
