"""Audit events as the API shows them (read-only: nothing writes them through the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ActorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(description="The token's subject: who made the change.")
    client_id: str | None = Field(
        default=None,
        description="The OAuth client it was made through, where it differs from the subject.",
    )


class FieldChangeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: Any = Field(description="The value before the change (null on creation).")
    after: Any = Field(description="The value after the change (null on deletion).")


class AuditEventOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(description="Rises in commit order: the position in the change feed.")
    occurred_at: datetime
    actor: ActorOut
    action: str = Field(examples=["create", "update", "delete"])
    resource_type: str = Field(examples=["organization"])
    resource_id: str
    changes: dict[str, FieldChangeOut] = Field(
        description="The before and after of each changed field, by field name. A secret "
        "(a client's secret) shows as changed, never with its value."
    )
    note: str | None = Field(
        default=None, description="Why, in the words of whoever made the change, if they said."
    )
