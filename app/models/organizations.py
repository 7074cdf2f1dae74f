"""Organizations the IPPC deals with."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint, Uuid
from sqlmodel import Field

from app.models.base import StoredResource

# The version column is declared here so that the mapper can use it for optimistic
# concurrency: every UPDATE says `WHERE version = <the version read>` and raises the version.
_version_column = Column("version", Integer, nullable=False, default=1)


class Organization(StoredResource, table=True):
    __tablename__ = "organization"
    __table_args__ = (
        # The same organization is not registered twice: same normalized name, same country
        # (or both without one). A unique constraint decides, concurrent creates included.
        UniqueConstraint("name_key", "country_key"),
        Index("ix_organization_name_key_id", "name_key", "id"),
        Index("ix_organization_created_at_id", "created_at", "id"),
        Index("ix_organization_updated_at_id", "updated_at", "id"),
    )
    __mapper_args__ = {"version_id_col": _version_column}  # noqa: RUF012

    version: int = Field(default=1, sa_column=_version_column)
    name: str = Field(max_length=300, nullable=False)
    acronym: str | None = Field(default=None, max_length=50)
    category: str | None = Field(default=None, max_length=40)
    sector: str | None = Field(default=None, max_length=10)
    geographic_scope: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=2)
    website: str | None = Field(default=None, max_length=2048)
    description: str | None = Field(default=None, sa_column=Column(Text))
    parent_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("organization.id"), index=True, nullable=True),
    )
    archived: bool = Field(default=False, nullable=False)
    # Computed by the service: the name and acronym as search compares them (case- and
    # accent-insensitive), and the country with "" for none, for the duplicate check.
    name_key: str = Field(max_length=300, nullable=False)
    search_key: str = Field(max_length=400, nullable=False)
    country_key: str = Field(max_length=2, nullable=False, default="")
