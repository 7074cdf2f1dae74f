"""Fixtures of the audit tests: a Database on the test's own database, principals, and events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import write_events
from app.auth.scopes import Principal, Role, Scope
from app.core.db import Database
from app.core.tracking import Change
from app.models.audit import AuditEvent

SECRETARIAT = Principal(
    subject="alice@secretariat.example",
    client_id="secretariat-front-end",
    role=Role.secretariat,
    scopes=frozenset({Scope.registry_read, Scope.registry_write, Scope.audit_read}),
)
INTEGRATION = Principal(
    subject="c0ffee00-0000-4000-8000-000000000001",
    client_id="c0ffee00-0000-4000-8000-000000000001",
    role=Role.integration,
    scopes=frozenset({Scope.registry_read, Scope.audit_read}),
)

RecordFn = Callable[..., Awaitable[AuditEvent]]


async def record(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    resource_type: str,
    resource_id: str | uuid.UUID,
    changes: dict[str, dict[str, Any]],
    note: str | None = None,
) -> AuditEvent:
    """One event written in `session`'s transaction as the audit trail writes a change's at
    commit (the lock taken, the event flushed with its id), for tests that need events of
    their own making."""
    change = Change(
        resource_type,
        str(resource_id),
        action,
        {field: value["before"] for field, value in changes.items()},
        {field: value["after"] for field, value in changes.items()},
        note=note,
    )
    events = await session.run_sync(lambda sync: write_events(sync, principal, [change]))
    (event,) = events
    return event


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def record_committed(
    database: Database,
    principal: Principal = SECRETARIAT,
    *,
    action: str = "update",
    resource_type: str = "organization",
    resource_id: str = "8d0d7c9e-6f5e-4a4c-9d1e-000000000001",
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """One event, recorded and committed in a transaction of its own."""
    async with database.session(write=True) as session:
        event = await record(
            session,
            principal,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            changes=changes if changes is not None else {"name": {"before": "A", "after": "B"}},
        )
        await session.commit()
    return event
