"""Agreements (cooperation and partnership arrangements), their partners and objectives, and
their due diligence."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from app.core.db import ScaledDecimal
from app.core.sql import long_search_index, search_index, trigram_index
from app.core.tracking import tracked
from app.models.base import LINKED_CODES, PUBLIC_REGISTER, StoredResource

TITLE_MAX_LENGTH = 500
# Financing amounts: exact, up to 14 digits before the point and 4 after (the most minor units
# an ISO 4217 currency has).
AMOUNT_INTEGER_DIGITS = 14
AMOUNT_PLACES = 4

# The statuses in which an agreement is in the public register (design §5): once approved, for
# good. The register keeps a row of its own for each such agreement (app/models/public.py).
PUBLIC_STATUSES = ("approved", "active", "suspended", "ended", "terminated")
_FINANCED = text("financing_amount IS NOT NULL")


@tracked(
    "agreement",
    ignore=(
        "title_key",
        "search_key",
        "due_diligence_revision",
        "approved_on",
        "partner_categories",
        "objective_codes",
    ),
    read_by=(LINKED_CODES, PUBLIC_REGISTER),
)
class Agreement(StoredResource, table=True):
    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR end_date >= start_date",
            name="dates_in_order",
        ),
        CheckConstraint(
            "(financing_amount IS NULL AND financing_currency IS NULL "
            "AND financing_direction IS NULL) OR (financing_amount > 0 "
            "AND financing_currency IS NOT NULL AND financing_direction IS NOT NULL)",
            name="financing_whole",
        ),
        # The default order carries what a page filtered by a linked code, a level or an
        # instrument tests (ids first).
        Index(
            "ix_agreement_title_key_id",
            "title_key",
            "id",
            postgresql_include=["partner_categories", "objective_codes", "level", "instrument"],
        ),
        Index("ix_agreement_start_date_id", "start_date", "id"),
        Index("ix_agreement_end_date_id", "end_date", "id"),
        Index("ix_agreement_created_at_id", "created_at", "id"),
        Index("ix_agreement_updated_at_id", "updated_at", "id"),
        Index("ix_agreement_approved_on_id", "approved_on", "id"),
        # The Secretariat's commonest filters, in the list's default order: by status, and the
        # (few) agreements with financing.
        Index("ix_agreement_status_title_key_id", "status", "title_key", "id"),
        Index(
            "ix_agreement_financed_title_key_id",
            "title_key",
            "id",
            postgresql_where=_FINANCED,
            sqlite_where=_FINANCED,
        ),
        trigram_index("ix_agreement_search_key_trgm", "search_key"),
        # A search in the default orders reads its rows' text from these (`core.sql`).
        search_index("ix_agreement_title_key_id_search", "title_key", "id"),
        long_search_index("ix_agreement_search_long"),
    )

    title: str = Field(max_length=TITLE_MAX_LENGTH, nullable=False)
    purpose: str | None = Field(default=None, sa_column=Column(Text))
    public_summary: str | None = Field(default=None, sa_column=Column(Text))
    level: str = Field(max_length=20, nullable=False, index=True)
    instrument: str = Field(max_length=40, nullable=False, index=True)
    # The partners and objectives as the agreement shows them (in the order given). The link
    # tables below hold the same references for the database to keep (foreign keys) and for
    # filters and counts; the service writes both together.
    partner_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    strategic_objectives: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    scope_of_work: str | None = Field(default=None, sa_column=Column(Text))
    start_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    end_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    shares_risks: bool = Field(default=False, nullable=False)
    shares_resources: bool = Field(default=False, nullable=False)
    shares_responsibilities: bool = Field(default=False, nullable=False)
    financing_amount: Decimal | None = Field(
        default=None, sa_column=Column(ScaledDecimal(AMOUNT_PLACES, min_places=2), nullable=True)
    )
    financing_currency: str | None = Field(default=None, max_length=3)
    financing_direction: str | None = Field(default=None, max_length=10)
    legal_arrangement: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default="draft", max_length=20, nullable=False, index=True)
    required_approvals: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    signed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # Computed by the service: the sort key (the normalized title) and the searchable text.
    title_key: str = Field(max_length=TITLE_MAX_LENGTH, nullable=False)
    search_key: str = Field(sa_column=Column(Text, nullable=False))
    # The codes its links name, each between spaces (` ngo rppo `): its partners' categories and
    # its objectives, kept at each commit that changes them (app/registry/codes.py) for the
    # default order's index to carry.
    partner_categories: str = Field(
        default=" ", sa_column=Column(Text, nullable=False, server_default=text("' '"))
    )
    objective_codes: str = Field(
        default=" ", sa_column=Column(Text, nullable=False, server_default=text("' '"))
    )
    # Raised by each write of the due diligence, so that the agreement's version rises with it.
    due_diligence_revision: int = Field(default=0, nullable=False)
    # The last decision recorded on it (no foreign key: decisions refer to their agreement).
    # Set by each decision, corrections included, so that the agreement's version rises and its
    # audit event names the decision (the history reads it there).
    last_decision_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    # The day it was approved: that of the decision that approved it, or of the correction that
    # stands in its place. Kept by the decisions' service; the public register filters and
    # sorts by it. The decision itself is in the audit trail, so this copy of its date is not.
    approved_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class AgreementPartner(SQLModel, table=True):
    """An organization that is a partner of an agreement."""

    __tablename__ = "agreement_partner"
    # An agreement's partners in its order, read from the index alone.
    __table_args__ = (
        Index(
            "ix_agreement_partner_agreement_id_position",
            "agreement_id",
            "position",
            "organization_id",
        ),
    )

    agreement_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("agreement.id"), primary_key=True)
    )
    organization_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("organization.id"), primary_key=True, index=True)
    )
    # Its place in the agreement's `partner_ids` (from 0): the order the register shows.
    position: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )


class AgreementObjective(SQLModel, table=True):
    """A strategic objective an agreement serves."""

    __tablename__ = "agreement_objective"

    agreement_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("agreement.id"), primary_key=True)
    )
    objective_code: str = Field(
        sa_column=Column(
            String(32), ForeignKey("strategic_objective.code"), primary_key=True, index=True
        )
    )


@tracked("due_diligence")
class DueDiligence(StoredResource, table=True):
    """The due diligence of an agreement: one at most, whose id is the agreement's."""

    __tablename__ = "due_diligence"
    __table_args__ = (
        CheckConstraint("risk_level = 'low' OR mitigation IS NOT NULL", name="mitigation_of_risk"),
    )

    id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("agreement.id"), primary_key=True))
    risk_level: str = Field(max_length=10, nullable=False)
    risk_categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    undue_influence_assessment: str = Field(sa_column=Column(Text, nullable=False))
    conflicts_of_interest: str | None = Field(default=None, sa_column=Column(Text))
    mitigation: str | None = Field(default=None, sa_column=Column(Text))
    excluded_sector: bool = Field(default=False, nullable=False)
    assessed_by: str | None = Field(default=None, max_length=200)
    assessed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
