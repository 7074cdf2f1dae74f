"""The audit trail: recording events (in the transaction of the change) and reading the feed.

Services call `record` after making a change, in the same session, so that the change and its
event commit or roll back together. `changes_between` computes the `changes` of an event from
the resource's fields before and after.

Ids rise in commit order. On PostgreSQL a sequence hands out ids when rows are inserted, not when
they commit, so a follower paging by id could read event 8 while event 7 is still in flight and
then skip it. `record` therefore takes a transaction-scoped advisory lock right before inserting:
the lock is held until the transaction ends, so the next writer takes its id only after this one
has committed (or rolled back, leaving a gap that is never filled). The price: writers are
serialized from their first audit insert to their commit, so a service records its events as the
last step of its work. On SQLite writers are already serialized by `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import decimal
import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.schemas import ActorOut, AuditEventOut, FieldChangeOut
from app.auth.scopes import Principal
from app.core.db import column_of, hold_transaction_lock, utcnow
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.pagination import Ordering, Page, SortKey, decode_cursor
from app.core.params import in_utc
from app.models.audit import (
    ACTION_MAX_LENGTH,
    RESOURCE_ID_MAX_LENGTH,
    RESOURCE_TYPE_MAX_LENGTH,
    AuditEvent,
)

# The key of the advisory lock that serializes audit inserts on PostgreSQL (any constant that no
# other lock of this database uses; these digits spell "IPPC AUDIT" on a phone keypad).
AUDIT_ID_LOCK_KEY = 477_228_348
# Ids are PostgreSQL `integer`s: a larger number in a cursor or filter cannot match any event.
MAX_EVENT_ID = 2**31 - 1

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
)
_ORDER = Ordering((SortKey(_id_column),))


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


def _checked_changes(changes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    checked: dict[str, dict[str, Any]] = {}
    for field, change in changes.items():
        if not isinstance(change, Mapping) or set(change) != {"before", "after"}:
            raise ValueError(f"the change of {field!r} must be {{'before': ..., 'after': ...}}")
        checked[str(field)] = {
            "before": json_safe(change["before"]),
            "after": json_safe(change["after"]),
        }
    return checked


def _bounded(name: str, value: str, limit: int) -> str:
    if not value or len(value) > limit:
        raise ValueError(f"an audit event's {name} has 1 to {limit} characters: {value!r}")
    return value


async def _allocate_ids_in_commit_order(session: AsyncSession) -> None:
    await hold_transaction_lock(session, AUDIT_ID_LOCK_KEY)


async def record(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    resource_type: str,
    resource_id: str | uuid.UUID,
    changes: Mapping[str, Any],
) -> AuditEvent:
    """Append one event for a change made in this session's transaction, by `principal`.

    Flushes (the event has its id on return) and never commits: the event commits with the
    change. Call it as the last step of a write (see the module's notes on the lock)."""
    fields: dict[str, Any] = {
        "actor_subject": principal.subject,
        "actor_client_id": (
            principal.client_id if principal.client_id != principal.subject else None
        ),
        "action": _bounded("action", action, ACTION_MAX_LENGTH),
        "resource_type": _bounded("resource_type", resource_type, RESOURCE_TYPE_MAX_LENGTH),
        "resource_id": _bounded("resource_id", str(resource_id), RESOURCE_ID_MAX_LENGTH),
        "changes": _checked_changes(changes),
    }
    await _allocate_ids_in_commit_order(session)
    # Timed once the event has its place in the feed (after any wait for the lock).
    event = AuditEvent(occurred_at=utcnow(), **fields)
    session.add(event)
    await session.flush()
    return event


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
    )


def _checked_cursor(cursor: str | None) -> None:
    """A cursor of this list holds an event id; one outside the id range was never given out."""
    if cursor is None:
        return
    (value,) = decode_cursor(cursor, _ORDER.keys, _ORDER.token)
    if type(value) is not int or not 0 <= value <= MAX_EVENT_ID:
        raise ValidationFailed(
            "The cursor is not one this list gave out.",
            [FieldError("Invalid cursor: use the next_cursor of a page", parameter="cursor")],
        )


def _filtered(
    *,
    resource_types: Sequence[str] | None,
    resource_id: str | None,
    actor: str | None,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
    after_id: int | None,
) -> Select[Any]:
    stmt = select(*_COLUMNS)
    if resource_types:
        stmt = stmt.where(column_of(AuditEvent.resource_type).in_(list(resource_types)))
    if resource_id is not None:
        stmt = stmt.where(column_of(AuditEvent.resource_id) == resource_id)
    if actor is not None:
        stmt = stmt.where(column_of(AuditEvent.actor_subject) == actor)
    if occurred_from is not None:
        stmt = stmt.where(column_of(AuditEvent.occurred_at) >= occurred_from)
    if occurred_to is not None:
        stmt = stmt.where(column_of(AuditEvent.occurred_at) <= occurred_to)
    if after_id is not None:
        stmt = stmt.where(_id_column > after_id)
    return stmt


async def list_events(
    session: AsyncSession,
    principal: Principal,
    *,
    resource_types: Sequence[str] | None = None,
    resource_id: str | None = None,
    actor: str | None = None,
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
    after_id: int | None = None,
    limit: int,
    cursor: str | None = None,
) -> Page[AuditEventOut]:
    """Events matching every filter given, in ascending id (commit) order, one page.

    The time range is inclusive at both ends; a range whose start is after its end is empty.

    `after_id` starts the feed after an event the caller already has; `cursor` continues a
    listing. Both may be given (events after both)."""
    del principal  # every holder of audit:read sees the whole trail
    _checked_cursor(cursor)
    stmt = _filtered(
        resource_types=resource_types,
        resource_id=resource_id,
        actor=actor,
        occurred_from=in_utc(occurred_from) if occurred_from is not None else None,
        occurred_to=in_utc(occurred_to) if occurred_to is not None else None,
        after_id=after_id,
    )
    rows = (await session.execute(_ORDER.page(stmt, limit, cursor))).all()
    items, next_cursor = _ORDER.split(rows, limit)
    return Page[AuditEventOut](items=[_as_out(row) for row in items], next_cursor=next_cursor)


async def get_event(session: AsyncSession, principal: Principal, event_id: int) -> AuditEventOut:
    del principal  # every holder of audit:read sees the whole trail
    row = (await session.execute(select(*_COLUMNS).where(_id_column == event_id))).first()
    if row is None:
        raise NotFound("No audit event has this id.")
    return _as_out(row)
