"""Organizations as the API takes and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.core.countries import CountryCode
from app.core.numbers import Tally, Version
from app.core.params import QueryDatetime
from app.core.validation import NO_NUL, SOME_TEXT, VISIBLE_TEXT, InputModel, UUIDText, strip_spaces
from app.models.organizations import (
    ACRONYM_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    WEBSITE_MAX_LENGTH,
)


class Category(StrEnum):
    nppo = "nppo"
    rppo = "rppo"
    un_organization = "un_organization"
    intergovernmental_organization = "intergovernmental_organization"
    industry_association = "industry_association"
    private_company = "private_company"
    ngo = "ngo"
    academic_research = "academic_research"
    foundation_donor = "foundation_donor"
    other = "other"


class Sector(StrEnum):
    public = "public"
    private = "private"


class GeographicScope(StrEnum):
    national = "national"
    regional = "regional"
    international = "international"
    global_ = "global"


# Text a person typed: no NUL, not blank, kept without its surrounding spaces.
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_MAX_LENGTH, pattern=SOME_TEXT),
    AfterValidator(strip_spaces),
    VISIBLE_TEXT,
]
Acronym = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ACRONYM_MAX_LENGTH, pattern=SOME_TEXT),
    AfterValidator(strip_spaces),
    VISIBLE_TEXT,
]
Country = Annotated[
    CountryCode, Field(description="ISO 3166-1 alpha-2, upper case.", examples=["KE"])
]
Website = Annotated[
    str,
    # No spaces nor control characters (spelled out, see core.validation).
    StringConstraints(
        max_length=WEBSITE_MAX_LENGTH, pattern=r"^https?://[^\x00-\x20\x7f/$.?#][^\x00-\x20\x7f]*$"
    ),
    Field(examples=["https://www.example.org"]),
]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX_LENGTH, pattern=NO_NUL)]


class OrganizationCreate(InputModel):
    """A new organization. Only `name` is required; `country` is required for a national one."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    acronym: Acronym | None = None
    category: Category | None = None
    sector: Sector | None = None
    geographic_scope: GeographicScope | None = None
    country: Country | None = None
    website: Website | None = None
    description: Description | None = None
    parent_id: UUIDText | None = Field(
        default=None, description="The headquarters, when this organization is a branch."
    )


class OrganizationPatch(InputModel):
    """A JSON merge patch (RFC 7396): the fields given are set, `null` clears a field. `name`
    and `archived` may be left out but not cleared: the contract says they are never null."""

    model_config = ConfigDict(extra="forbid")

    # Absent (None) when left out; a null sent is refused, as the schema says.
    name: Name = None  # type: ignore[assignment]
    acronym: Acronym | None = None
    category: Category | None = None
    sector: Sector | None = None
    geographic_scope: GeographicScope | None = None
    country: Country | None = None
    website: Website | None = None
    description: Description | None = None
    parent_id: UUIDText | None = None
    archived: StrictBool = Field(  # type: ignore[assignment]
        default=None, description="Archive (true) or restore (false) the organization."
    )


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    id: uuid.UUID
    name: str = Field(max_length=NAME_MAX_LENGTH)
    acronym: str | None = Field(max_length=ACRONYM_MAX_LENGTH)
    category: Category | None
    sector: Sector | None
    geographic_scope: GeographicScope | None
    country: str | None = Field(min_length=2, max_length=2)
    website: str | None = Field(max_length=WEBSITE_MAX_LENGTH)
    description: str | None = Field(max_length=DESCRIPTION_MAX_LENGTH)
    parent_id: uuid.UUID | None
    archived: bool
    created_at: datetime
    updated_at: datetime
    version: Version


class OrganizationDetail(OrganizationOut):
    reference_counts: dict[str, Tally] = Field(
        max_length=16,
        description="How many records of each kind refer to this organization "
        "(`branches`, `interactions`, `agreements`).",
    )


ArchivedFilter = Literal["false", "true", "all"]


class OrganizationFilters(InputModel):
    """The filters of the organizations list, as query parameters (repeat one for several
    values; ranges are inclusive)."""

    q: str | None = Field(
        default=None,
        max_length=200,
        pattern=NO_NUL,
        description="Name or acronym, any case or accents.",
    )
    category: list[Category] = Field(default_factory=list)
    sector: list[Sector] = Field(default_factory=list)
    geographic_scope: list[GeographicScope] = Field(default_factory=list)
    country: list[CountryCode] = Field(default_factory=list)
    parent_id: UUIDText | None = Field(default=None, description="Branches of this one.")
    archived: ArchivedFilter = Field(
        default="false", description="`false` (default), `true` (only archived) or `all`."
    )
    created_at_from: QueryDatetime | None = None
    created_at_to: QueryDatetime | None = None
    updated_at_from: QueryDatetime | None = None
    updated_at_to: QueryDatetime | None = None


class OrganizationSort(StrEnum):
    """How a list of organizations can be sorted; `-` for descending."""

    name = "name"
    name_descending = "-name"
    created_at = "created_at"
    created_at_descending = "-created_at"
    updated_at = "updated_at"
    updated_at_descending = "-updated_at"
