"""The public register as anyone may read it (design §5): allowlists of fields.

Every model here names each field it shows. None derives from an internal model, so a field
added to an agreement, an interaction or an organization stays internal until it is added here
on purpose; a test compares each public answer's keys with these models.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.agreements.schemas import TEXT_MAX_LENGTH as AGREEMENT_TEXT_MAX_LENGTH
from app.agreements.schemas import Amount, Direction
from app.agreements.workflow import GoverningBody, Instrument, Level, Outcome
from app.core.countries import CountryCode
from app.core.numbers import MAX_COUNT
from app.core.validation import NO_NUL, InputModel, IsoDate, UUIDText
from app.interactions.schemas import Channel
from app.models.agreements import TITLE_MAX_LENGTH
from app.models.decisions import MAX_DECISIONS, MEETING_REFERENCE_MAX_LENGTH
from app.models.interactions import SUBJECT_MAX_LENGTH as INTERACTION_SUBJECT_MAX_LENGTH
from app.models.organizations import ACRONYM_MAX_LENGTH, WEBSITE_MAX_LENGTH
from app.models.organizations import NAME_MAX_LENGTH as ORGANIZATION_NAME_MAX_LENGTH
from app.organizations.schemas import Category, GeographicScope, Sector
from app.registry.schemas import MAX_OBJECTIVES, MAX_ORGANIZATIONS, ObjectiveCode

# How many of an organization's latest public agreements and interactions its profile shows.
PROFILE_ITEMS = 20

# The first year an approval can have (the IPPC was adopted in 1951) and the last one a filter
# takes: years outside are refused, not searched.
FIRST_YEAR = 1951
LAST_YEAR = 2200


Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]


class PublicStatus(StrEnum):
    """The statuses in which an agreement is public: once approved, for good."""

    approved = "approved"
    active = "active"
    suspended = "suspended"
    ended = "ended"
    terminated = "terminated"


class PublicOrganizationRef(BaseModel):
    """An organization as the public register names it in an agreement or a meeting."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    name: str = Field(max_length=ORGANIZATION_NAME_MAX_LENGTH)
    acronym: str | None = Field(max_length=ACRONYM_MAX_LENGTH)
    category: Category | None
    country: str | None = Field(max_length=2, description="ISO 3166-1 alpha-2.")


class PublicDecision(BaseModel):
    """A decision of the Bureau or the CPM on the agreement, as it stands (a corrected decision
    shows its correction)."""

    model_config = ConfigDict(extra="forbid")

    governing_body: GoverningBody
    outcome: Outcome
    decided_on: date
    meeting_reference: str = Field(max_length=MEETING_REFERENCE_MAX_LENGTH)


class PublicFinancing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217.")
    direction: Direction


class PublicAgreement(BaseModel):
    """An approved agreement, as the public register shows it."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    title: str = Field(max_length=TITLE_MAX_LENGTH)
    public_summary: str | None = Field(max_length=AGREEMENT_TEXT_MAX_LENGTH)
    level: Level
    instrument: Instrument
    partners: list[PublicOrganizationRef] = Field(max_length=MAX_ORGANIZATIONS)
    strategic_objectives: list[ObjectiveCode] = Field(max_length=MAX_OBJECTIVES)
    start_date: date | None
    end_date: date | None
    signed_on: date | None
    financing: PublicFinancing | None
    status: PublicStatus
    decisions: list[PublicDecision] = Field(
        max_length=MAX_DECISIONS,
        description="Its decisions in the order they were taken; a corrected one as corrected.",
    )


class PublicInteraction(BaseModel):
    """A liaison interaction the Secretariat made public: whom the IPPC met, when and why."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    occurred_on: date
    channel: Channel
    subject: str = Field(max_length=INTERACTION_SUBJECT_MAX_LENGTH)
    organizations: list[PublicOrganizationRef] = Field(max_length=MAX_ORGANIZATIONS)
    strategic_objectives: list[ObjectiveCode] = Field(max_length=MAX_OBJECTIVES)


class PublicOrganization(BaseModel):
    """An organization's public profile: only an organization with at least one public
    agreement or public interaction has one. Its latest public agreements and interactions
    come with it (at most `PROFILE_ITEMS` of each); the public lists filtered by
    `partner_id` or `organization_id` give them all."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    name: str = Field(max_length=ORGANIZATION_NAME_MAX_LENGTH)
    acronym: str | None = Field(max_length=ACRONYM_MAX_LENGTH)
    category: Category | None
    sector: Sector | None
    geographic_scope: GeographicScope | None
    country: str | None = Field(max_length=2, description="ISO 3166-1 alpha-2.")
    website: str | None = Field(max_length=WEBSITE_MAX_LENGTH)
    agreement_count: int = Field(
        ge=0, le=MAX_COUNT, description="How many public agreements it is a partner of."
    )
    agreements: list[PublicAgreement] = Field(
        max_length=PROFILE_ITEMS, description="The latest approved first."
    )
    interaction_count: int = Field(
        ge=0, le=MAX_COUNT, description="How many public interactions it took part in."
    )
    interactions: list[PublicInteraction] = Field(
        max_length=PROFILE_ITEMS, description="The latest first."
    )


# --- Query parameters ----------------------------------------------------------------------------

Search = Field(
    default=None, max_length=200, pattern=NO_NUL, description="Title, any case or accents."
)


class PublicAgreementFilters(InputModel):
    """The filters of the public agreements (repeat one for several values)."""

    q: str | None = Search
    strategic_objective: list[ObjectiveCode] = Field(
        default_factory=list, description="Agreements serving any of these objectives (codes)."
    )
    level: list[Level] = Field(default_factory=list)
    instrument: list[Instrument] = Field(default_factory=list)
    partner_category: list[Category] = Field(
        default_factory=list, description="Agreements with a partner of any of these categories."
    )
    country: list[CountryCode] = Field(
        default_factory=list, description="Agreements with a partner from any of these countries."
    )
    partner_id: list[UUIDText] = Field(
        default_factory=list, description="Agreements with any of these partners."
    )
    status: list[PublicStatus] = Field(default_factory=list)
    approval_year: list[Year] = Field(
        default_factory=list,
        description=f"Agreements approved in any of these years ({FIRST_YEAR}-{LAST_YEAR}).",
    )


class PublicAgreementSort(StrEnum):
    """How the public agreements can be sorted; `-` for descending. Default: by title."""

    title_ = "title"
    title_descending = "-title"
    approved_on = "approved_on"
    approved_on_descending = "-approved_on"
    start_date = "start_date"
    start_date_descending = "-start_date"


class PublicInteractionFilters(InputModel):
    """The filters of the public interactions (repeat one for several values)."""

    q: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="Subject, any case or accents."
    )
    channel: list[Channel] = Field(default_factory=list)
    occurred_on_from: IsoDate | None = None
    occurred_on_to: IsoDate | None = None
    strategic_objective: list[ObjectiveCode] = Field(
        default_factory=list, description="Interactions serving any of these objectives (codes)."
    )
    organization_id: list[UUIDText] = Field(
        default_factory=list, description="Interactions with any of these organizations."
    )
    organization_category: list[Category] = Field(
        default_factory=list,
        description="Interactions with an organization of any of these categories.",
    )
    country: list[CountryCode] = Field(
        default_factory=list,
        description="Interactions with an organization from any of these countries.",
    )


class PublicInteractionSort(StrEnum):
    """How the public interactions can be sorted; `-` for descending. Default: the latest
    first."""

    occurred_on = "occurred_on"
    occurred_on_descending = "-occurred_on"
    subject = "subject"
    subject_descending = "-subject"
