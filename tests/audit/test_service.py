"""Recording audit events: the changes of a write, the actor, one transaction with the change."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit.service import changes_between, json_safe
from app.core.db import Database, column_of
from app.models.audit import AuditEvent
from tests.audit.conftest import INTEGRATION, SECRETARIAT, record, record_committed


class Category(enum.StrEnum):
    ngo = "ngo"
    rppo = "rppo"


class Level(enum.Enum):
    partnership = "partnership"


async def _count(database: Database) -> int:
    async with database.session(write=False) as session:
        return int(
            (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
        )


# --- changes_between ------------------------------------------------------------------------------


def test_a_creation_lists_every_field_set() -> None:
    assert changes_between(None, {"name": "FAO", "acronym": None, "archived": False}) == {
        "archived": {"before": None, "after": False},
        "name": {"before": None, "after": "FAO"},
    }


def test_an_update_lists_only_the_changed_fields() -> None:
    before = {"name": "FAO", "acronym": None, "country": "IT", "version": 1}
    after = {"name": "FAO", "acronym": "FAO", "country": None, "version": 2}
    assert changes_between(before, after) == {
        "acronym": {"before": None, "after": "FAO"},
        "country": {"before": "IT", "after": None},
        "version": {"before": 1, "after": 2},
    }


def test_a_deletion_lists_every_field_that_was_set() -> None:
    assert changes_between({"name": "FAO", "website": None}, None) == {
        "name": {"before": "FAO", "after": None}
    }


def test_nothing_changed_gives_no_changes() -> None:
    same = {"name": "FAO", "category": Category.ngo}
    assert changes_between(same, dict(same)) == {}
    assert changes_between(None, None) == {}


def test_changes_are_json_safe() -> None:
    identifier = uuid.UUID("8d0d7c9e-6f5e-4a4c-9d1e-000000000001")
    cest = timezone(timedelta(hours=2))
    after = {
        "id": identifier,
        "updated_at": datetime(2026, 12, 1, 14, 30, tzinfo=cest),
        "signed_on": date(2026, 11, 30),
        "category": Category.rppo,
        "level": Level.partnership,
        "amount": Decimal("12.50"),
        "partners": (identifier,),
        "tags": {"b", "a"},
        "extra": {"nested": [Category.ngo]},
    }
    assert changes_between(None, after) == {
        "amount": {"before": None, "after": "12.50"},
        "category": {"before": None, "after": "rppo"},
        "extra": {"before": None, "after": {"nested": ["ngo"]}},
        "id": {"before": None, "after": str(identifier)},
        "level": {"before": None, "after": "partnership"},
        "partners": {"before": None, "after": [str(identifier)]},
        "signed_on": {"before": None, "after": "2026-11-30"},
        "tags": {"before": None, "after": ["a", "b"]},
        "updated_at": {"before": None, "after": "2026-12-01T12:30:00+00:00"},
    }


def test_the_same_instant_in_another_zone_is_no_change() -> None:
    utc = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert changes_between({"at": utc}, {"at": utc.astimezone(timezone(timedelta(hours=5)))}) == {}


def test_values_json_cannot_hold_are_refused() -> None:
    with pytest.raises(TypeError, match="bytes"):
        json_safe(b"raw")


# --- record ---------------------------------------------------------------------------------------


async def test_record_flushes_the_event_in_the_callers_transaction(database: Database) -> None:
    async with database.session(write=True) as session:
        event = await record(
            session,
            SECRETARIAT,
            action="create",
            resource_type="organization",
            resource_id=uuid.UUID("8d0d7c9e-6f5e-4a4c-9d1e-000000000001"),
            changes=changes_between(None, {"name": "FAO", "category": Category.ngo}),
        )
        assert event.id is not None  # flushed: it has its id
        assert await session.get(AuditEvent, event.id) is event
        await session.rollback()  # the change failed: its event goes with it
    assert await _count(database) == 0


async def test_record_keeps_the_actor_and_the_change(database: Database) -> None:
    event = await record_committed(
        database,
        SECRETARIAT,
        action="archive",
        resource_id="8d0d7c9e-6f5e-4a4c-9d1e-000000000001",
        changes={"archived": {"before": False, "after": True}},
    )
    async with database.session(write=False) as session:
        stored = await session.get(AuditEvent, event.id)
    assert stored is not None
    assert (stored.actor_subject, stored.actor_client_id) == (
        "alice@secretariat.example",
        "secretariat-front-end",
    )
    assert (stored.action, stored.resource_type) == ("archive", "organization")
    assert stored.resource_id == "8d0d7c9e-6f5e-4a4c-9d1e-000000000001"
    assert stored.changes == {"archived": {"before": False, "after": True}}
    assert stored.occurred_at.tzinfo is not None
    assert abs(stored.occurred_at - datetime.now(UTC)) < timedelta(minutes=1)


async def test_the_client_id_is_kept_only_where_it_differs(database: Database) -> None:
    event = await record_committed(database, INTEGRATION)
    assert event.actor_subject == INTEGRATION.subject
    assert event.actor_client_id is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action", ""),
        ("action", "x" * 33),
        ("resource_type", "t" * 65),
        ("resource_id", "9" * 65),
    ],
)
async def test_record_refuses_values_out_of_bounds(
    database: Database, field: str, value: str
) -> None:
    values: dict[str, Any] = {
        "action": "update",
        "resource_type": "organization",
        "resource_id": "1",
        field: value,
    }
    async with database.session(write=True) as session:
        with pytest.raises(ValueError, match=field):
            await record(session, SECRETARIAT, changes={"n": {"before": 1, "after": 2}}, **values)


async def test_record_makes_the_changes_json_safe(database: Database) -> None:
    identifier = uuid.uuid4()
    event = await record_committed(
        database, changes={"parent_id": {"before": None, "after": identifier}}
    )
    async with database.session(write=False) as session:
        stored = (
            await session.execute(
                select(column_of(AuditEvent.changes)).where(column_of(AuditEvent.id) == event.id)
            )
        ).scalar_one()
    assert stored == {"parent_id": {"before": None, "after": str(identifier)}}


async def test_ids_rise_with_each_committed_event(database: Database) -> None:
    ids = [(await record_committed(database, resource_id=str(n))).id or 0 for n in range(5)]
    assert all(ids)
    assert ids == sorted(set(ids))
