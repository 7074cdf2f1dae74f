"""Liaison interactions as the API takes and shows them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.core.numbers import Version
from app.core.params import QueryDatetime
from app.core.validation import (
    NO_NUL,
    SOME_TEXT,
    VISIBLE_TEXT,
    InputModel,
    IsoDate,
    UUIDText,
    strip_spaces,
)
from app.models.interactions import LOCATION_MAX_LENGTH, SUBJECT_MAX_LENGTH
from app.registry.schemas import (
    MAX_OBJECTIVES,
    MAX_ORGANIZATIONS,
    ObjectiveCode,
    ObjectiveCodes,
    OrganizationIds,
    no_repeats,
)

TEXT_MAX_LENGTH = 20_000
PARTICIPANT_MAX_LENGTH = 200
MAX_PARTICIPANTS = 50


class Channel(StrEnum):
    meeting = "meeting"
    correspondence = "correspondence"
    call = "call"
    event = "event"
    visit = "visit"
    other = "other"


class Visibility(StrEnum):
    internal = "internal"
    public = "public"


Subject = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SUBJECT_MAX_LENGTH, pattern=SOME_TEXT),
    AfterValidator(strip_spaces),
    VISIBLE_TEXT,
]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX_LENGTH, pattern=NO_NUL)]
Location = Annotated[str, StringConstraints(max_length=LOCATION_MAX_LENGTH, pattern=NO_NUL)]
Participant = Annotated[
    str,
    StringConstraints(min_length=1, max_length=PARTICIPANT_MAX_LENGTH, pattern=SOME_TEXT),
    AfterValidator(strip_spaces),
    VISIBLE_TEXT,
]
Participants = Annotated[
    list[Participant],
    Field(
        max_length=MAX_PARTICIPANTS,
        json_schema_extra={"uniqueItems": True},
        description="Names or roles of the Secretariat's staff who took part, each once.",
    ),
    AfterValidator(no_repeats),
]
# At least one organization is met.
Organizations = Annotated[OrganizationIds, Field(min_length=1)]


class InteractionCreate(InputModel):
    """A contact with one or more organizations. Internal unless `visibility` is `public`,
    which publishes it in the public register (and then it can no longer be deleted)."""

    model_config = ConfigDict(extra="forbid")

    occurred_on: IsoDate
    channel: Channel
    subject: Subject
    summary: Text | None = None
    organization_ids: Organizations
    ippc_participants: Participants = Field(default_factory=list)
    location: Location | None = None
    strategic_objectives: ObjectiveCodes = Field(default_factory=list)
    follow_up: Text | None = None
    agreement_id: UUIDText | None = Field(
        default=None, description="The agreement this contact was about, if any."
    )
    visibility: Visibility = Visibility.internal


class InteractionPatch(InputModel):
    """A JSON merge patch (RFC 7396): the fields given are set, `null` clears a field. Fields
    that are never null may be left out but not cleared (lists are emptied with `[]`). A public
    interaction stays public."""

    model_config = ConfigDict(extra="forbid")

    occurred_on: IsoDate = None  # type: ignore[assignment]
    channel: Channel = None  # type: ignore[assignment]
    subject: Subject = None  # type: ignore[assignment]
    summary: Text | None = None
    organization_ids: Organizations = None  # type: ignore[assignment]
    ippc_participants: Participants = None  # type: ignore[assignment]
    location: Location | None = None
    strategic_objectives: ObjectiveCodes = None  # type: ignore[assignment]
    follow_up: Text | None = None
    agreement_id: UUIDText | None = None
    visibility: Visibility = None  # type: ignore[assignment]


class InteractionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    id: uuid.UUID
    occurred_on: date
    channel: Channel
    subject: str = Field(max_length=SUBJECT_MAX_LENGTH)
    summary: str | None = Field(max_length=TEXT_MAX_LENGTH)
    organization_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_ORGANIZATIONS)
    ippc_participants: list[Annotated[str, Field(max_length=PARTICIPANT_MAX_LENGTH)]] = Field(
        max_length=MAX_PARTICIPANTS
    )
    location: str | None = Field(max_length=LOCATION_MAX_LENGTH)
    strategic_objectives: list[ObjectiveCode] = Field(max_length=MAX_OBJECTIVES)
    follow_up: str | None = Field(max_length=TEXT_MAX_LENGTH)
    agreement_id: uuid.UUID | None
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
    version: Version


class OrganizationInteractionFilters(InputModel):
    """The filters of an organization's interactions, as query parameters (repeat one for
    several values; ranges are inclusive)."""

    q: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="Subject, any case or accents."
    )
    channel: list[Channel] = Field(default_factory=list)
    visibility: list[Visibility] = Field(default_factory=list)
    occurred_on_from: IsoDate | None = None
    occurred_on_to: IsoDate | None = None
    strategic_objective: list[ObjectiveCode] = Field(
        default_factory=list, description="Interactions serving any of these objectives (codes)."
    )
    agreement_id: list[UUIDText] = Field(
        default_factory=list, description="Interactions linked to any of these agreements."
    )
    created_at_from: QueryDatetime | None = None
    created_at_to: QueryDatetime | None = None
    updated_at_from: QueryDatetime | None = None
    updated_at_to: QueryDatetime | None = None


class InteractionFilters(OrganizationInteractionFilters):
    """The filters of the interactions list."""

    organization_id: list[UUIDText] = Field(
        default_factory=list, description="Interactions with any of these organizations."
    )


class InteractionSort(StrEnum):
    """How a list of interactions can be sorted; `-` for descending. Default: the latest first."""

    occurred_on = "occurred_on"
    occurred_on_descending = "-occurred_on"
    subject = "subject"
    subject_descending = "-subject"
    created_at = "created_at"
    created_at_descending = "-created_at"
    updated_at = "updated_at"
    updated_at_descending = "-updated_at"
