"""Organizations the IPPC deals with."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, ForeignKey, Index, Text, UniqueConstraint, Uuid, text
from sqlmodel import Field

from app.core.sql import long_search_index, search_index, trigram_index
from app.core.tracking import tracked
from app.models.base import LINKED_CODES, PUBLIC_REGISTER, StoredResource

NAME_MAX_LENGTH = 300
ACRONYM_MAX_LENGTH = 50
WEBSITE_MAX_LENGTH = 2048
DESCRIPTION_MAX_LENGTH = 10_000


@tracked(
    "organization",
    ignore=("name_key", "name_digest", "search_key", "country_key"),
    read_by=(LINKED_CODES, PUBLIC_REGISTER),
)
class Organization(StoredResource, table=True):
    __tablename__ = "organization"
    __table_args__ = (
        # The same organization is not registered twice: same normalized name, same country
        # (or both without one). A unique constraint decides, concurrent creates included. It is
        # on a digest of the normalized name: normalizing can make a name many times longer
        # (NFKD, case folding), past what an index entry may hold.
        UniqueConstraint("name_digest", "country_key"),
        # The default order carries the filters a page tests its candidates by (ids first).
        Index(
            "ix_organization_name_key_id",
            "name_key",
            "id",
            postgresql_include=["archived", "category", "country"],
        ),
        # A page of one category, or one country, in the default order is a range of these.
        *(
            Index(f"ix_organization_{key}_name_key_id", key, "name_key", "id")
            for key in ("category", "country")
        ),
        Index("ix_organization_created_at_id", "created_at", "id"),
        Index("ix_organization_updated_at_id", "updated_at", "id"),
        # The archived ones (few), in the list's default order. The condition is the filter's
        # own, as each database spells it: SQLite uses a partial index only for the very term.
        Index(
            "ix_organization_archived_name_key_id",
            "name_key",
            "id",
            postgresql_where=text("archived IS true"),
            sqlite_where=text("archived IS 1"),
        ),
        trigram_index("ix_organization_search_key_trgm", "search_key"),
        # A search in the default order (by name, not archived) reads its rows' text from this
        # (`core.sql`).
        search_index(
            "ix_organization_name_key_id_search", "name_key", "id", where="archived IS false"
        ),
        long_search_index("ix_organization_search_long"),
    )

    name: str = Field(max_length=NAME_MAX_LENGTH, nullable=False)
    acronym: str | None = Field(default=None, max_length=ACRONYM_MAX_LENGTH)
    category: str | None = Field(default=None, max_length=40)
    sector: str | None = Field(default=None, max_length=10)
    geographic_scope: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=2)
    website: str | None = Field(default=None, max_length=WEBSITE_MAX_LENGTH)
    description: str | None = Field(default=None, sa_column=Column(Text))
    parent_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("organization.id"), index=True, nullable=True),
    )
    archived: bool = Field(default=False, nullable=False)
    # Computed from the name, the acronym and the country by `app.core.text` (see the service):
    # the sort key (the normalized name, cut to the name's own length), the digest of the whole
    # normalized name (the duplicate check), the searchable text (never cut: search must find
    # the acronym of the longest name), and the country with "" for none.
    name_key: str = Field(max_length=NAME_MAX_LENGTH, nullable=False)
    name_digest: str = Field(max_length=64, nullable=False)
    search_key: str = Field(sa_column=Column(Text, nullable=False))
    country_key: str = Field(max_length=2, nullable=False, default="")
