"""Approval decisions (append-only) and the interests Bureau members declare."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Date, ForeignKey, Index, Text, Uuid
from sqlmodel import Field

from app.core.append_only import append_only
from app.core.tracking import tracked
from app.models.base import StoredResource

MEETING_REFERENCE_MAX_LENGTH = 300
# The decisions one agreement takes at most, corrections included: more is refused (409), so
# that an agreement, its history and its public record stay bounded.
MAX_DECISIONS = 100
# The members who may declare an interest in one organization, over its whole life: a new
# member beyond them is refused (409). The Bureau has seven; the cap bounds a decision's
# recusals (at most this many for each of its partners).
MAX_DECLARING_MEMBERS = 50
SUBJECT_MAX_LENGTH = 255
NAME_MAX_LENGTH = 200


@append_only
@tracked("decision")
class Decision(StoredResource, table=True):
    """A decision of the Bureau or the CPM on an agreement. Rows are inserted, never updated or
    deleted (`append_only`, and the triggers of its migration): a correction is a new decision
    that `supersedes_id` the wrong one, at most one per decision (a unique index).

    `recorded_by` is the subject of the token that recorded it, `recorded_by_name` the member's
    name at that time; `recusals` the members with a declared interest in a partner when it was
    recorded (`[{"member", "member_name", "organization_ids"}]`); `agreement_status` the status
    the decision left the agreement in. None of them changes later."""

    __tablename__ = "decision"
    __table_args__ = (
        Index("ix_decision_decided_on_id", "decided_on", "id"),
        Index("ix_decision_created_at_id", "created_at", "id"),
        # An agreement's decisions in the order they were recorded (its history, the public
        # register's list of them), which serves every lookup by agreement too.
        Index("ix_decision_agreement_id_created_at_id", "agreement_id", "created_at", "id"),
    )

    agreement_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("agreement.id"), nullable=False)
    )
    governing_body: str = Field(max_length=10, nullable=False, index=True)
    outcome: str = Field(max_length=10, nullable=False, index=True)
    rationale: str = Field(sa_column=Column(Text, nullable=False))
    meeting_reference: str = Field(max_length=MEETING_REFERENCE_MAX_LENGTH, nullable=False)
    decided_on: date = Field(sa_column=Column(Date, nullable=False))
    participants: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    supersedes_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("decision.id"), unique=True, nullable=True),
    )
    recorded_by: str = Field(max_length=SUBJECT_MAX_LENGTH, nullable=False, index=True)
    recorded_by_name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)
    recusals: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    agreement_status: str = Field(max_length=20, nullable=False)


@tracked("interest_declaration")
class InterestDeclaration(StoredResource, table=True):
    """A member's declared interest in an organization, from `declared_on` until `ended_on`
    (inclusive; open while null). `member` is the declaring token's subject."""

    __tablename__ = "interest_declaration"
    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= declared_on", name="dates_in_order"),
        Index("ix_interest_declaration_declared_on_id", "declared_on", "id"),
        Index("ix_interest_declaration_created_at_id", "created_at", "id"),
    )

    member: str = Field(max_length=SUBJECT_MAX_LENGTH, nullable=False, index=True)
    member_name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)
    organization_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("organization.id"), index=True, nullable=False)
    )
    nature: str = Field(sa_column=Column(Text, nullable=False))
    declared_on: date = Field(sa_column=Column(Date, nullable=False))
    ended_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
