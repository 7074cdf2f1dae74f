"""The audit trail: one event per change of any resource, append-only (see docs/audit.md).

The id is an integer that rises in commit order (`app.audit.service.record` assigns it under a
lock on PostgreSQL), so that followers of the change feed can page by id and never miss an event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.append_only import append_only
from app.core.db import UTCDateTime

ACTION_MAX_LENGTH = 32
RESOURCE_TYPE_MAX_LENGTH = 64
RESOURCE_ID_MAX_LENGTH = 64
SUBJECT_MAX_LENGTH = 255
NOTE_MAX_LENGTH = 2000


@append_only
class AuditEvent(SQLModel, table=True):
    """One change: who (`actor_*`), what (`action` on `resource_type`/`resource_id`), when, and
        the before and after of each changed field: `{"field": {"before": ..., "after": ...}}`, and
    the note the caller gave (a workflow transition's, say).

        `actor_client_id` is set only where it differs from `actor_subject`."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_resource_type_resource_id", "resource_type", "resource_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    actor_subject: str = Field(max_length=SUBJECT_MAX_LENGTH, nullable=False, index=True)
    actor_client_id: str | None = Field(default=None, max_length=SUBJECT_MAX_LENGTH, nullable=True)
    action: str = Field(max_length=ACTION_MAX_LENGTH, nullable=False)
    resource_type: str = Field(max_length=RESOURCE_TYPE_MAX_LENGTH, nullable=False)
    resource_id: str = Field(max_length=RESOURCE_ID_MAX_LENGTH, nullable=False)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    note: str | None = Field(default=None, sa_type=sa.Text, nullable=True)
