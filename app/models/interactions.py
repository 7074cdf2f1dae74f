"""Liaison interactions: every contact of the Secretariat with outside organizations."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlmodel import Field, SQLModel

from app.core.sql import long_search_index, search_index, trigram_index
from app.core.tracking import tracked
from app.models.base import PUBLIC_REGISTER, StoredResource

SUBJECT_MAX_LENGTH = 500
LOCATION_MAX_LENGTH = 300

# An interaction the public register shows (design §2), which keeps a row of its own for each
# (app/models/public.py).
PUBLIC_VISIBILITY = "public"


@tracked(
    "interaction",
    ignore=("subject_key", "search_key", "objective_codes"),
    read_by=(PUBLIC_REGISTER,),
)
class Interaction(StoredResource, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        # The default order carries the filters a page tests its candidates by (ids first).
        Index(
            "ix_interaction_occurred_on_id",
            "occurred_on",
            "id",
            postgresql_include=["channel", "visibility", "objective_codes"],
        ),
        Index("ix_interaction_subject_key_id", "subject_key", "id"),
        Index("ix_interaction_created_at_id", "created_at", "id"),
        Index("ix_interaction_updated_at_id", "updated_at", "id"),
        trigram_index("ix_interaction_search_key_trgm", "search_key"),
        # A search in the default order (the latest first) reads its rows' text from this
        # (`core.sql`).
        search_index("ix_interaction_occurred_on_id_search", "occurred_on", "id"),
        long_search_index("ix_interaction_search_long"),
    )

    occurred_on: date = Field(sa_column=Column(Date, nullable=False))
    channel: str = Field(max_length=20, nullable=False, index=True)
    subject: str = Field(max_length=SUBJECT_MAX_LENGTH, nullable=False)
    summary: str | None = Field(default=None, sa_column=Column(Text))
    # The organizations and objectives as the interaction shows them (in the order given); the
    # link tables below hold the same references for the database to keep, and for filters and
    # counts. The service writes both together.
    organization_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    ippc_participants: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    location: str | None = Field(default=None, max_length=LOCATION_MAX_LENGTH)
    strategic_objectives: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    follow_up: str | None = Field(default=None, sa_column=Column(Text))
    agreement_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("agreement.id"), index=True, nullable=True),
    )
    visibility: str = Field(default="internal", max_length=10, nullable=False, index=True)
    # Computed by the service: the sort key (the normalized subject) and the searchable text.
    subject_key: str = Field(max_length=SUBJECT_MAX_LENGTH, nullable=False)
    search_key: str = Field(sa_column=Column(Text, nullable=False))
    # Its objectives' codes, each between spaces (` 2020-2030.A 2020-2030.C `), written by the
    # service with `strategic_objectives`, for the default order's index to carry: a page of one
    # objective tests its candidates there, not through the link table (`core.listing`).
    objective_codes: str = Field(
        default=" ", sa_column=Column(Text, nullable=False, server_default=text("' '"))
    )


class InteractionOrganization(SQLModel, table=True):
    """An organization met in an interaction."""

    __tablename__ = "interaction_organization"
    # An interaction's organizations in its order, read from the index alone.
    __table_args__ = (
        Index(
            "ix_interaction_organization_interaction_id_position",
            "interaction_id",
            "position",
            "organization_id",
        ),
    )

    interaction_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("interaction.id"), primary_key=True)
    )
    organization_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("organization.id"), primary_key=True, index=True)
    )
    # Its place in the interaction's `organization_ids` (from 0): the order the register shows.
    position: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )


class InteractionObjective(SQLModel, table=True):
    """A strategic objective an interaction served."""

    __tablename__ = "interaction_objective"

    interaction_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("interaction.id"), primary_key=True)
    )
    objective_code: str = Field(
        sa_column=Column(
            String(32), ForeignKey("strategic_objective.code"), primary_key=True, index=True
        )
    )
