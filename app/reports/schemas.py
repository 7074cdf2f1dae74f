"""Reports for CPM documents as the API shows them (design §7; docs/architecture.md, "Reports").

Every figure is a count of items or of (item, organization) pairs, with the total it is a part of
and the share it makes (`count / total`, rounded to 4 places, half up): the counts and totals are
exact, so that a paper can quote them and compute any other rounding; the share is there for a
chart. A share is null when its total is 0.

Nothing here names an internal record (no ids, subjects, notes or texts): the engagement balance
is also what the public page will show, computed from public data only.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.core.numbers import MAX_COUNT

KEY_MAX_LENGTH = 64
# The share of a count in its total, as a number rounded to this many places.
SHARE_PLACES = 4


class Kind(StrEnum):
    """What is counted."""

    interactions = "interactions"
    agreements = "agreements"


class Output(BaseModel):
    # Fields named after Python keywords (`from`) are shown by their alias.
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, validate_by_name=True)


Count = Field(
    ge=0, le=MAX_COUNT, description="How many items, or (item, organization) pairs, the row counts."
)
Total = Field(
    ge=0, le=MAX_COUNT, description="What the count is a part of: the sum of the group's counts."
)
Share = Field(
    ge=0,
    le=1,
    description=f"`count / total`, rounded to {SHARE_PLACES} places (half up); null when the "
    "total is 0.",
)


class Period(Output):
    """The period a report covers: inclusive dates, null when the period is open on that side.
    Interactions are dated by `occurred_on`; agreements by the date of their approving decision,
    or for those not approved, of their last status change."""

    from_: date | None = Field(alias="from")
    to: date | None


class KeyCount(Output):
    key: str | None = Field(
        max_length=KEY_MAX_LENGTH,
        description="The value counted (a status, a channel, an objective's code...); null for "
        "organizations without a category or sector.",
    )
    count: int = Count
    share: float | None = Share


class Breakdown(Output):
    """One dimension: a count for each of its values (every possible value, zeros included; a
    null key only when something counted has no value), summing to `total`."""

    total: int = Total
    counts: list[KeyCount] = Field(max_length=64)


class AgreementSummary(Output):
    total: int = Field(ge=0, le=MAX_COUNT, description="Agreements dated in the period.")
    by_status: Breakdown = Field(description="Agreements, by status.")
    by_level: Breakdown = Field(description="Agreements, by level.")
    by_instrument: Breakdown = Field(description="Agreements, by instrument.")
    by_strategic_objective: Breakdown = Field(
        description="(agreement, objective) pairs, by objective: an agreement serving two "
        "objectives counts once under each."
    )
    by_partner_category: Breakdown = Field(
        description="(agreement, partner) pairs, by the partner's category."
    )
    by_partner_sector: Breakdown = Field(
        description="(agreement, partner) pairs, by the partner's sector."
    )


class InteractionSummary(Output):
    total: int = Field(ge=0, le=MAX_COUNT, description="Interactions that occurred in the period.")
    by_channel: Breakdown = Field(description="Interactions, by channel.")
    by_partner_category: Breakdown = Field(
        description="(interaction, organization) pairs, by the organization's category."
    )
    by_partner_sector: Breakdown = Field(
        description="(interaction, organization) pairs, by the organization's sector."
    )


class SummaryReport(Output):
    """Agreements and interactions of a period, counted by each of their dimensions."""

    period: Period
    agreements: AgreementSummary
    interactions: InteractionSummary


class PartnerCount(Output):
    partner_category: str | None = Field(
        max_length=KEY_MAX_LENGTH, description="The organizations' category; null: none recorded."
    )
    partner_sector: str | None = Field(
        max_length=KEY_MAX_LENGTH, description="The organizations' sector; null: none recorded."
    )
    count: int = Count
    share: float | None = Share


class ObjectiveBalance(Output):
    strategic_objective: str | None = Field(
        max_length=KEY_MAX_LENGTH,
        description="The objective's code; null for items that name no objective.",
    )
    total: int = Total
    counts: list[PartnerCount] = Field(max_length=64)


class YearBalance(Output):
    """One year and kind: the (item, organization) pairs by the organizations' category and
    sector, over all objectives (each pair once), then for each objective (a pair counts under
    every objective its item serves)."""

    year: int = Field(ge=1, le=9999)
    kind: Kind
    total: int = Total
    counts: list[PartnerCount] = Field(max_length=64)
    objectives: list[ObjectiveBalance] = Field(max_length=64)


class EngagementBalance(Output):
    """Whom the IPPC engages with: the interactions and the approved agreements of a period,
    as (item, organization) pairs by the organizations' category and sector, per year and
    strategic objective. Years and objectives without any pair are left out."""

    period: Period
    years: list[YearBalance] = Field(max_length=1000)
