"""The workflow of an agreement (design §3): its statuses, who must approve it, and the state
machine, as data.

`TRANSITIONS` is the table of every move of an agreement's status: the explicit transitions the
Secretariat makes (submit, withdraw, activate, suspend, resume, terminate, close) and the
decisions of the Bureau and the CPM (`bureau_approved`, `cpm_returned`...). Each row says from
which statuses it starts, where it leads, the scope it needs, and, where one action leads to
different statuses, the condition (`when`) under which the row applies (a Bureau approval ends
the review when the Bureau alone must approve, else hands it to the CPM). Submission also has
its requirements (`requires`: every missing item, for one 422). Services find a row with `find`
and never decide a status themselves; a move the table lacks is `InvalidTransition`, a 409
naming the current status and the actions allowed from it.

A decision that corrects another (`supersedes_id`) moves no status and is not in the table.

`required_approvals` is computed here, from the fields it depends on, and stored with the
agreement whenever one of them changes.

The dates people give (`decided_on`, `signed_on`) keep the order of the events they date
(`date_bounds`): none is in the future, a decision is not dated before a decision in force on the
same agreement, a correction stays between its neighbours, and a signature is not dated before
the decisions. Submission sets no lower bound: it is dated by the service when it is recorded,
and agreements decided years ago are recorded today with their real dates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from app.auth.scopes import Scope
from app.core.errors import FieldError, InvalidTransition, problem_type


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


class Outcome(StrEnum):
    approved = "approved"
    rejected = "rejected"
    returned = "returned"


# --- The state machine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowFacts:
    """What the rows' conditions and requirements read of an agreement: its approvals, its
    partners and objectives, and its due diligence (None: not assessed yet)."""

    required_approvals: tuple[str, ...]
    partner_count: int
    objective_count: int
    risk_level: str | None
    excluded_sector: bool


Condition = Callable[[WorkflowFacts], bool]
Requirements = Callable[[WorkflowFacts], list[FieldError]]


def bureau_alone(facts: WorkflowFacts) -> bool:
    return GoverningBody.cpm not in facts.required_approvals


def cpm_too(facts: WorkflowFacts) -> bool:
    return GoverningBody.cpm in facts.required_approvals


def submission_requirements(facts: WorkflowFacts) -> list[FieldError]:
    """Design §3: what a draft needs to be submitted, every missing item at once. Pointers name
    the agreement's field (or its due diligence's, under `/due_diligence`). The mitigation of a
    medium or high risk is the due diligence's own rule (its schema and a check constraint):
    a due diligence without it cannot exist."""
    missing: list[FieldError] = []
    if facts.partner_count == 0:
        missing.append(FieldError("At least one partner is required", pointer="/partner_ids"))
    if facts.objective_count == 0:
        missing.append(
            FieldError(
                "At least one strategic objective is required", pointer="/strategic_objectives"
            )
        )
    if facts.risk_level is None:
        missing.append(FieldError("A due diligence is required", pointer="/due_diligence"))
    elif facts.excluded_sector:
        missing.append(
            FieldError(
                "The partner is in an excluded sector (tobacco or arms industry)",
                pointer="/due_diligence/excluded_sector",
            )
        )
    return missing


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[AgreementStatus]
    target: AgreementStatus
    scope: Scope
    when: Condition | None = None
    requires: Requirements | None = None


def _row(
    action: str,
    sources: set[AgreementStatus],
    target: AgreementStatus,
    scope: Scope,
    *,
    when: Condition | None = None,
    requires: Requirements | None = None,
) -> Transition:
    return Transition(action, frozenset(sources), target, scope, when, requires)


def decision_action(body: GoverningBody | str, outcome: Outcome | str) -> str:
    """The table's name for a decision: `bureau_approved`, `cpm_returned`..."""
    return f"{body}_{outcome}"


S = AgreementStatus
WRITE = Scope.registry_write
DECIDE = Scope.decisions_write

# Design §3, one row per move. An action with several rows has exclusive conditions.
TRANSITIONS: tuple[Transition, ...] = (
    _row("submit", {S.draft}, S.submitted, WRITE, requires=submission_requirements),
    _row("withdraw", {S.draft, S.submitted, S.cpm_review}, S.withdrawn, WRITE),
    _row("activate", {S.approved}, S.active, WRITE),
    _row("suspend", {S.active}, S.suspended, WRITE),
    _row("resume", {S.suspended}, S.active, WRITE),
    _row("terminate", {S.active, S.suspended}, S.terminated, WRITE),
    _row("close", {S.active}, S.ended, WRITE),
    _row("bureau_approved", {S.submitted}, S.approved, DECIDE, when=bureau_alone),
    _row("bureau_approved", {S.submitted}, S.cpm_review, DECIDE, when=cpm_too),
    _row("bureau_rejected", {S.submitted}, S.rejected, DECIDE),
    _row("bureau_returned", {S.submitted}, S.draft, DECIDE),
    _row("cpm_approved", {S.cpm_review}, S.approved, DECIDE),
    _row("cpm_rejected", {S.cpm_review}, S.rejected, DECIDE),
    _row("cpm_returned", {S.cpm_review}, S.draft, DECIDE),
)

# The explicit transitions, each an endpoint of its own (`POST /v1/agreements/{id}/<action>`).
TRANSITION_ACTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(row.action for row in TRANSITIONS if row.scope is WRITE)
)
DECISION_ACTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(row.action for row in TRANSITIONS if row.scope is DECIDE)
)

INVALID_TRANSITION = problem_type(
    "invalid-transition",
    409,
    "Invalid transition",
    "The agreement's status does not allow this action; `current_status` says where it is and "
    "`allowed_actions` what can be done from there.",
)


def allowed_actions(status: str) -> list[str]:
    """The actions the table allows from `status`, in the table's order."""
    return list(dict.fromkeys(row.action for row in TRANSITIONS if status in row.sources))


def find(action: str, status: str, facts: WorkflowFacts) -> Transition:
    """The row of `action` from `status` whose condition holds; InvalidTransition without one."""
    for row in TRANSITIONS:
        if row.action == action and status in row.sources and (row.when is None or row.when(facts)):
            return row
    allowed = allowed_actions(status)
    said = ", ".join(allowed) if allowed else "none"
    raise InvalidTransition(
        f"The agreement is {status}: {action} is not allowed from there (allowed: {said}).",
        kind=INVALID_TRANSITION,
        current_status=status,
        allowed_actions=allowed,
    )


# --- The order of dates --------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionDate:
    """One decision of an agreement as the order of dates reads it."""

    id: uuid.UUID
    supersedes_id: uuid.UUID | None
    decided_on: date


class Chained(Protocol):
    """A decision as its chain of corrections reads it."""

    @property
    def id(self) -> Any: ...

    @property
    def supersedes_id(self) -> Any: ...


C = TypeVar("C", bound=Chained)


def _places(decisions: Sequence[Chained]) -> dict[Any, int]:
    """Each decision's place: that of the decision its chain of corrections began with, in the
    order they were recorded."""
    place: dict[Any, int] = {}
    for position, decision in enumerate(decisions):
        origin = decision.supersedes_id
        place[decision.id] = place.get(origin, position) if origin is not None else position
    return place


def _standing(decisions: Sequence[C]) -> list[C]:
    superseded = {decision.supersedes_id for decision in decisions}
    return [decision for decision in decisions if decision.id not in superseded]


def in_force(decisions: Sequence[C]) -> list[C]:
    """The decisions no correction supersedes, given in the order they were recorded, each at
    the place of the decision its chain of corrections began with."""
    place = _places(decisions)
    return sorted(_standing(decisions), key=lambda decision: place[decision.id])


def chain_origin(decisions: Sequence[DecisionDate], decision_id: uuid.UUID) -> uuid.UUID:
    """The decision the chain of corrections of `decision_id` began with (itself when it
    corrects nothing): the place every correction in the chain stands in."""
    supersedes = {decision.id: decision.supersedes_id for decision in decisions}
    current = decision_id
    for _ in range(len(supersedes)):
        earlier = supersedes.get(current)
        if earlier is None:
            break
        current = earlier
    return current


@dataclass(frozen=True)
class DateBounds:
    """The earliest and latest date (None: unbounded) that keeps an agreement's events in order."""

    earliest: date | None = None
    latest: date | None = None

    def errors(self, value: date, pointer: str) -> list[FieldError]:
        if self.earliest is not None and value < self.earliest:
            detail = (
                f"Must not be before {self.earliest.isoformat()}, the date of an earlier decision"
            )
            return [FieldError(detail, pointer=pointer)]
        if self.latest is not None and value > self.latest:
            detail = (
                f"Must not be after {self.latest.isoformat()}, the date of a later decision "
                "or of the signature"
            )
            return [FieldError(detail, pointer=pointer)]
        return []


def date_bounds(
    decisions: Sequence[DecisionDate],
    *,
    correcting: uuid.UUID | None = None,
    signed_on: date | None = None,
) -> DateBounds:
    """Where a new date fits among the agreement's decisions, given in the order they were
    recorded.

    A decision in force is one no correction supersedes; it stands in the place of the decision
    its chain of corrections began with. A new decision (and a signature) comes after every
    decision in force. A correction of `correcting` comes after the decisions in force that stand
    before that place and before those that stand after it, and not after the signature.
    """
    place = _places(decisions)
    in_force = [(place[decision.id], decision.decided_on) for decision in _standing(decisions)]
    if correcting is None:
        return DateBounds(earliest=max((day for _, day in in_force), default=None))
    here = place.get(correcting)
    if here is None:
        return DateBounds()
    before = [day for at, day in in_force if at < here]
    after = [day for at, day in in_force if at > here]
    if signed_on is not None:
        after.append(signed_on)
    return DateBounds(earliest=max(before, default=None), latest=min(after, default=None))
