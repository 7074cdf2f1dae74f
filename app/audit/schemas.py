"""Audit events as the API shows them (read-only: nothing writes them through the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.models.audit import (
    ACTION_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    RESOURCE_ID_MAX_LENGTH,
    RESOURCE_TYPE_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
)


class ActorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        max_length=SUBJECT_MAX_LENGTH, description="The token's subject: who made the change."
    )
    client_id: str | None = Field(
        default=None,
        max_length=SUBJECT_MAX_LENGTH,
        description="The OAuth client it was made through, where it differs from the subject.",
    )


class FieldChangeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: Any = Field(description="The value before the change (null on creation).")
    after: Any = Field(description="The value after the change (null on deletion).")


class AuditEventOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, description="Rises in commit order: the position in the change feed.")
    occurred_at: datetime
    actor: ActorOut
    action: str = Field(max_length=ACTION_MAX_LENGTH, examples=["create", "update", "delete"])
    resource_type: str = Field(max_length=RESOURCE_TYPE_MAX_LENGTH, examples=["organization"])
    resource_id: str = Field(max_length=RESOURCE_ID_MAX_LENGTH)
    changes: dict[str, FieldChangeOut] = Field(
        description="The before and after of each changed field, by field name. A secret "
        "(a client's secret) shows as changed, never with its value."
    )
    note: str | None = Field(
        default=None,
        max_length=NOTE_MAX_LENGTH,
        description="Why, in the words of whoever made the change, if they said.",
    )
