"""Audit events are append-only: refused in the ORM (bulk statements included) and by triggers
that the migrations create, which must still exist at the head of the migrations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from app.core.append_only import (
    AppendOnlyViolation,
    append_only,
    guarded_tables,
    trigger_names,
)
from app.core.db import Database, column_of
from app.core.db import create_engine as create_async_engine
from app.core.migrate import alembic_config, upgrade
from app.models import StrategicObjective
from app.models.audit import AuditEvent
from tests.audit.conftest import record_committed

TABLE = "audit_event"


async def _triggers(url: str) -> set[str]:
    def read(connection: Connection) -> set[str]:
        if connection.dialect.name == "postgresql":
            sql = (
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass "
                "AND NOT tgisinternal"
            )
        else:
            sql = (
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
            )
        return {str(name) for name in connection.execute(text(sql)).scalars()}

    triggers: set[str] = await _run(url, read)
    return triggers


async def _run(url: str, work: Any) -> Any:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _dialect(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


async def _snapshot(database: Database) -> list[tuple[Any, ...]]:
    async with database.session(write=False) as session:
        rows = await session.execute(
            text("SELECT id, action, resource_id FROM audit_event ORDER BY id")
        )
        return [tuple(row) for row in rows]


# --- Database triggers ----------------------------------------------------------------------------


async def test_the_triggers_exist_at_head(database_url: str) -> None:
    """A batch migration on SQLite rebuilds a table without its triggers: this notices."""
    expected = set(trigger_names(TABLE, _dialect(database_url)))
    assert expected <= await _triggers(database_url)


async def test_raw_update_is_refused_by_the_database(database: Database) -> None:
    await record_committed(database)
    before = await _snapshot(database)
    async with database.session(write=True) as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("UPDATE audit_event SET action = 'forged'"))
    assert await _snapshot(database) == before


async def test_raw_delete_is_refused_by_the_database(database: Database) -> None:
    await record_committed(database)
    before = await _snapshot(database)
    async with database.session(write=True) as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("DELETE FROM audit_event"))
    assert await _snapshot(database) == before


@pytest.mark.postgres_only
async def test_truncate_is_refused_by_the_database(database: Database) -> None:
    await record_committed(database)
    before = await _snapshot(database)
    async with database.session(write=True) as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("TRUNCATE audit_event"))
    assert await _snapshot(database) == before


async def test_raw_insert_is_allowed(database: Database) -> None:
    """The triggers guard changes, not additions (the table is append-only, not read-only)."""
    async with database.session(write=True) as session:
        await session.execute(
            text(
                "INSERT INTO audit_event (occurred_at, actor_subject, action, resource_type, "
                "resource_id, changes) VALUES (CURRENT_TIMESTAMP, 's', 'create', 'organization', "
                "'1', '{}')"
            )
        )
        await session.commit()
    assert len(await _snapshot(database)) == 1


async def test_downgrade_removes_the_triggers_and_upgrade_restores_them(
    database_url: str,
) -> None:
    def downgrade_to_auth(connection: Connection) -> None:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
        connection.commit()

    def leftovers(connection: Connection) -> list[str]:
        if connection.dialect.name == "postgresql":
            sql = (
                "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'audit_event%' "
                "UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'audit_event%'"
            )
        else:
            sql = "SELECT name FROM sqlite_master WHERE name LIKE 'audit_event%'"
        return [str(name) for name in connection.execute(text(sql)).scalars()]

    await _run(database_url, downgrade_to_auth)
    assert await _run(database_url, leftovers) == []
    await upgrade(database_url)
    assert set(trigger_names(TABLE, _dialect(database_url))) <= await _triggers(database_url)


# --- The ORM guard --------------------------------------------------------------------------------


async def test_the_orm_refuses_to_flush_a_changed_event(database: Database) -> None:
    recorded = await record_committed(database)
    async with database.session(write=True) as session:
        event = await session.get(AuditEvent, recorded.id)
        assert event is not None
        event.action = "forged"
        with pytest.raises(AppendOnlyViolation, match="rows are never updated"):
            await session.flush()
    assert (await _snapshot(database))[0][1] == "update"


async def test_the_orm_refuses_to_delete_an_event(database: Database) -> None:
    recorded = await record_committed(database)
    async with database.session(write=True) as session:
        event = await session.get(AuditEvent, recorded.id)
        assert event is not None
        await session.delete(event)
        with pytest.raises(AppendOnlyViolation, match="rows are never updated or deleted"):
            await session.flush()
    assert len(await _snapshot(database)) == 1


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(update(AuditEvent).values(action="forged"), id="orm-update"),
        pytest.param(delete(AuditEvent), id="orm-delete"),
        pytest.param(
            update(AuditEvent).where(column_of(AuditEvent.id) > 0).values(action="forged"),
            id="orm-update-where",
        ),
        pytest.param(AuditEvent.__table__.update().values(action="forged"), id="core-update"),  # type: ignore[attr-defined]
        pytest.param(AuditEvent.__table__.delete(), id="core-delete"),  # type: ignore[attr-defined]
        pytest.param(
            delete(AuditEvent.__table__.alias("e")),  # type: ignore[attr-defined]
            id="aliased-delete",
        ),
    ],
)
async def test_the_orm_refuses_bulk_statements(database: Database, statement: Any) -> None:
    await record_committed(database)
    before = await _snapshot(database)
    async with database.session(write=True) as session:
        with pytest.raises(AppendOnlyViolation, match="statements are refused"):
            await session.execute(statement)
    assert await _snapshot(database) == before


async def test_the_orm_refuses_bulk_updates_by_primary_key(database: Database) -> None:
    recorded = await record_committed(database)
    async with database.session(write=True) as session:
        with pytest.raises(AppendOnlyViolation):
            await session.execute(update(AuditEvent), [{"id": recorded.id, "action": "forged"}])
    assert (await _snapshot(database))[0][1] == "update"


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(update(AuditEvent).values(action="forged"), id="update"),
        pytest.param(delete(AuditEvent), id="delete"),
    ],
)
def test_the_session_refuses_bulk_statements_before_using_a_connection(statement: Any) -> None:
    """The session's own guard (`do_orm_execute`): refused before any database is involved, so
    an unbound session does not get as far as finding it has no connection."""
    with Session() as session, pytest.raises(AppendOnlyViolation):
        session.execute(statement)


async def test_the_engine_refuses_legacy_bulk_updates(database: Database) -> None:
    """`bulk_update_mappings` skips the mapper events and `do_orm_execute`; the engine's guard
    refuses its UPDATE before the database's trigger would."""
    recorded = await record_committed(database)
    async with database.session(write=True) as session:
        with pytest.raises(AppendOnlyViolation, match="UPDATE statements are refused"):
            await session.run_sync(
                lambda sync: sync.bulk_update_mappings(
                    AuditEvent,
                    [{"id": recorded.id, "action": "forged"}],
                )
            )
    assert (await _snapshot(database))[0][1] == "update"


async def test_the_engine_refuses_core_statements_on_a_connection(database: Database) -> None:
    await record_committed(database)
    async with database.engine.connect() as connection:
        with pytest.raises(AppendOnlyViolation, match="DELETE statements are refused"):
            await connection.execute(delete(AuditEvent))
    assert len(await _snapshot(database)) == 1


async def test_the_orm_guard_leaves_other_tables_alone(database: Database) -> None:
    async with database.session(write=True) as session:
        result = await session.execute(
            update(StrategicObjective)
            .where(column_of(StrategicObjective.code) == "2020-2030.A")
            .values(version=column_of(StrategicObjective.version) + 1)
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]
        await session.rollback()


class _ProbeBase(DeclarativeBase):
    pass


class _Ledger(_ProbeBase):
    """A table of the test's own, made append-only the way decisions will be."""

    __tablename__ = "append_only_probe_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry: Mapped[str]


@pytest.fixture
def ledger_session() -> Iterator[Session]:
    append_only(_Ledger)
    engine = create_engine("sqlite://")
    _ProbeBase.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(_Ledger(id=1, entry="first"))
        session.commit()
        yield session
    engine.dispose()


def test_append_only_guards_any_model(ledger_session: Session) -> None:
    assert {"audit_event", "append_only_probe_ledger"} <= guarded_tables()
    ledger_session.add(_Ledger(id=2, entry="second"))
    ledger_session.commit()  # inserting is what the table is for

    entry = ledger_session.get(_Ledger, 1)
    assert entry is not None
    entry.entry = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        ledger_session.flush()
    ledger_session.rollback()

    with pytest.raises(AppendOnlyViolation):
        ledger_session.execute(delete(_Ledger))
    ledger_session.rollback()
    assert ledger_session.scalars(select(_Ledger.entry).order_by(_Ledger.id)).all() == [
        "first",
        "second",
    ]


def test_trigger_names_are_predictable() -> None:
    assert trigger_names("decision", "postgresql") == (
        "decision_no_update_or_delete",
        "decision_no_truncate",
    )
    assert trigger_names("decision", "sqlite") == ("decision_no_update", "decision_no_delete")
    with pytest.raises(ValueError, match="no append-only triggers"):
        trigger_names("decision", "mysql")
