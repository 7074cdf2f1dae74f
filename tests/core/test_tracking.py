"""Audit by structure: the changes of tracked rows become events at commit, whatever the service
remembered to say."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tracking
from app.core.db import Database, column_of
from app.core.tracking import UnauditedChange, record_action, set_actor, tracked_models
from app.models import (
    Agreement,
    AuditEvent,
    Decision,
    DueDiligence,
    Interaction,
    InterestDeclaration,
    OAuthClient,
    Organization,
)
from app.organizations.service import keys
from tests.audit.conftest import SECRETARIAT


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


def _organization(name: str, **fields: Any) -> Organization:
    computed: dict[str, Any] = keys(name, fields.get("acronym"), None)
    return Organization(name=name, **fields, **computed)


@contextlib.asynccontextmanager
async def _writing(database: Database) -> AsyncIterator[AsyncSession]:
    """A writing session whose changes are the Secretariat's."""
    async with database.session(write=True) as session:
        set_actor(session, SECRETARIAT)
        yield session


async def _stored(database: Database, name: str, **fields: Any) -> Organization:
    async with _writing(database) as session:
        organization = _organization(name, **fields)
        session.add(organization)
        await session.commit()
    return organization


async def _events(database: Database) -> list[AuditEvent]:
    async with database.session(write=False) as session:
        statement = select(AuditEvent).order_by(column_of(AuditEvent.id))
        return list((await session.execute(statement)).scalars())


async def test_a_create_is_recorded_with_every_field_set(database: Database) -> None:
    organization = await _stored(database, "FAO", acronym="FAO", category="un_organization")
    (event,) = await _events(database)
    assert (event.action, event.resource_type) == ("create", "organization")
    assert event.resource_id == str(organization.id)
    assert event.actor_subject == SECRETARIAT.subject
    assert event.changes == {
        "acronym": {"before": None, "after": "FAO"},
        "archived": {"before": None, "after": False},
        "category": {"before": None, "after": "un_organization"},
        "name": {"before": None, "after": "FAO"},
    }


async def test_changes_of_a_transaction_merge_into_one_event_per_row(database: Database) -> None:
    organization = await _stored(database, "Old")
    async with _writing(database) as session:
        row = await session.get(Organization, organization.id)
        assert row is not None
        row.name = "Middle"
        await session.flush()
        row.name = "New"
        row.description = "text"
        await session.flush()
        row.description = None  # back to what it was: no change shown
        await session.commit()
    created, updated = await _events(database)
    assert updated.action == "update"
    assert updated.changes == {"name": {"before": "Old", "after": "New"}}
    assert row.version == 4  # each flush that wrote the row raised its version
    assert (created.id or 0) < (updated.id or 0)


async def test_bookkeeping_and_computed_columns_are_not_shown(database: Database) -> None:
    await _stored(database, "Plain")
    (event,) = await _events(database)
    hidden = {"id", "version", "created_at", "updated_at", "name_key", "name_digest"}
    assert hidden.isdisjoint(event.changes)
    assert {"search_key", "country_key"}.isdisjoint(event.changes)


async def test_a_delete_lists_what_was_set(database: Database) -> None:
    organization = await _stored(database, "Gone", acronym="G")
    async with _writing(database) as session:
        row = await session.get(Organization, organization.id)
        await session.delete(row)
        await session.commit()
    deleted = (await _events(database))[-1]
    assert deleted.action == "delete"
    assert deleted.changes["name"] == {"before": "Gone", "after": None}
    assert deleted.changes["acronym"] == {"before": "G", "after": None}


async def test_created_and_deleted_in_one_transaction_leaves_nothing(database: Database) -> None:
    async with _writing(database) as session:
        organization = _organization("Fleeting")
        session.add(organization)
        await session.flush()
        await session.delete(organization)
        await session.commit()
    assert await _events(database) == []


async def test_a_rolled_back_savepoint_takes_its_changes_with_it(database: Database) -> None:
    async with _writing(database) as session:
        kept = _organization("Kept")
        session.add(kept)
        await session.flush()
        savepoint = await session.begin_nested()
        session.add(_organization("Undone"))
        await session.flush()
        await savepoint.rollback()
        await session.commit()
    (event,) = await _events(database)
    assert event.resource_id == str(kept.id)


async def test_a_released_savepoint_keeps_its_changes(database: Database) -> None:
    async with _writing(database) as session:
        async with session.begin_nested():
            session.add(_organization("Inside"))
        await session.commit()
    (event,) = await _events(database)
    assert event.changes["name"]["after"] == "Inside"


async def test_a_rolled_back_transaction_records_nothing(database: Database) -> None:
    async with _writing(database) as session:
        session.add(_organization("Never"))
        await session.flush()
        await session.rollback()
        session.add(_organization("Later"))
        await session.commit()
    (event,) = await _events(database)
    assert event.changes["name"]["after"] == "Later"


async def test_a_reason_names_the_change_and_keeps_its_note(database: Database) -> None:
    organization = await _stored(database, "Archived soon")
    async with _writing(database) as session:
        row = await session.get(Organization, organization.id)
        assert row is not None
        row.archived = True
        record_action(session, row, "archive", "no longer active")
        await session.commit()
    archived = (await _events(database))[-1]
    assert (archived.action, archived.note) == ("archive", "no longer active")
    assert archived.changes == {"archived": {"before": False, "after": True}}


async def test_a_reason_without_a_change_is_still_recorded(database: Database) -> None:
    organization = await _stored(database, "Reviewed")
    async with _writing(database) as session:
        row = await session.get(Organization, organization.id)
        record_action(session, row, "review", "looked, nothing to change")
        await session.commit()
    reviewed = (await _events(database))[-1]
    assert (reviewed.action, reviewed.note, reviewed.changes) == (
        "review",
        "looked, nothing to change",
        {},
    )


async def test_a_change_without_an_actor_is_refused_and_nothing_commits(
    database: Database,
) -> None:
    async with database.session(write=True) as session:
        session.add(_organization("Anonymous"))
        with pytest.raises(UnauditedChange, match="organization"):
            await session.commit()
    async with database.session(write=False) as session:
        count = (await session.execute(text("SELECT count(*) FROM organization"))).scalar_one()
    assert count == 0
    assert await _events(database) == []


async def test_untracked_tables_need_no_actor(database: Database) -> None:
    async with database.session(write=True) as session:
        await session.execute(text("DELETE FROM idempotency_record"))
        await session.commit()


def test_the_tracked_models() -> None:
    assert {model: spec.resource_type for model, spec in tracked_models().items()} == {
        Organization: "organization",
        OAuthClient: "oauth_client",
        Agreement: "agreement",
        DueDiligence: "due_diligence",
        Interaction: "interaction",
        Decision: "decision",
        InterestDeclaration: "interest_declaration",
    }
    assert tracked_models()[OAuthClient].redact == {"secret_hash"}


async def test_a_change_its_readers_must_read_is_refused_where_they_are_not_registered(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organization's changes alter the public register's own rows: in a process where the
    register's reader is not registered, the commit fails and nothing commits, as it does
    without an audit trail."""
    monkeypatch.setattr(tracking, "_READERS", {})
    async with _writing(database) as session:
        session.add(_organization("Unread"))
        with pytest.raises(UnauditedChange, match="the public register"):
            await session.commit()
    async with database.session(write=False) as session:
        count = (await session.execute(text("SELECT count(*) FROM organization"))).scalar_one()
    assert count == 0
