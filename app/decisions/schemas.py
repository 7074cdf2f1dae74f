"""Decisions, interest declarations and an agreement's history as the API takes and shows
them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.agreements.workflow import AgreementStatus, GoverningBody, Outcome
from app.core.numbers import INT32_MAX, Version
from app.core.pagination import MAX_CURSOR_LENGTH, MAX_LIMIT
from app.core.validation import (
    NO_NUL,
    SOME_TEXT,
    VISIBLE_TEXT,
    InputModel,
    IsoDate,
    UUIDText,
    strip_spaces,
)
from app.models.audit import NOTE_MAX_LENGTH
from app.models.decisions import (
    MAX_DECLARING_MEMBERS,
    MEETING_REFERENCE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
)
from app.registry.schemas import MAX_ORGANIZATIONS, no_repeats

RATIONALE_MAX_LENGTH = 20_000
NATURE_MAX_LENGTH = 5_000
PARTICIPANT_MAX_LENGTH = 200
MAX_PARTICIPANTS = 100

# Text with something visible in it. Its bound comes before the visible-text check, in the
# string's own schema, so that a text too long is said so in characters, before anything reads it.
SomeText = Annotated[str, StringConstraints(min_length=1, pattern=SOME_TEXT)]
Rationale = Annotated[SomeText, Field(max_length=RATIONALE_MAX_LENGTH), VISIBLE_TEXT]
MeetingReference = Annotated[SomeText, Field(max_length=MEETING_REFERENCE_MAX_LENGTH), VISIBLE_TEXT]
Participant = Annotated[
    str,
    StringConstraints(min_length=1, max_length=PARTICIPANT_MAX_LENGTH, pattern=SOME_TEXT),
    AfterValidator(strip_spaces),
    VISIBLE_TEXT,
]
Member = Annotated[
    str, StringConstraints(min_length=1, max_length=SUBJECT_MAX_LENGTH, pattern=NO_NUL)
]


# --- Decisions -----------------------------------------------------------------------------------


class DecisionIn(InputModel):
    """A decision of the Bureau (on a `submitted` agreement) or of the CPM (on one in
    `cpm_review`). With `supersedes_id` it corrects an earlier decision of the same agreement,
    body and outcome, in any status, and moves no status."""

    model_config = ConfigDict(extra="forbid")

    governing_body: GoverningBody
    outcome: Outcome
    rationale: Rationale
    meeting_reference: Annotated[MeetingReference, Field(examples=["CPM-8 (2013), paragraph 42"])]
    decided_on: IsoDate | None = Field(
        default=None,
        description=(
            "When it was decided (default today, UTC); not in the future, nor before a decision "
            "in force on the agreement (a correction: between the decisions in force on either "
            "side of the one it corrects, and not after the signature)."
        ),
    )
    participants: Annotated[
        list[Participant],
        Field(
            max_length=MAX_PARTICIPANTS,
            json_schema_extra={"uniqueItems": True},
            description="Names of those who took the decision, each once.",
        ),
        AfterValidator(no_repeats),
    ] = Field(default_factory=list)
    supersedes_id: UUIDText | None = Field(
        default=None, description="The decision this one corrects (at most one correction each)."
    )


class RecusalOut(BaseModel):
    """A member who had a declared interest in a partner when the decision was recorded."""

    model_config = ConfigDict(extra="forbid")

    member: str = Field(max_length=SUBJECT_MAX_LENGTH, description="The member's subject.")
    member_name: str | None = Field(max_length=NAME_MAX_LENGTH)
    organization_ids: list[uuid.UUID] = Field(
        max_length=MAX_ORGANIZATIONS, description="The partners of the interest."
    )


class DecisionOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    agreement_id: uuid.UUID
    governing_body: GoverningBody
    outcome: Outcome
    rationale: str = Field(max_length=RATIONALE_MAX_LENGTH)
    meeting_reference: str = Field(max_length=MEETING_REFERENCE_MAX_LENGTH)
    decided_on: date
    participants: list[Annotated[str, Field(max_length=PARTICIPANT_MAX_LENGTH)]] = Field(
        max_length=MAX_PARTICIPANTS
    )
    supersedes_id: uuid.UUID | None
    superseded_by_id: uuid.UUID | None = Field(
        description="Read-only: the decision that corrects this one, if any."
    )
    recorded_by: str = Field(
        max_length=SUBJECT_MAX_LENGTH, description="Read-only: the recording token's subject."
    )
    recorded_by_name: str | None = Field(
        max_length=NAME_MAX_LENGTH,
        description="Read-only: the member's name (the client's, in embedded mode), if known.",
    )
    recusals: list[RecusalOut] = Field(
        max_length=MAX_ORGANIZATIONS * MAX_DECLARING_MEMBERS,
        description="Read-only: the members with a declared interest in a partner when it was "
        "recorded; none of them could record it.",
    )
    agreement_status: AgreementStatus = Field(
        description="Read-only: the agreement's status once this decision was recorded."
    )
    created_at: datetime
    updated_at: datetime
    version: Version


class AgreementDecisionFilters(InputModel):
    """The filters of an agreement's decisions, as query parameters (repeat one for several
    values; ranges are inclusive)."""

    governing_body: list[GoverningBody] = Field(default_factory=list)
    outcome: list[Outcome] = Field(default_factory=list)
    decided_on_from: IsoDate | None = None
    decided_on_to: IsoDate | None = None


class DecisionFilters(AgreementDecisionFilters):
    """The filters of the decisions list."""

    agreement_id: list[UUIDText] = Field(default_factory=list)


class DecisionSort(StrEnum):
    """How a list of decisions can be sorted; `-` for descending."""

    decided_on = "decided_on"
    decided_on_descending = "-decided_on"
    created_at = "created_at"
    created_at_descending = "-created_at"


# --- Interest declarations -----------------------------------------------------------------------

Nature = Annotated[SomeText, Field(max_length=NATURE_MAX_LENGTH), VISIBLE_TEXT]


class InterestDeclarationIn(InputModel):
    """A declared interest of the calling member in an organization, from `declared_on`
    (default today, UTC; not in the future) until `ended_on` (inclusive; open when left out)."""

    model_config = ConfigDict(extra="forbid")

    organization_id: UUIDText
    nature: Nature
    declared_on: IsoDate | None = None
    ended_on: IsoDate | None = Field(default=None, description="Not before `declared_on`.")


class InterestDeclarationPatch(InputModel):
    """A merge patch of one's own declaration: its nature, or its end (not before today: an
    interest is ended from now on, never in the past)."""

    model_config = ConfigDict(extra="forbid")

    nature: Nature = None  # type: ignore[assignment]
    ended_on: IsoDate = None  # type: ignore[assignment]


class InterestDeclarationOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    member: str = Field(max_length=SUBJECT_MAX_LENGTH, description="The declaring subject.")
    member_name: str | None = Field(max_length=NAME_MAX_LENGTH)
    organization_id: uuid.UUID
    nature: str = Field(max_length=NATURE_MAX_LENGTH)
    declared_on: date
    ended_on: date | None
    created_at: datetime
    updated_at: datetime
    version: Version


class InterestDeclarationFilters(InputModel):
    """The filters of the interest declarations list."""

    member: list[Member] = Field(default_factory=list)
    organization_id: list[UUIDText] = Field(default_factory=list)
    declared_on_from: IsoDate | None = None
    declared_on_to: IsoDate | None = None


class InterestDeclarationSort(StrEnum):
    declared_on = "declared_on"
    declared_on_descending = "-declared_on"
    created_at = "created_at"
    created_at_descending = "-created_at"


# --- History -------------------------------------------------------------------------------------


class HistoryActorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(max_length=SUBJECT_MAX_LENGTH)
    client_id: str | None = Field(max_length=SUBJECT_MAX_LENGTH)
    name: str | None = Field(
        max_length=NAME_MAX_LENGTH, description="The client's name (embedded mode), if known."
    )


class HistoryEntryOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["transition", "decision"]
    action: str = Field(
        max_length=32,
        examples=["submit", "bureau_approved", "correction"],
        description="The transition, or the decision as `<body>_<outcome>`; a correction of "
        "an earlier decision is `correction`.",
    )
    occurred_at: datetime
    status_before: AgreementStatus | None
    status_after: AgreementStatus | None
    actor: HistoryActorOut
    note: str | None = Field(max_length=NOTE_MAX_LENGTH)
    decision: DecisionOut | None = Field(description="The decision, for a decision's entry.")
    audit_event_id: int = Field(ge=1, le=INT32_MAX, description="The audit event that records it.")


class HistoryOut(BaseModel):
    """One page of an agreement's history (`Page`'s shape)."""

    model_config = ConfigDict(extra="forbid")

    items: list[HistoryEntryOut] = Field(max_length=MAX_LIMIT)
    next_cursor: str | None = Field(default=None, max_length=MAX_CURSOR_LENGTH)
