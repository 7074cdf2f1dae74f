"""Agreements and their due diligence as the API takes and shows them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.agreements.workflow import (
    AgreementStatus,
    GoverningBody,
    Instrument,
    Level,
    RiskLevel,
)
from app.core.currencies import CurrencyCode
from app.core.numbers import Version
from app.core.params import QueryDatetime
from app.core.validation import (
    NO_NUL,
    SOME_TEXT,
    VISIBLE_TEXT,
    InputModel,
    IsoDate,
    PositiveDecimal,
    UUIDText,
    strip_spaces,
)
from app.models.agreements import AMOUNT_INTEGER_DIGITS, AMOUNT_PLACES, TITLE_MAX_LENGTH
from app.models.audit import NOTE_MAX_LENGTH
from app.organizations.schemas import Category
from app.registry.schemas import (
    MAX_OBJECTIVES,
    MAX_ORGANIZATIONS,
    ObjectiveCode,
    ObjectiveCodes,
    OrganizationIds,
    no_repeats,
)

TEXT_MAX_LENGTH = 10_000
LONG_TEXT_MAX_LENGTH = 50_000
ASSESSOR_MAX_LENGTH = 200

Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TITLE_MAX_LENGTH, pattern=SOME_TEXT),
    AfterValidator(strip_spaces),
    VISIBLE_TEXT,
]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX_LENGTH, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT_MAX_LENGTH, pattern=NO_NUL)]
# Text that counts when present (a legal arrangement, an assessment): it must show something.
RequiredText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TEXT_MAX_LENGTH, pattern=SOME_TEXT),
    VISIBLE_TEXT,
]
Amount = Annotated[
    Decimal,
    PositiveDecimal(AMOUNT_INTEGER_DIGITS, AMOUNT_PLACES),
    Field(description="A positive decimal, as a string (exact: never a binary float)."),
]


class Direction(StrEnum):
    to_ippc = "to_ippc"
    from_ippc = "from_ippc"
    in_kind = "in_kind"


class Financing(InputModel):
    """Money or in-kind support the agreement carries: an amount (for in-kind support, its
    estimated value), its ISO 4217 currency and its direction."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: CurrencyCode
    direction: Direction


class FinancingPatch(InputModel):
    """A merge patch of the financing (RFC 7396: the members given replace those in place);
    the result must be whole."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount = None  # type: ignore[assignment]
    currency: CurrencyCode = None  # type: ignore[assignment]
    direction: Direction = None  # type: ignore[assignment]


class AgreementCreate(InputModel):
    """A new agreement, created as a draft. `title`, `level` and `instrument` are required;
    partners and objectives may be added while it is a draft (submitting needs them)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    purpose: Text | None = None
    public_summary: Text | None = None
    level: Level
    instrument: Instrument
    partner_ids: OrganizationIds = Field(default_factory=list)
    strategic_objectives: ObjectiveCodes = Field(default_factory=list)
    scope_of_work: LongText | None = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = Field(default=None, description="Not before `start_date`.")
    shares_risks: StrictBool = False
    shares_resources: StrictBool = False
    shares_responsibilities: StrictBool = False
    financing: Financing | None = None
    legal_arrangement: RequiredText | None = None


class AgreementPatch(InputModel):
    """A JSON merge patch (RFC 7396) of a draft: the fields given are set, `null` clears a
    field, `financing` is merged member by member. Fields that are never null may be left out
    but not cleared."""

    model_config = ConfigDict(extra="forbid")

    title: Title = None  # type: ignore[assignment]
    purpose: Text | None = None
    public_summary: Text | None = None
    level: Level = None  # type: ignore[assignment]
    instrument: Instrument = None  # type: ignore[assignment]
    partner_ids: OrganizationIds = None  # type: ignore[assignment]
    strategic_objectives: ObjectiveCodes = None  # type: ignore[assignment]
    scope_of_work: LongText | None = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    shares_risks: StrictBool = None  # type: ignore[assignment]
    shares_resources: StrictBool = None  # type: ignore[assignment]
    shares_responsibilities: StrictBool = None  # type: ignore[assignment]
    financing: FinancingPatch | None = None
    legal_arrangement: RequiredText | None = None


class FinancingOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: str = Field(min_length=3, max_length=3)
    direction: Direction


class AgreementOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    title: str = Field(max_length=TITLE_MAX_LENGTH)
    purpose: str | None = Field(max_length=TEXT_MAX_LENGTH)
    public_summary: str | None = Field(max_length=TEXT_MAX_LENGTH)
    level: Level
    instrument: Instrument
    partner_ids: list[uuid.UUID] = Field(max_length=MAX_ORGANIZATIONS)
    strategic_objectives: list[ObjectiveCode] = Field(max_length=MAX_OBJECTIVES)
    scope_of_work: str | None = Field(max_length=LONG_TEXT_MAX_LENGTH)
    start_date: date | None
    end_date: date | None
    shares_risks: bool
    shares_resources: bool
    shares_responsibilities: bool
    financing: FinancingOut | None
    legal_arrangement: str | None = Field(max_length=TEXT_MAX_LENGTH)
    status: AgreementStatus = Field(description="Read-only: moved by the workflow.")
    required_approvals: list[GoverningBody] = Field(
        max_length=len(GoverningBody),
        description="Read-only: the bodies that must approve it, computed from its level, "
        "instrument, financing, legal arrangement and due diligence's risk level.",
    )
    signed_on: date | None = Field(description="Read-only: set when it is activated.")
    approved_on: date | None = Field(
        description="Read-only: the date of the decision that approved it (the CPM's when the "
        "CPM decides, else the Bureau's; its correction's when it was corrected)."
    )
    created_at: datetime
    updated_at: datetime
    version: Version


HasFinancing = Literal["true", "false"]


class PartnerAgreementFilters(InputModel):
    """The filters of an organization's agreements, as query parameters (repeat one for several
    values; ranges are inclusive)."""

    q: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="Title, any case or accents."
    )
    status: list[AgreementStatus] = Field(default_factory=list)
    level: list[Level] = Field(default_factory=list)
    instrument: list[Instrument] = Field(default_factory=list)
    partner_category: list[Category] = Field(
        default_factory=list, description="Agreements with a partner of any of these categories."
    )
    strategic_objective: list[ObjectiveCode] = Field(
        default_factory=list, description="Agreements serving any of these objectives (codes)."
    )
    start_date_from: IsoDate | None = None
    start_date_to: IsoDate | None = None
    end_date_from: IsoDate | None = None
    end_date_to: IsoDate | None = None
    approved_on_from: IsoDate | None = None
    approved_on_to: IsoDate | None = None
    has_financing: HasFinancing | None = Field(
        default=None, description="`true`: only financed ones; `false`: only the others."
    )
    created_at_from: QueryDatetime | None = None
    created_at_to: QueryDatetime | None = None
    updated_at_from: QueryDatetime | None = None
    updated_at_to: QueryDatetime | None = None


class AgreementFilters(PartnerAgreementFilters):
    """The filters of the agreements list."""

    partner_id: list[UUIDText] = Field(
        default_factory=list, description="Agreements with any of these partners."
    )


class AgreementSort(StrEnum):
    """How a list of agreements can be sorted; `-` for descending. Agreements without the date
    sorted by come last either way."""

    title_ = "title"
    title_descending = "-title"
    start_date = "start_date"
    start_date_descending = "-start_date"
    end_date = "end_date"
    end_date_descending = "-end_date"
    approved_on = "approved_on"
    approved_on_descending = "-approved_on"
    created_at = "created_at"
    created_at_descending = "-created_at"
    updated_at = "updated_at"
    updated_at_descending = "-updated_at"


# --- Due diligence -------------------------------------------------------------------------------


class RiskCategory(StrEnum):
    reputational = "reputational"
    financial = "financial"
    operational = "operational"
    conflict_of_interest = "conflict_of_interest"
    undue_influence = "undue_influence"
    legal = "legal"
    other = "other"


RiskCategories = Annotated[
    list[RiskCategory],
    Field(max_length=len(RiskCategory), json_schema_extra={"uniqueItems": True}),
    AfterValidator(no_repeats),
]


class DueDiligenceIn(InputModel):
    """The whole due diligence (PUT replaces it). `mitigation` is required when the risk is
    medium or high; `excluded_sector` (tobacco or arms industry) blocks submission."""

    model_config = ConfigDict(extra="forbid")

    risk_level: RiskLevel
    risk_categories: RiskCategories = Field(default_factory=list)
    undue_influence_assessment: RequiredText
    conflicts_of_interest: Text | None = None
    mitigation: RequiredText | None = None
    excluded_sector: StrictBool = False
    assessed_by: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=ASSESSOR_MAX_LENGTH, pattern=SOME_TEXT),
            VISIBLE_TEXT,
        ]
        | None
    ) = None
    assessed_on: IsoDate | None = None


class DueDiligenceOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement_id: uuid.UUID
    risk_level: RiskLevel
    risk_categories: list[RiskCategory] = Field(max_length=len(RiskCategory))
    undue_influence_assessment: str = Field(max_length=TEXT_MAX_LENGTH)
    conflicts_of_interest: str | None = Field(max_length=TEXT_MAX_LENGTH)
    mitigation: str | None = Field(max_length=TEXT_MAX_LENGTH)
    excluded_sector: bool
    assessed_by: str | None = Field(max_length=ASSESSOR_MAX_LENGTH)
    assessed_on: date | None
    created_at: datetime
    updated_at: datetime
    version: Version


# --- Workflow transitions ------------------------------------------------------------------------

Note = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NOTE_MAX_LENGTH, pattern=SOME_TEXT),
    VISIBLE_TEXT,
    Field(description="Why, kept in the audit trail and the history."),
]


class TransitionIn(InputModel):
    """The optional body of a transition: a note, kept in the audit trail."""

    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class ActivationIn(TransitionIn):
    """The optional body of an activation: when it was signed (default today, UTC; not in the
    future, nor before a decision on the agreement), and a note."""

    model_config = ConfigDict(extra="forbid")

    signed_on: IsoDate | None = None
