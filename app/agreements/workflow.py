"""The workflow of an agreement (design §3): its statuses and who must approve it.

The state machine's transitions (submit, withdraw, activate...) and the decisions that move an
agreement between reviews come with the next issue, as a table in this module; for now an
agreement is created as a draft and only drafts change. `required_approvals` is computed here,
from the fields it depends on, and stored with the agreement whenever one of them changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AgreementStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    cpm_review = "cpm_review"
    approved = "approved"
    rejected = "rejected"
    active = "active"
    suspended = "suspended"
    ended = "ended"
    terminated = "terminated"
    withdrawn = "withdrawn"


# What may be changed, deleted, or given a due diligence: drafts only.
EDITABLE = frozenset({AgreementStatus.draft})


class Level(StrEnum):
    cooperation = "cooperation"
    partnership = "partnership"


class Instrument(StrEnum):
    informal_arrangement = "informal_arrangement"
    letter_of_intent = "letter_of_intent"
    exchange_of_letters = "exchange_of_letters"
    memorandum_of_understanding = "memorandum_of_understanding"
    cooperation_agreement = "cooperation_agreement"
    partnership_agreement = "partnership_agreement"
    contribution_agreement = "contribution_agreement"


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class GoverningBody(StrEnum):
    bureau = "bureau"
    cpm = "cpm"


@dataclass(frozen=True)
class ApprovalFacts:
    """What `required_approvals` depends on: the agreement's level, instrument, financing and
    legal arrangement, and its due diligence's risk level (None: not assessed yet)."""

    level: str
    instrument: str
    financed: bool
    legal_arrangement: bool
    risk_level: str | None


def required_approvals(facts: ApprovalFacts) -> list[GoverningBody]:
    """Design §3: cooperative activities need the CPM; so does a partnership with a written
    instrument (anything but an informal arrangement), any financing (in kind included), a legal
    arrangement, or a high risk. Every other partnership needs the Bureau alone."""
    needs_cpm = (
        facts.level == Level.cooperation
        or facts.instrument != Instrument.informal_arrangement
        or facts.financed
        or facts.legal_arrangement
        or facts.risk_level == RiskLevel.high
    )
    return [GoverningBody.bureau, GoverningBody.cpm] if needs_cpm else [GoverningBody.bureau]
