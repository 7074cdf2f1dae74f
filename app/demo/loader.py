"""Loading the demo register (`data.py`) through the services, as requests to the API would.

Every write is a service call in a transaction of its own kind, with an actor, so that the
service's rules, computed fields and audit trail apply as they do to any request:

- the Secretariat's work (organizations, interactions, agreements, due diligence, transitions)
  is done as the operator who runs the command (`operator:<user>`), with the Secretariat's
  scopes;
- each Bureau member is a client of the embedded issuer (a Bureau client, named after them,
  whose secret is never shown: `ippc clients rotate-secret` gives one to whoever must act as
  them); their declarations and decisions are made as them, so that decisions show who recorded
  them and the recusals of the others.

One transaction per step of an agreement's story, as one request each: the audit trail keeps
one event per row and transaction, and the agreement's history is read from it.

Idempotency. The demo's records are found by what identifies them: an organization by its name
and country (the service's own duplicate rule), a Bureau member's client by name and role, a
declaration by member and organization, an agreement by title, an interaction by date and
subject. What exists is left alone; what is missing is created. An agreement's progress is read
from its history (the transitions and decisions it went through, in order): the steps that
follow are applied, and none that came before. So a second run writes nothing, and a run that
was interrupted (each step commits on its own) goes on where it stopped. A history that is not
the beginning of the demo's (someone moved a demo agreement by hand) stops the load with a
message naming the agreement, rather than guessing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import service as agreements
from app.agreements.schemas import (
    ActivationIn,
    AgreementCreate,
    AgreementPatch,
    DueDiligenceIn,
    TransitionIn,
)
from app.audit import service as audit_trail  # the audit trail records every change
from app.auth.clients import create_client, list_clients
from app.auth.scopes import ROLE_SCOPES, Principal, Role
from app.core.db import Database, column_of
from app.core.errors import DomainError
from app.core.pagination import MAX_LIMIT
from app.core.tracking import set_actor
from app.decisions import service as decisions
from app.decisions.schemas import DecisionIn, InterestDeclarationIn
from app.demo import data
from app.demo.records import (
    Activate,
    Correct,
    Decide,
    DemoAgreement,
    DemoInteraction,
    DemoOrganization,
    DueDiligence,
    Move,
    Revise,
    Step,
    Submit,
    action_of,
)
from app.interactions import service as interactions
from app.interactions.schemas import InteractionCreate
from app.models import Agreement, Decision, Interaction, InterestDeclaration, Organization
from app.organizations import service as organizations
from app.organizations.schemas import OrganizationCreate, OrganizationPatch
from app.public import register  # the public register keeps its rows from every change

assert audit_trail.write_events is not None
assert register.rebuild_when_stale is not None


class DemoFailed(Exception):
    """The demo could not be loaded: the message says which record and why."""


@dataclass
class Tally:
    """How many of the demo's records of one kind are in the register, and how many of them
    this run created."""

    present: int = 0
    created: int = 0


@dataclass
class Summary:
    organizations: Tally = field(default_factory=Tally)
    bureau_members: Tally = field(default_factory=Tally)
    interest_declarations: Tally = field(default_factory=Tally)
    agreements: Tally = field(default_factory=Tally)
    workflow_steps: Tally = field(default_factory=Tally)
    interactions: Tally = field(default_factory=Tally)
    public_interactions: int = 0
    decisions: int = 0
    decisions_with_recusals: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(
            tally.created
            for tally in (
                self.organizations,
                self.bureau_members,
                self.interest_declarations,
                self.agreements,
                self.workflow_steps,
                self.interactions,
            )
        )

    def lines(self) -> list[str]:
        def row(label: str, tally: Tally, extra: str = "") -> str:
            return f"  {label:<22}{tally.present:>5}   ({tally.created} new{extra})"

        statuses = ", ".join(f"{status} {count}" for status, count in self.statuses.items())
        return [
            "The demo register (fictional data):",
            row("organizations", self.organizations),
            row("Bureau members", self.bureau_members),
            row("interest declarations", self.interest_declarations),
            row("agreements", self.agreements),
            row("workflow steps", self.workflow_steps),
            row("interactions", self.interactions, f"; {self.public_interactions} public"),
            f"  {'decisions':<22}{self.decisions:>5}   "
            f"({self.decisions_with_recusals} with recusals)",
            f"  agreements by status: {statuses}",
            "Nothing changed: the demo register was complete."
            if not self.changed
            else "Loaded through the service's rules; every change is in the audit trail.",
        ]


# --- Sessions and actors -------------------------------------------------------------------------


@asynccontextmanager
async def _writing(database: Database, actor: Principal) -> AsyncIterator[AsyncSession]:
    """One writing transaction as `actor`, committed when the block succeeds."""
    async with database.session(write=True) as session:
        set_actor(session, actor)
        yield session
        await session.commit()


@asynccontextmanager
async def _reading(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.session(write=False) as session:
        yield session


def secretariat(subject: str) -> Principal:
    """The operator, doing the Secretariat's work."""
    return Principal(
        subject=subject, client_id=None, role=Role.secretariat, scopes=ROLE_SCOPES[Role.secretariat]
    )


def bureau_member(client_id: str) -> Principal:
    """A Bureau member, as a token of their own client would make them."""
    return Principal(
        subject=client_id, client_id=client_id, role=Role.bureau, scopes=ROLE_SCOPES[Role.bureau]
    )


def _column(model: Any, name: str) -> ColumnElement[Any]:
    return column_of(getattr(model, name))


def _failed(what: str, error: DomainError) -> DemoFailed:
    return DemoFailed(f"{what}: {error.detail}")


# --- The loader ----------------------------------------------------------------------------------


@dataclass
class _Loader:
    database: Database
    operator: Principal
    summary: Summary = field(default_factory=Summary)
    organization_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    members: dict[str, Principal] = field(default_factory=dict)
    agreement_ids: dict[str, uuid.UUID] = field(default_factory=dict)

    # Bureau members --------------------------------------------------------------------------

    async def load_members(self) -> None:
        async with _reading(self.database) as session:
            clients = await list_clients(session)
        found = {
            client.name: str(client.id)
            for client in clients
            if client.role == Role.bureau and not client.revoked
        }
        missing = [member for member in data.BUREAU if member.name not in found]
        if missing:
            async with _writing(self.database, self.operator) as session:
                for member in missing:
                    # The secret is not kept: whoever must act as the member rotates it.
                    issued = await create_client(session, name=member.name, role=Role.bureau)
                    found[member.name] = issued.client_id
        self.members = {member.key: bureau_member(found[member.name]) for member in data.BUREAU}
        self.summary.bureau_members = Tally(len(data.BUREAU), len(missing))

    # Organizations ---------------------------------------------------------------------------

    async def load_organizations(self) -> None:
        identities = {
            item.key: organizations.keys(item.name, item.acronym, item.country)
            for item in data.ORGANIZATIONS
        }
        query = select(
            _column(Organization, "id"),
            _column(Organization, "name_digest"),
            _column(Organization, "country_key"),
        ).where(
            _column(Organization, "name_digest").in_(
                [keys["name_digest"] for keys in identities.values()]
            )
        )
        async with _reading(self.database) as session:
            existing = {
                (row.name_digest, row.country_key): row.id for row in await session.execute(query)
            }
        missing: list[DemoOrganization] = []
        for item in data.ORGANIZATIONS:
            keys = identities[item.key]
            found = existing.get((keys["name_digest"], keys["country_key"]))
            if found is None:
                missing.append(item)
            else:
                self.organization_ids[item.key] = found
        if missing:
            async with _writing(self.database, self.operator) as session:
                for item in missing:  # headquarters come before their branches
                    try:
                        created = await organizations.create_organization(
                            session, self._organization(item)
                        )
                    except DomainError as error:
                        raise _failed(f"organization {item.name!r}", error) from error
                    self.organization_ids[item.key] = created.id
        self.summary.organizations = Tally(len(data.ORGANIZATIONS), len(missing))

    def _organization(self, item: DemoOrganization) -> OrganizationCreate:
        return OrganizationCreate.model_validate(
            {
                "name": item.name,
                "acronym": item.acronym,
                "category": item.category,
                "sector": item.sector,
                "geographic_scope": item.geographic_scope,
                "country": item.country,
                "website": item.website,
                "description": item.description,
                "parent_id": None if item.parent is None else self.organization_ids[item.parent],
            }
        )

    async def archive_organizations(self) -> None:
        """Last: an archived organization takes no new links."""
        for item in data.ORGANIZATIONS:
            if not item.archived:
                continue
            organization_id = self.organization_ids[item.key]
            query = select(_column(Organization, "archived")).where(
                _column(Organization, "id") == organization_id
            )
            async with _reading(self.database) as session:
                if (await session.execute(query)).scalar_one():
                    continue
            patch = OrganizationPatch.model_validate({"archived": True})
            async with _writing(self.database, self.operator) as session:
                try:
                    await organizations.update_organization(
                        session, organization_id, patch, if_match="*"
                    )
                except DomainError as error:
                    raise _failed(f"archiving organization {item.name!r}", error) from error

    # Interest declarations -------------------------------------------------------------------

    async def load_declarations(self) -> None:
        subjects = [member.subject for member in self.members.values()]
        query = select(
            _column(InterestDeclaration, "member"), _column(InterestDeclaration, "organization_id")
        ).where(_column(InterestDeclaration, "member").in_(subjects))
        async with _reading(self.database) as session:
            existing = {(row.member, row.organization_id) for row in await session.execute(query)}
        created = 0
        for item in data.DECLARATIONS:
            member = self.members[item.member]
            organization_id = self.organization_ids[item.organization]
            if (member.subject, organization_id) in existing:
                continue
            declaration = InterestDeclarationIn.model_validate(
                {
                    "organization_id": organization_id,
                    "nature": item.nature,
                    "declared_on": item.declared_on,
                    "ended_on": item.ended_on,
                }
            )
            async with _writing(self.database, member) as session:
                await decisions.declare_interest(session, declaration, actor=member)
            created += 1
        self.summary.interest_declarations = Tally(len(data.DECLARATIONS), created)

    # Agreements ------------------------------------------------------------------------------

    async def load_agreements(self) -> None:
        titles = [item.title for item in data.AGREEMENTS]
        query = select(_column(Agreement, "id"), _column(Agreement, "title")).where(
            _column(Agreement, "title").in_(titles)
        )
        async with _reading(self.database) as session:
            rows = (await session.execute(query)).all()
        for title, count in Counter(row.title for row in rows).items():
            if count > 1:
                raise DemoFailed(
                    f"agreement {title!r}: {count} agreements have this title, the demo expects one"
                )
        existing = {row.title: row.id for row in rows}
        created = 0
        for item in data.AGREEMENTS:
            agreement_id = existing.get(item.title)
            if agreement_id is None:
                agreement_id = await self._create_agreement(item)
                created += 1
            self.agreement_ids[item.title] = agreement_id
            await self._tell(item, agreement_id)
        self.summary.agreements = Tally(len(data.AGREEMENTS), created)

    async def _create_agreement(self, item: DemoAgreement) -> uuid.UUID:
        financing = None
        if item.financing is not None:
            financing = {
                "amount": item.financing.amount,
                "currency": item.financing.currency,
                "direction": item.financing.direction,
            }
        body = AgreementCreate.model_validate(
            {
                "title": item.title,
                "purpose": item.purpose,
                "public_summary": item.public_summary,
                "level": item.level,
                "instrument": item.instrument,
                "partner_ids": [self.organization_ids[key] for key in item.partners],
                "strategic_objectives": list(item.objectives),
                "scope_of_work": item.scope_of_work,
                "start_date": item.start_date,
                "end_date": item.end_date,
                "shares_risks": item.shares_risks,
                "shares_resources": item.shares_resources,
                "shares_responsibilities": item.shares_responsibilities,
                "financing": financing,
                "legal_arrangement": item.legal_arrangement,
            }
        )
        async with _writing(self.database, self.operator) as session:
            try:
                return (await agreements.create_agreement(session, body)).id
            except DomainError as error:
                raise _failed(f"agreement {item.title!r}", error) from error

    async def _tell(self, item: DemoAgreement, agreement_id: uuid.UUID) -> None:
        """Apply the steps of the agreement's story that its history does not show yet."""
        async with _reading(self.database) as session:
            history = await decisions.history(session, agreement_id, limit=MAX_LIMIT, cursor=None)
        done = [entry.action for entry in history.items]
        steps = item.all_steps
        planned = [action for action in map(action_of, steps) if action is not None]
        if history.next_cursor is not None or done != planned[: len(done)]:
            raise DemoFailed(
                f"agreement {item.title!r}: its history ({', '.join(done) or 'none'}) is not "
                "the demo's; it was changed by hand, so the demo leaves it alone and stops"
            )
        start = _after_actions(steps, len(done))
        for step in steps[start:]:
            try:
                applied = await self._apply(item, agreement_id, step)
            except DomainError as error:
                what = action_of(step) or "revision of the draft"
                raise _failed(f"agreement {item.title!r}, {what}", error) from error
            if applied:
                self.summary.workflow_steps.created += 1
        self.summary.workflow_steps.present += len(planned)

    async def _apply(self, item: DemoAgreement, agreement_id: uuid.UUID, step: Step) -> bool:
        """One step, in transactions as the API's requests would be; whether it is one of the
        history's (a revision of the draft is not, and changes nothing when applied again)."""
        if isinstance(step, Revise):
            if step.changes:
                async with _writing(self.database, self.operator) as session:
                    patch = AgreementPatch.model_validate(step.changes)
                    await agreements.update_agreement(session, agreement_id, patch, if_match="*")
            if step.due_diligence is not None:
                async with _writing(self.database, self.operator) as session:
                    await agreements.put_due_diligence(
                        session, agreement_id, _due_diligence(step.due_diligence), if_match=None
                    )
            return False
        if isinstance(step, Decide | Correct):
            member = self.members[step.recorded_by]
            async with _writing(self.database, member) as session:
                decision = await self._decision(session, item, agreement_id, step)
                await decisions.record_decision(
                    session, agreement_id, decision, actor=member, if_match=None
                )
            return True
        body: TransitionIn
        if isinstance(step, Activate):
            body = ActivationIn.model_validate({"signed_on": step.signed_on, "note": step.note})
            action = step.action
        elif isinstance(step, Submit):
            body = TransitionIn.model_validate({"note": step.note})
            action = "submit"
        else:
            assert isinstance(step, Move)
            body = TransitionIn.model_validate({"note": step.note})
            action = step.action
        async with _writing(self.database, self.operator) as session:
            await agreements.transition(
                session, agreement_id, action, body, principal=self.operator, if_match=None
            )
        return True

    async def _decision(
        self,
        session: AsyncSession,
        item: DemoAgreement,
        agreement_id: uuid.UUID,
        step: Decide | Correct,
    ) -> DecisionIn:
        values: dict[str, Any] = {
            "rationale": step.rationale,
            "meeting_reference": step.meeting_reference,
            "decided_on": step.decided_on,
            "participants": list(step.participants),
        }
        if isinstance(step, Decide):
            return DecisionIn.model_validate(
                {**values, "governing_body": step.body, "outcome": step.outcome}
            )
        recorded = await agreements.decision_dates(session, agreement_id)
        corrected = _corrected(item, step)
        return DecisionIn.model_validate(
            {
                **values,
                "governing_body": corrected.body,
                "outcome": corrected.outcome,
                "supersedes_id": recorded[step.decision].id,
            }
        )

    # Interactions ----------------------------------------------------------------------------

    async def load_interactions(self) -> None:
        subjects = sorted({item.subject for item in data.INTERACTIONS})
        query = select(_column(Interaction, "occurred_on"), _column(Interaction, "subject")).where(
            _column(Interaction, "subject").in_(subjects)
        )
        async with _reading(self.database) as session:
            existing = {(row.occurred_on, row.subject) for row in await session.execute(query)}
        missing = [
            item for item in data.INTERACTIONS if (item.occurred_on, item.subject) not in existing
        ]
        if missing:
            async with _writing(self.database, self.operator) as session:
                for item in missing:
                    try:
                        await interactions.create_interaction(session, self._interaction(item))
                    except DomainError as error:
                        raise _failed(f"interaction {item.subject!r}", error) from error
        self.summary.interactions = Tally(len(data.INTERACTIONS), len(missing))
        self.summary.public_interactions = sum(
            item.visibility == "public" for item in data.INTERACTIONS
        )

    def _interaction(self, item: DemoInteraction) -> InteractionCreate:
        agreement = None if item.agreement is None else self.agreement_ids[item.agreement]
        return InteractionCreate.model_validate(
            {
                "occurred_on": item.occurred_on,
                "channel": item.channel,
                "subject": item.subject,
                "summary": item.summary,
                "organization_ids": [self.organization_ids[key] for key in item.organizations],
                "ippc_participants": list(item.participants),
                "location": item.location,
                "strategic_objectives": list(item.objectives),
                "follow_up": item.follow_up,
                "agreement_id": agreement,
                "visibility": item.visibility,
            }
        )

    # What the register holds now -------------------------------------------------------------

    async def count(self) -> None:
        ids = list(self.agreement_ids.values())
        status = _column(Agreement, "status")
        statuses = (
            select(status, func.count()).where(_column(Agreement, "id").in_(ids)).group_by(status)
        )
        recusals = select(_column(Decision, "recusals")).where(
            _column(Decision, "agreement_id").in_(ids)
        )
        async with _reading(self.database) as session:
            counted = {row[0]: row[1] for row in await session.execute(statuses)}
            found = (await session.execute(recusals)).scalars().all()
        order = list(dict.fromkeys(_STATUS_ORDER + sorted(counted)))
        self.summary.statuses = {name: counted[name] for name in order if name in counted}
        self.summary.decisions = len(found)
        self.summary.decisions_with_recusals = sum(1 for item in found if item)


_STATUS_ORDER = [
    "draft",
    "submitted",
    "cpm_review",
    "approved",
    "active",
    "suspended",
    "ended",
    "terminated",
    "rejected",
    "withdrawn",
]


def _after_actions(steps: Sequence[Step], count: int) -> int:
    """The index of the first step after the `count`-th one that the history records."""
    if count == 0:
        return 0
    seen = 0
    for index, step in enumerate(steps):
        if action_of(step) is not None:
            seen += 1
            if seen == count:
                return index + 1
    return len(steps)


def _corrected(item: DemoAgreement, step: Correct) -> Decide:
    """The decision a correction corrects, followed down a chain of corrections."""
    recorded = [each for each in item.all_steps if isinstance(each, Decide | Correct)]
    target: Decide | Correct = recorded[step.decision]
    while isinstance(target, Correct):
        target = recorded[target.decision]
    return target


def _due_diligence(item: DueDiligence) -> DueDiligenceIn:
    return DueDiligenceIn.model_validate(
        {
            "risk_level": item.risk_level,
            "risk_categories": list(item.risk_categories),
            "undue_influence_assessment": item.undue_influence_assessment,
            "conflicts_of_interest": item.conflicts_of_interest,
            "mitigation": item.mitigation,
            "excluded_sector": item.excluded_sector,
            "assessed_by": item.assessed_by,
            "assessed_on": item.assessed_on,
        }
    )


async def load(database: Database, operator_subject: str) -> Summary:
    """Load what is missing of the demo register, in an order that lets each record refer to
    the ones before it; the summary counts the demo's records and what this run created."""
    loader = _Loader(database, secretariat(operator_subject))
    await loader.load_members()
    await loader.load_organizations()
    await loader.load_declarations()
    await loader.load_agreements()
    await loader.load_interactions()
    await loader.archive_organizations()
    await loader.count()
    return loader.summary
