"""Decisions, interest declarations and an agreement's history (design §2, §3).

Decisions
- A decision moves the agreement as `agreements.workflow.TRANSITIONS` says (a Bureau decision
  only in `submitted`, a CPM decision only in `cpm_review`; otherwise a 409 naming the current
  status and the allowed actions). It is recorded by the token's subject, with the member's name
  (`member_name`), and keeps its recusals: the members with a declared interest in a partner,
  in force at any time from `decided_on` to the day it is recorded. A member among them cannot
  record it: 409 `recusal-required`.
- Decisions are append-only (`models.decisions`): a correction is a new decision with
  `supersedes_id`, on the same agreement, of the same body and outcome, in any status; it moves
  no status. A decision is corrected once: a second correction of it is a 409
  `decision-superseded` naming the correction (correct the correction instead); a unique index
  decides under concurrency.
- Each decision sets the agreement's `last_decision_id`: its version rises, and its audit event
  (action `<body>_<outcome>`, or `correction`; the note is the meeting reference) names the
  decision, which is how the history finds it.

Concurrency (conventions, rule 14)
- Decisions and transitions lock the agreement `FOR UPDATE` and read its status after the lock:
  of two racing, the second sees the first's status and is refused (409; 412 with a stale
  `If-Match`).
- A decision locks the partners' organization rows `FOR SHARE` before it reads declarations; a
  declaration locks its organization `FOR NO KEY UPDATE`, which conflicts with it. Whichever
  locks first commits first: a decision never reads the declarations without one committed
  before it. On SQLite, writing transactions are serialized whole (`BEGIN IMMEDIATE`).

Names: a member's name is the name of the embedded issuer's client whose id is the subject
(each Bureau member has a client of their own), read when they act and kept with the decision or
declaration; in external mode, where subjects are the identity provider's, it is null.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.agreements import service as agreements
from app.agreements.workflow import (
    DECISION_ACTIONS,
    TRANSITION_ACTIONS,
    AgreementStatus,
    DecisionDate,
    chain_origin,
    date_bounds,
    decision_action,
    find,
)
from app.auth.scopes import Principal
from app.core.actor import Actor
from app.core.csv_export import Export, columns_of
from app.core.db import Database, column_of, session_reads
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, problem_type
from app.core.http import PreparedBody
from app.core.listing import JsonPage, ListSpec, in_range, one_of
from app.core.pagination import SortOptions
from app.core.preconditions import check_if_match, resource_etag
from app.core.rows import Violation, get_for_update, get_or_404, read_referenced, refuse, write
from app.core.serialization import dump_rows
from app.core.tracking import record_action
from app.decisions.schemas import (
    AgreementDecisionFilters,
    DecisionFilters,
    DecisionIn,
    DecisionOut,
    DecisionSort,
    HistoryActorOut,
    HistoryEntryOut,
    HistoryOut,
    InterestDeclarationFilters,
    InterestDeclarationIn,
    InterestDeclarationOut,
    InterestDeclarationPatch,
    InterestDeclarationSort,
)
from app.models import (
    Agreement,
    AuditEvent,
    Decision,
    InterestDeclaration,
    OAuthClient,
    Organization,
)
from app.models.decisions import MAX_DECISIONS, MAX_DECLARING_MEMBERS
from app.organizations import service as organizations

NOT_FOUND = "No decision has this id."
DECLARATION_NOT_FOUND = "No interest declaration has this id."
CORRECTION = "correction"

RECUSAL_REQUIRED = problem_type(
    "recusal-required",
    409,
    "Recusal required",
    "The caller has a declared interest in a partner of the agreement, so cannot record a "
    "decision on it; `organization_ids` names the partners concerned.",
)
DECISION_SUPERSEDED = problem_type(
    "decision-superseded",
    409,
    "Decision already corrected",
    "The decision was corrected already; `superseded_by_id` names the correction, which is the "
    "one to correct now.",
)

# A draft that carries a decision (it was returned) is not deleted: withdraw it instead.
agreements.REFERENCES.register("decisions", Decision.agreement_id)
# An organization someone declared an interest in is not deleted: the declaration stays.
organizations.REFERENCES.register("interest_declarations", InterestDeclaration.organization_id)


def _column(model: Any, name: str) -> ColumnElement[Any]:
    return column_of(getattr(model, name))


# --- Members -------------------------------------------------------------------------------------


async def member_names(session: AsyncSession, subjects: Iterable[str]) -> dict[str, str]:
    """The names of the embedded issuer's clients whose ids are among `subjects` (a subject
    that is no client's id, as in external mode, has none)."""
    ids: dict[uuid.UUID, str] = {}
    for subject in set(subjects):
        try:
            ids[uuid.UUID(subject)] = subject
        except ValueError:
            continue
    if not ids:
        return {}
    query = select(_column(OAuthClient, "id"), _column(OAuthClient, "name")).where(
        _column(OAuthClient, "id").in_(list(ids))
    )
    return {ids[row.id]: row.name for row in await session.execute(query)}


async def member_name(session: AsyncSession, subject: str) -> str | None:
    return (await member_names(session, [subject])).get(subject)


# --- The decisions list --------------------------------------------------------------------------

_LATER = aliased(Decision)
_SUPERSEDED_BY = (
    select(column_of(_LATER.id))
    .where(column_of(_LATER.supersedes_id) == _column(Decision, "id"))
    .correlate(Decision)
    .scalar_subquery()
    .label("superseded_by_id")
)


def _decision_columns() -> list[Any]:
    return [
        _SUPERSEDED_BY if name == "superseded_by_id" else _column(Decision, name)
        for name in DecisionOut.model_fields
    ]


LIST = ListSpec(
    name="decisions",
    statement=select(*_decision_columns()),
    parameters=DecisionFilters,
    filters=(
        one_of("governing_body", _column(Decision, "governing_body")),
        one_of("outcome", _column(Decision, "outcome")),
        in_range("decided_on", _column(Decision, "decided_on")),
        one_of("agreement_id", _column(Decision, "agreement_id")),
    ),
    sorts=SortOptions(
        fields={
            "decided_on": _column(Decision, "decided_on"),
            "created_at": _column(Decision, "created_at"),
        },
        tiebreaker=_column(Decision, "id"),
        default="-decided_on",
        list_name="decisions",
    ),
    sort_enum=DecisionSort,
    item=DecisionOut,
)
CSV_COLUMNS = columns_of(DecisionOut)


async def list_decisions(
    database: Database,
    filters: DecisionFilters,
    *,
    sort: DecisionSort | None,
    limit: int,
    cursor: str | None,
) -> JsonPage:
    return await LIST.json_page(database, filters, sort=sort, limit=limit, cursor=cursor)


_AGREEMENT_EXISTS = select(_column(Agreement, "id")).where(
    _column(Agreement, "id") == bindparam("agreement_id")
)


async def of_agreement(
    database: Database, agreement_id: uuid.UUID, filters: AgreementDecisionFilters
) -> DecisionFilters:
    """The filters of the list of one agreement's decisions (404 without the agreement)."""
    if not await database.read(_AGREEMENT_EXISTS, {"agreement_id": agreement_id}):
        raise NotFound(agreements.NOT_FOUND)
    return DecisionFilters.model_validate({**filters.model_dump(), "agreement_id": [agreement_id]})


def export(filters: DecisionFilters, sort: DecisionSort | None) -> Export:
    return LIST.export(filters, sort, CSV_COLUMNS, "decisions.csv")


def etag(decision: DecisionOut) -> str:
    return resource_etag(decision.id, decision.version, decision.superseded_by_id)


async def get_decision(database: Database, decision_id: uuid.UUID) -> PreparedBody:
    item = await LIST.read_item(database, _column(Decision, "id"), decision_id, missing=NOT_FOUND)
    return PreparedBody(
        dump_rows(item),
        resource_etag(decision_id, item["version"], item["superseded_by_id"]),
    )


def decision_out(row: Decision, superseded_by_id: uuid.UUID | None = None) -> DecisionOut:
    values = {
        name: getattr(row, name) for name in DecisionOut.model_fields if name != "superseded_by_id"
    }
    return DecisionOut.model_validate({**values, "superseded_by_id": superseded_by_id})


# --- Recording a decision ------------------------------------------------------------------------


async def _declarations(
    session: AsyncSession, organization_ids: Sequence[uuid.UUID], decided_on: date
) -> list[InterestDeclaration]:
    """The declarations of an interest in any of the organizations, in force at any time from
    `decided_on` until today. The organizations are locked FOR SHARE first, so that a
    declaration being made waits for this decision, or this decision for it to commit."""
    await read_referenced(
        session,
        Organization,
        [("", organization_id) for organization_id in organization_ids],
        missing="",
    )
    if not organization_ids:
        return []
    ended_on = _column(InterestDeclaration, "ended_on")
    query = (
        select(InterestDeclaration)
        .where(
            _column(InterestDeclaration, "organization_id").in_(list(organization_ids)),
            _column(InterestDeclaration, "declared_on") <= agreements.today(),
            or_(ended_on.is_(None), ended_on >= decided_on),
        )
        .order_by(_column(InterestDeclaration, "member"), _column(InterestDeclaration, "id"))
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(query)).scalars())


def _recusals(declarations: Sequence[InterestDeclaration]) -> list[dict[str, Any]]:
    """One recusal per member, naming the partners of their interests."""
    recusals: dict[str, dict[str, Any]] = {}
    for declaration in declarations:
        recusal = recusals.setdefault(
            declaration.member,
            {
                "member": declaration.member,
                "member_name": declaration.member_name,
                "organization_ids": [],
            },
        )
        organization_id = str(declaration.organization_id)
        if organization_id not in recusal["organization_ids"]:
            recusal["organization_ids"].append(organization_id)
    return list(recusals.values())


async def _superseded(
    session: AsyncSession, agreement: Agreement, data: DecisionIn
) -> tuple[Decision | None, list[FieldError]]:
    """The decision a correction supersedes, and what is wrong with the correction."""
    if data.supersedes_id is None:
        return None, []
    earlier = await session.get(Decision, data.supersedes_id)
    if earlier is None or earlier.agreement_id != agreement.id:
        detail = "No decision of this agreement has this id"
        return None, [FieldError(detail, pointer="/supersedes_id")]
    errors = []
    if earlier.governing_body != data.governing_body:
        errors.append(
            FieldError("Must be the corrected decision's governing body", pointer="/governing_body")
        )
    if earlier.outcome != data.outcome:
        errors.append(FieldError("Must be the corrected decision's outcome", pointer="/outcome"))
    return earlier, errors


async def _corrects_the_approval(
    session: AsyncSession, recorded: Sequence[DecisionDate], earlier: Decision
) -> bool:
    """Whether a correction of `earlier` stands in the place of the decision that approved the
    agreement: the first of its chain left the agreement `approved`."""
    origin_id = chain_origin(recorded, earlier.id)
    origin = earlier if origin_id == earlier.id else await session.get(Decision, origin_id)
    return origin is not None and origin.agreement_status == AgreementStatus.approved


async def _correction_of(session: AsyncSession, decision_id: uuid.UUID) -> uuid.UUID | None:
    query = select(_column(Decision, "id")).where(_column(Decision, "supersedes_id") == decision_id)
    return (await session.execute(query)).scalar_one_or_none()


def _already_superseded(decision_id: uuid.UUID, correction_id: uuid.UUID | None) -> Conflict:
    return Conflict(
        f"Decision {decision_id} was corrected already: correct the correction instead.",
        kind=DECISION_SUPERSEDED,
        superseded_by_id=None if correction_id is None else str(correction_id),
    )


async def record_decision(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    data: DecisionIn,
    *,
    actor: Principal,
    if_match: str | None,
) -> DecisionOut:
    """Record a decision on the agreement (or a correction), as design §2 and §3 say."""
    agreement = await get_for_update(session, Agreement, agreement_id, detail=agreements.NOT_FOUND)
    check_if_match(if_match, agreements.etag(agreements.agreement_out(agreement)), required=False)
    decided_on = data.decided_on or agreements.today()
    earlier, errors = await _superseded(session, agreement, data)
    recorded = await agreements.decision_dates(session, agreement_id)
    if len(recorded) >= MAX_DECISIONS:
        raise Conflict(
            f"The agreement has {len(recorded)} decisions, as many as one agreement may take."
        )
    bounds = date_bounds(recorded, correcting=data.supersedes_id, signed_on=agreement.signed_on)
    refuse(
        errors
        + agreements.not_in_future(decided_on, "/decided_on")
        + bounds.errors(decided_on, "/decided_on")
    )
    status_before: str = agreement.status
    status_after: str
    if earlier is None:
        action = decision_action(data.governing_body, data.outcome)
        row = find(action, status_before, await agreements.workflow_facts(session, agreement))
        agreements.check_scope(actor, row)
        status_after = row.target
    else:
        action, status_after = CORRECTION, status_before
        # The agreement's decisions were read under its lock: a correction of `earlier` is
        # among them if there is one (a racing one is caught by the unique index below).
        correction = next((item.id for item in recorded if item.supersedes_id == earlier.id), None)
        if correction is not None:
            raise _already_superseded(earlier.id, correction)
    partners = [uuid.UUID(str(partner)) for partner in agreement.partner_ids]
    recusals = _recusals(await _declarations(session, partners, decided_on))
    mine = next((item for item in recusals if item["member"] == actor.subject), None)
    if mine is not None:
        raise Conflict(
            "You declared an interest in a partner of this agreement: another member must "
            "record the decision.",
            kind=RECUSAL_REQUIRED,
            organization_ids=mine["organization_ids"],
        )
    decision = Decision(
        agreement_id=agreement_id,
        governing_body=data.governing_body,
        outcome=data.outcome,
        rationale=data.rationale,
        meeting_reference=data.meeting_reference,
        decided_on=decided_on,
        participants=list(data.participants),
        supersedes_id=data.supersedes_id,
        recorded_by=actor.subject,
        recorded_by_name=await member_name(session, actor.subject),
        recusals=recusals,
        agreement_status=status_after,
    )

    approving = (
        status_after == AgreementStatus.approved
        if earlier is None
        else await _corrects_the_approval(session, recorded, earlier)
    )

    async def change() -> None:
        session.add(decision)
        await session.flush()
        agreement.status = status_after
        agreement.last_decision_id = decision.id
        if approving:
            agreement.approved_on = decided_on

    async def lost_correction_race() -> Conflict:
        assert earlier is not None
        return _already_superseded(earlier.id, await _correction_of(session, earlier.id))

    await write(session, change, if_match=if_match, on={Violation.unique: lost_correction_race})
    record_action(session, agreement, action, data.meeting_reference)
    return decision_out(decision)


# --- Interest declarations -----------------------------------------------------------------------

DECLARATIONS = ListSpec(
    name="interest_declarations",
    statement=select(
        *(_column(InterestDeclaration, name) for name in InterestDeclarationOut.model_fields)
    ),
    parameters=InterestDeclarationFilters,
    filters=(
        one_of("member", _column(InterestDeclaration, "member")),
        one_of("organization_id", _column(InterestDeclaration, "organization_id")),
        in_range("declared_on", _column(InterestDeclaration, "declared_on")),
    ),
    sorts=SortOptions(
        fields={
            "declared_on": _column(InterestDeclaration, "declared_on"),
            "created_at": _column(InterestDeclaration, "created_at"),
        },
        tiebreaker=_column(InterestDeclaration, "id"),
        default="-declared_on",
        list_name="interest_declarations",
    ),
    sort_enum=InterestDeclarationSort,
    item=InterestDeclarationOut,
)
DECLARATION_CSV_COLUMNS = columns_of(InterestDeclarationOut)


async def list_declarations(
    database: Database,
    filters: InterestDeclarationFilters,
    *,
    sort: InterestDeclarationSort | None,
    limit: int,
    cursor: str | None,
) -> JsonPage:
    return await DECLARATIONS.json_page(database, filters, sort=sort, limit=limit, cursor=cursor)


def export_declarations(
    filters: InterestDeclarationFilters, sort: InterestDeclarationSort | None
) -> Export:
    return DECLARATIONS.export(filters, sort, DECLARATION_CSV_COLUMNS, "interest-declarations.csv")


def declaration_out(row: InterestDeclaration) -> InterestDeclarationOut:
    return InterestDeclarationOut.model_validate(
        {name: getattr(row, name) for name in InterestDeclarationOut.model_fields}
    )


def declaration_etag(declaration: InterestDeclarationOut) -> str:
    return resource_etag(declaration.id, declaration.version)


async def get_declaration(
    session: AsyncSession, declaration_id: uuid.UUID
) -> InterestDeclarationOut:
    return declaration_out(
        await get_or_404(session, InterestDeclaration, declaration_id, detail=DECLARATION_NOT_FOUND)
    )


async def _lock_organization(session: AsyncSession, organization_id: uuid.UUID) -> bool:
    """Lock the organization FOR NO KEY UPDATE (which waits for, and holds off, the FOR SHARE
    locks of decisions on agreements it is a partner of); whether it exists."""
    query = (
        select(_column(Organization, "id"))
        .where(_column(Organization, "id") == organization_id)
        .with_for_update(key_share=True)
    )
    return (await session.execute(query)).first() is not None


async def _declaring_members(session: AsyncSession, organization_id: uuid.UUID) -> set[str]:
    """The members who ever declared an interest in the organization."""
    query = (
        select(_column(InterestDeclaration, "member"))
        .where(_column(InterestDeclaration, "organization_id") == organization_id)
        .distinct()
    )
    return set((await session.execute(query)).scalars().all())


def _period_errors(declared_on: date, ended_on: date | None) -> list[FieldError]:
    errors = []
    if declared_on > agreements.today():
        errors.append(FieldError("Must not be in the future", pointer="/declared_on"))
    if ended_on is not None and ended_on < declared_on:
        errors.append(FieldError("Must not be before declared_on", pointer="/ended_on"))
    return errors


async def declare_interest(
    session: AsyncSession, data: InterestDeclarationIn, *, actor: Actor
) -> InterestDeclarationOut:
    """The caller declares an interest in an organization (archived ones included)."""
    errors = []
    if not await _lock_organization(session, data.organization_id):
        errors.append(FieldError("No organization has this id", pointer="/organization_id"))
    declared_on = data.declared_on or agreements.today()
    refuse(errors + _period_errors(declared_on, data.ended_on))
    # Read under the organization's lock: declarations on it are made one at a time.
    members = await _declaring_members(session, data.organization_id)
    if actor.subject not in members and len(members) >= MAX_DECLARING_MEMBERS:
        raise Conflict(
            f"{len(members)} members have declared an interest in this organization, as many "
            "as one organization may have."
        )
    declaration = InterestDeclaration(
        member=actor.subject,
        member_name=await member_name(session, actor.subject),
        organization_id=data.organization_id,
        nature=data.nature,
        declared_on=declared_on,
        ended_on=data.ended_on,
    )

    async def change() -> None:
        session.add(declaration)

    await write(session, change)
    return declaration_out(declaration)


async def update_declaration(
    session: AsyncSession,
    declaration_id: uuid.UUID,
    patch: InterestDeclarationPatch,
    *,
    actor: Actor,
    if_match: str | None,
) -> InterestDeclarationOut:
    """The member corrects the nature of their own declaration, or ends it (from today on)."""
    declaration = await get_for_update(
        session, InterestDeclaration, declaration_id, detail=DECLARATION_NOT_FOUND
    )
    check_if_match(if_match, declaration_etag(declaration_out(declaration)), required=True)
    if declaration.member != actor.subject:
        raise Forbidden("Only the member who declared an interest can change the declaration.")
    given = patch.model_dump(include=patch.model_fields_set)
    errors = []
    ended_on = given.get("ended_on")
    if "ended_on" in given and ended_on is None:
        errors.append(
            FieldError("Cannot be cleared: declare the interest anew", pointer="/ended_on")
        )
    if ended_on is not None and ended_on < max(declaration.declared_on, agreements.today()):
        errors.append(
            FieldError("Must not be before today nor before declared_on", pointer="/ended_on")
        )
    if "nature" in given and given["nature"] is None:
        errors.append(FieldError("Cannot be cleared", pointer="/nature"))
    refuse(errors)

    async def change() -> None:
        for name, value in given.items():
            setattr(declaration, name, value)

    await write(session, change, if_match=if_match)
    return declaration_out(declaration)


# --- History -------------------------------------------------------------------------------------

HISTORY_ACTIONS = (*TRANSITION_ACTIONS, *DECISION_ACTIONS, CORRECTION)


def _status_change(changes: dict[str, Any]) -> tuple[str | None, str | None]:
    status = changes.get("status")
    if isinstance(status, dict):
        return status.get("before"), status.get("after")
    return None, None


# The history is paged like every list: by the audit events' ids, in commit order.
_EVENT_ID = column_of(AuditEvent.id)
HISTORY_ORDER = SortOptions(
    fields={"id": _EVENT_ID}, tiebreaker=_EVENT_ID, default="id", list_name="agreement-history"
).parse(None)


async def history(
    session: AsyncSession, agreement_id: uuid.UUID, *, limit: int, cursor: str | None
) -> HistoryOut:
    """One page of the agreement's transitions and decisions in commit order, read from the
    audit trail (its events of the workflow's actions), each decision's entry with the
    decision. Paged, since corrections may make a history long."""
    await get_or_404(session, Agreement, agreement_id, detail=agreements.NOT_FOUND)
    statement = select(AuditEvent).where(
        _column(AuditEvent, "resource_type") == "agreement",
        _column(AuditEvent, "resource_id") == str(agreement_id),
        _column(AuditEvent, "action").in_(HISTORY_ACTIONS),
    )
    position = HISTORY_ORDER.values_of_cursor(cursor)
    found = await HISTORY_ORDER.read_parts(session_reads(session), statement, position, limit + 1)
    events, next_cursor = HISTORY_ORDER.split([row[0] for row in found], limit)
    shown = {
        str((event.changes.get("last_decision_id") or {}).get("after"))
        for event in events
        if event.action not in TRANSITION_ACTIONS
    }
    decisions = {
        str(row.id): row
        for row in (
            await session.execute(
                select(*_decision_columns()).where(
                    _column(Decision, "agreement_id") == agreement_id,
                    _column(Decision, "id").in_([uuid.UUID(item) for item in shown if item]),
                )
            )
        )
    }
    names = await member_names(session, (event.actor_subject for event in events))
    items = []
    for event in events:
        before, after = _status_change(event.changes)
        decision = None
        if event.action not in TRANSITION_ACTIONS:
            last = event.changes.get("last_decision_id") or {}
            row = decisions.get(str(last.get("after")))
            if row is not None:
                decision = DecisionOut.model_validate(row._asdict())
                before = before or decision.agreement_status
                after = after or decision.agreement_status
        items.append(
            HistoryEntryOut(
                kind="transition" if event.action in TRANSITION_ACTIONS else "decision",
                action=event.action,
                occurred_at=event.occurred_at,
                status_before=before,
                status_after=after,
                actor=HistoryActorOut(
                    subject=event.actor_subject,
                    client_id=event.actor_client_id,
                    name=names.get(event.actor_subject),
                ),
                note=event.note,
                decision=decision,
                audit_event_id=event.id or 0,
            )
        )
    return HistoryOut(items=items, next_cursor=next_cursor)
