"""Responses kept for `Idempotency-Key` replays (24 hours)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, new_id, utcnow


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("client", "method", "path", "key"),
        Index("ix_idempotency_record_expires_at", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    client: str = Field(max_length=255, nullable=False)
    method: str = Field(max_length=10, nullable=False)
    path: str = Field(max_length=1000, nullable=False)
    key: str = Field(max_length=255, nullable=False)
    request_hash: str = Field(max_length=64, nullable=False)
    completed: bool = Field(default=False, nullable=False)
    response_status: int | None = Field(default=None)
    response_headers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    response_body: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
