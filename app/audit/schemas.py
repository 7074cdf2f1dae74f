"""Audit events as the API shows them (read-only: nothing writes them through the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.params import QueryDatetime
from app.core.validation import NO_NUL, InputModel
from app.models.audit import (
    ACTION_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    RESOURCE_ID_MAX_LENGTH,
    RESOURCE_TYPE_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
)

# Ids are PostgreSQL `integer`s: a larger number cannot name any event.
MAX_EVENT_ID = 2**31 - 1


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

    id: int = Field(
        ge=1, le=MAX_EVENT_ID, description="Rises in commit order: the position in the change feed."
    )
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


ResourceType = Annotated[
    str, StringConstraints(min_length=1, max_length=RESOURCE_TYPE_MAX_LENGTH, pattern=NO_NUL)
]


class AuditEventFilters(InputModel):
    """The filters of the audit trail, as query parameters (all combined with AND)."""

    resource_type: list[ResourceType] = Field(
        default_factory=list, description="Repeat for several."
    )
    resource_id: str | None = Field(
        default=None, min_length=1, max_length=RESOURCE_ID_MAX_LENGTH, pattern=NO_NUL
    )
    actor: str | None = Field(
        default=None,
        min_length=1,
        max_length=SUBJECT_MAX_LENGTH,
        pattern=NO_NUL,
        description="The subject of the actor.",
    )
    occurred_at_from: QueryDatetime | None = Field(default=None, description="Inclusive.")
    occurred_at_to: QueryDatetime | None = Field(default=None, description="Inclusive.")
    after_id: int | None = Field(
        default=None,
        ge=0,
        le=MAX_EVENT_ID,
        description="Only events after this one: a follower's position in the change feed.",
    )
