"""The audit trail: writing the events of a transaction's changes, and reading the feed.

Nothing calls the writer by hand: `app.core.tracking` collects the changes of the tracked models
from the ORM and, just before the transaction commits, hands them to `write_events`, registered
here as the change sink. So a change and its events commit or roll back together, and no service
can forget an event.

Ids rise in commit order. On PostgreSQL a sequence hands out ids when rows are inserted, not when
they commit, so a follower paging by id could read event 8 while event 7 is still in flight and
then skip it. `write_events` therefore takes a transaction-scoped advisory lock right before
inserting: the lock is held until the transaction ends, so the next writer takes its ids only
after this one has committed (or rolled back, leaving a gap that is never filled). Events are
written at commit, so the lock is held only from then to the end of the commit. On SQLite
writers are already serialized by `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import decimal
import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.audit.schemas import (
    ActorOut,
    AuditEventFilters,
    AuditEventOut,
    FieldChangeOut,
)
from app.core.actor import Actor
from app.core.db import Database, column_of, transaction_lock, utcnow
from app.core.errors import NotFound
from app.core.listing import ListSpec, equal_to, greater_than, in_range, one_of
from app.core.pagination import Page, SortOptions
from app.core.tracking import Change, set_change_sink
from app.models.audit import (
    ACTION_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    RESOURCE_ID_MAX_LENGTH,
    RESOURCE_TYPE_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    AuditEvent,
)

# The key of the advisory lock that serializes audit inserts on PostgreSQL (any constant that no
# other lock of this database uses; these digits spell "IPPC AUDIT" on a phone keypad).
AUDIT_ID_LOCK_KEY = 477_228_348
# What a secret's change shows instead of its values.
REDACTED = "[redacted]"

_id_column = column_of(AuditEvent.id)
_COLUMNS = (
    _id_column,
    column_of(AuditEvent.occurred_at),
    column_of(AuditEvent.actor_subject),
    column_of(AuditEvent.actor_client_id),
    column_of(AuditEvent.action),
    column_of(AuditEvent.resource_type),
    column_of(AuditEvent.resource_id),
    column_of(AuditEvent.changes),
    column_of(AuditEvent.note),
)


# --- Writing ---------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """`value` made of JSON types only: UUIDs, dates and decimals as strings, datetimes in UTC,
    enums as their values, tuples and sets as lists. Anything else is a programming error."""
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=repr)
    raise TypeError(f"{type(value).__name__} values cannot be kept in an audit event")


def changes_between(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """The `changes` of an event: `{"field": {"before": ..., "after": ...}}` for the fields whose
    value differs, JSON-safe. A creation has no `before` (every field set is listed, with
    `before` null); a deletion has no `after` (every field that was set, with `after` null)."""
    old = before or {}
    new = after or {}
    changes: dict[str, dict[str, Any]] = {}
    for field in sorted({*old, *new}):
        was, now = json_safe(old.get(field)), json_safe(new.get(field))
        if was != now:
            changes[field] = {"before": was, "after": now}
    return changes


def _bounded(name: str, value: str, limit: int) -> str:
    if not value or len(value) > limit:
        raise ValueError(f"an audit event's {name} has 1 to {limit} characters: {value!r}")
    return value


def _allocate_ids_in_commit_order(session: Session) -> None:
    transaction_lock(session.connection(), AUDIT_ID_LOCK_KEY)


def event_changes(change: Change) -> dict[str, dict[str, Any]]:
    """What an event shows of a change: the fields that differ, secrets without their values."""
    changes = changes_between(change.before, change.after)
    for field in sorted(change.redacted):
        was_set = change.before is not None and change.action != "create"
        changes[field] = {
            "before": REDACTED if was_set else None,
            "after": REDACTED if change.after is not None else None,
        }
    return dict(sorted(changes.items()))


def write_events(session: Session, actor: Actor, changes: Sequence[Change]) -> list[AuditEvent]:
    """Append one event a change, by `actor`, in the session's transaction (the change sink).

    An update that changed nothing the trail shows, and that no reason names, leaves no event.
    Flushes (each event has its id on return) and never commits."""
    subject = _bounded("actor subject", actor.subject, SUBJECT_MAX_LENGTH)
    client_id = actor.client_id if actor.client_id != actor.subject else None
    if client_id is not None:
        _bounded("actor client_id", client_id, SUBJECT_MAX_LENGTH)
    rows: list[dict[str, Any]] = []
    for change in changes:
        shown = event_changes(change)
        if not shown and change.action == "update" and change.note is None:
            continue
        rows.append(
            {
                "actor_subject": subject,
                "actor_client_id": client_id,
                "action": _bounded("action", change.action, ACTION_MAX_LENGTH),
                "resource_type": _bounded(
                    "resource_type", change.resource_type, RESOURCE_TYPE_MAX_LENGTH
                ),
                "resource_id": _bounded("resource_id", change.resource_id, RESOURCE_ID_MAX_LENGTH),
                "changes": shown,
                "note": None
                if change.note is None
                else _bounded("note", change.note, NOTE_MAX_LENGTH),
            }
        )
    if not rows:
        return []
    _allocate_ids_in_commit_order(session)
    # Timed once the events have their place in the feed (after any wait for the lock).
    now = utcnow()
    events = [AuditEvent(occurred_at=now, **row) for row in rows]
    session.add_all(events)
    session.flush()
    return events


set_change_sink(write_events)


# --- Reading ---------------------------------------------------------------------------------


def _as_out(row: Any) -> AuditEventOut:
    return AuditEventOut(
        id=row.id,
        occurred_at=row.occurred_at,
        actor=ActorOut(subject=row.actor_subject, client_id=row.actor_client_id),
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        changes={
            field: FieldChangeOut(before=change["before"], after=change["after"])
            for field, change in row.changes.items()
        },
        note=row.note,
    )


LIST = ListSpec(
    name="audit-events",
    statement=select(*_COLUMNS),
    parameters=AuditEventFilters,
    filters=(
        one_of("resource_type", column_of(AuditEvent.resource_type)),
        equal_to("resource_id", column_of(AuditEvent.resource_id)),
        equal_to("actor", column_of(AuditEvent.actor_subject)),
        in_range("occurred_at", column_of(AuditEvent.occurred_at)),
        greater_than("after_id", _id_column),
    ),
    # One order only: ascending id, the commit order the feed promises.
    sorts=SortOptions(
        fields={"id": _id_column}, tiebreaker=_id_column, default="id", list_name="audit-events"
    ),
)


async def list_events(
    session: AsyncSession, filters: AuditEventFilters, *, limit: int, cursor: str | None
) -> Page[AuditEventOut]:
    """Events matching every filter given, in ascending id (commit) order, one page.

    The time range is inclusive at both ends; a range whose start is after its end is empty.

    `after_id` starts the feed after an event the caller already has; `cursor` continues a
    listing. Both may be given (events after both)."""
    rows, next_cursor = await LIST.page(session, filters, sort=None, limit=limit, cursor=cursor)
    return Page[AuditEventOut](items=[_as_out(row) for row in rows], next_cursor=next_cursor)


_LAST_EVENT = select(func.max(column_of(AuditEvent.id)))


async def last_event_id(database: Database) -> int:
    """The id of the last event committed (0 before the first).

    Every committed change of a resource appends its events in its own transaction, and ids rise
    in commit order (module docstring): this rises with every committed change, on any instance,
    and is the data's version for answers kept while nothing changes (`core.kept.DataVersion`).
    One read of the primary key's last entry."""
    rows = await database.read(_LAST_EVENT)
    return int(rows[0][0] or 0)


async def get_event(session: AsyncSession, event_id: int) -> AuditEventOut:
    row = (await session.execute(select(*_COLUMNS).where(_id_column == event_id))).first()
    if row is None:
        raise NotFound("No audit event has this id.")
    return _as_out(row)
