"""The shapes of the demo register: plain, frozen records that `data.py` fills in and
`loader.py` turns into the API's own input models, one service call at a time.

Records refer to each other by short keys (an organization's `key`, a member's `key`), never
by id: ids are made by the service when the records are created.

An agreement carries its story as `steps`, in order. Each step is one transaction, as one
request to the API would be:

- `Revise`: a change of the draft (a merge patch of the agreement, a new due diligence, or both);
  applied again, it changes nothing, so a resumed load may repeat it;
- `Submit`, `Move` (withdraw, suspend, resume, terminate, close) and `Activate`: the transitions;
- `Decide`: a decision of the Bureau or the CPM, recorded by a Bureau member;
- `Correct`: a correction of an earlier decision of the agreement (its body and outcome), which
  moves no status.

Every step but `Revise` leaves an entry in the agreement's history, under its action's name;
that is how a load that was interrupted finds where to go on (see `loader.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal


@dataclass(frozen=True)
class DemoOrganization:
    key: str
    name: str
    acronym: str | None
    category: str
    sector: str
    geographic_scope: str
    country: str | None
    website: str
    description: str
    parent: str | None = None  # the key of its headquarters
    archived: bool = False  # archived once everything that refers to it is loaded


@dataclass(frozen=True)
class BureauMember:
    key: str
    name: str
    region: str


@dataclass(frozen=True)
class Declaration:
    member: str
    organization: str
    nature: str
    declared_on: date
    ended_on: date | None = None


@dataclass(frozen=True)
class DueDiligence:
    risk_level: Literal["low", "medium", "high"]
    undue_influence_assessment: str
    risk_categories: tuple[str, ...] = ()
    conflicts_of_interest: str | None = None
    mitigation: str | None = None
    excluded_sector: bool = False
    assessed_by: str | None = None
    assessed_on: date | None = None


@dataclass(frozen=True)
class Financing:
    amount: str  # an exact decimal, as the API takes it
    currency: str
    direction: Literal["to_ippc", "from_ippc", "in_kind"]


@dataclass(frozen=True)
class Revise:
    """A change of the draft: `changes` is a merge patch of the agreement (its API field names),
    `due_diligence` replaces the assessment."""

    changes: dict[str, Any] = field(default_factory=dict)
    due_diligence: DueDiligence | None = None


@dataclass(frozen=True)
class Submit:
    note: str | None = None


@dataclass(frozen=True)
class Decide:
    body: Literal["bureau", "cpm"]
    outcome: Literal["approved", "rejected", "returned"]
    decided_on: date
    meeting_reference: str
    rationale: str
    recorded_by: str  # a member's key
    participants: tuple[str, ...] = ()

    @property
    def action(self) -> str:
        return f"{self.body}_{self.outcome}"


@dataclass(frozen=True)
class Correct:
    """Corrects the agreement's `decision`-th decision (0 for the first recorded, corrections
    counted), with the same body and outcome."""

    decision: int
    decided_on: date
    meeting_reference: str
    rationale: str
    recorded_by: str
    participants: tuple[str, ...] = ()

    action = "correction"


@dataclass(frozen=True)
class Activate:
    signed_on: date
    note: str | None = None

    action = "activate"


@dataclass(frozen=True)
class Move:
    action: Literal["withdraw", "suspend", "resume", "terminate", "close"]
    note: str | None = None


Step = Revise | Submit | Decide | Correct | Activate | Move


def action_of(step: Step) -> str | None:
    """The history's name for what the step does; None for a revision of the draft."""
    if isinstance(step, Revise):
        return None
    if isinstance(step, Submit):
        return "submit"
    return step.action


@dataclass(frozen=True)
class DemoAgreement:
    title: str
    level: Literal["cooperation", "partnership"]
    instrument: str
    partners: tuple[str, ...]
    objectives: tuple[str, ...]
    purpose: str
    public_summary: str | None = None
    scope_of_work: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    shares_risks: bool = False
    shares_resources: bool = False
    shares_responsibilities: bool = False
    financing: Financing | None = None
    legal_arrangement: str | None = None
    due_diligence: DueDiligence | None = None  # assessed right after the draft is created
    steps: tuple[Step, ...] = ()

    @property
    def all_steps(self) -> tuple[Step, ...]:
        """The steps after the creation: the first assessment, then the story."""
        if self.due_diligence is None:
            return self.steps
        return (Revise(due_diligence=self.due_diligence), *self.steps)


@dataclass(frozen=True)
class DemoInteraction:
    occurred_on: date
    channel: str
    subject: str
    organizations: tuple[str, ...]
    objectives: tuple[str, ...] = ()
    visibility: Literal["internal", "public"] = "internal"
    participants: tuple[str, ...] = ()
    location: str | None = None
    summary: str | None = None
    follow_up: str | None = None
    agreement: str | None = None  # the title of a demo agreement
