"""Reference data: the strategic objectives of the IPPC Strategic Frameworks (seeded, read-only)."""

from __future__ import annotations

from sqlmodel import Field

from app.models.base import StoredResource


class StrategicObjective(StoredResource, table=True):
    __tablename__ = "strategic_objective"

    code: str = Field(max_length=32, unique=True, nullable=False)
    framework: str = Field(max_length=16, index=True, nullable=False)
    letter: str = Field(max_length=1, nullable=False)
    title: str = Field(max_length=500, nullable=False)
