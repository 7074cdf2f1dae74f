"""The rules of agreements and their due diligence (design §2, §3).

Built on the kit like organizations: the list is declared once (`LIST`), rows are loaded and
locked with `core.rows`, writes go through `core.rows.write`, and the audit trail follows by
structure (agreements and due diligence are tracked models).

- Only drafts are changed, deleted or given a due diligence (409 `agreement-not-editable`,
  naming the current status). A draft still referred to (by interactions now, by its decisions
  when they arrive: they register with `REFERENCES`) is not deleted (409 `agreement-referenced`).
- Partners must exist and not be archived, objectives must exist (`registry.links`: one 422
  naming each invalid one); the partners are locked FOR SHARE while the agreement is written.
- `required_approvals` is computed by `workflow.required_approvals` and stored whenever a field
  it depends on changes, the due diligence's risk level included.
- Writing the due diligence raises the agreement's version (`due_diligence_revision`).

- Transitions (submit, withdraw, activate, suspend, resume, terminate, close) follow the table
  of `workflow.TRANSITIONS` (`transition`): a move it lacks is a 409 `invalid-transition` naming
  the current status and the allowed actions; submitting lists every missing item in one 422.
  Each raises the version and is audited under its action's name, with the caller's note.

Concurrency: every change of an agreement or of its due diligence, every transition and every
decision first locks the agreement (`FOR UPDATE`) and reads its status after the lock, so that
they apply one after the other, each on the latest state.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.schemas import (
    ActivationIn,
    AgreementCreate,
    AgreementFilters,
    AgreementOut,
    AgreementPatch,
    AgreementSort,
    DueDiligenceIn,
    DueDiligenceOut,
    Financing,
    HasFinancing,
    PartnerAgreementFilters,
    TransitionIn,
)
from app.agreements.workflow import (
    EDITABLE,
    ApprovalFacts,
    DecisionDate,
    RiskLevel,
    Transition,
    WorkflowFacts,
    date_bounds,
    find,
    required_approvals,
)
from app.auth.scopes import Principal
from app.core.csv_export import CsvColumn, Export
from app.core.db import Database, column_of, utcnow
from app.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    PreconditionFailed,
    problem_type,
)
from app.core.http import PreparedBody
from app.core.listing import (
    JsonPage,
    ListSpec,
    custom,
    holds_any,
    in_range,
    one_of,
    text_search,
)
from app.core.pagination import SortOptions
from app.core.preconditions import check_if_match, resource_etag
from app.core.references import References
from app.core.rows import Violation, get_for_update, get_or_404, refuse, write
from app.core.serialization import dump_rows
from app.core.text import normalize
from app.core.tracking import record_action
from app.core.validation import decimal_text
from app.models import (
    Agreement,
    AgreementObjective,
    AgreementPartner,
    Decision,
    DueDiligence,
)
from app.models.agreements import TITLE_MAX_LENGTH
from app.organizations import service as organizations
from app.registry import codes
from app.registry.links import (
    Link,
    as_uuid,
    check_references,
    linked_to,
    of_organization,
    pointed,
    remove_links,
    save,
)

NOT_FOUND = "No agreement has this id."
NO_DUE_DILIGENCE = "This agreement has no due diligence yet."

AGREEMENT_NOT_EDITABLE = problem_type(
    "agreement-not-editable",
    409,
    "Agreement not editable",
    "Only a draft agreement can be changed, deleted or given a due diligence; "
    "`current_status` says where it is.",
)
AGREEMENT_REFERENCED = problem_type(
    "agreement-referenced",
    409,
    "Agreement still referenced",
    "Records refer to this agreement (its decisions, interactions linked to it), so it cannot "
    "be deleted; `references` counts them by kind.",
)

# The codes an agreement's links name are kept beside it at each commit that changes them.
assert codes.write_codes is not None

PARTNERS: Table = AgreementPartner.__table__  # type: ignore[attr-defined]
OBJECTIVES: Table = AgreementObjective.__table__  # type: ignore[attr-defined]
FINANCING_FIELDS = ("amount", "currency", "direction")
LINKS = (
    Link("partner_ids", PARTNERS, "agreement_id", "organization_id", as_uuid, "position"),
    Link("strategic_objectives", OBJECTIVES, "agreement_id", "objective_code"),
)


def _column(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Agreement, name))


# --- The list ----------------------------------------------------------------------------------

# What a list row holds: AgreementOut's fields, financing as its three columns.
_LISTED = [name for name in AgreementOut.model_fields if name != "financing"] + [
    f"financing_{name}" for name in FINANCING_FIELDS
]


def _financed(value: HasFinancing | None) -> ColumnElement[bool] | None:
    if value is None:
        return None
    amount = _column("financing_amount")
    return amount.is_not(None) if value == "true" else amount.is_(None)


def agreement_item(row: Any) -> dict[str, Any]:
    """An agreement as the API shows it, from its row (an ORM object or a selected row): the
    dict `AgreementOut` writes (its financing an object; the amount, exact already, written as
    text by `dump_rows` as the model does), so that a list writes it without the model."""
    item: dict[str, Any] = {}
    for name in AgreementOut.model_fields:
        if name != "financing":
            item[name] = getattr(row, name)
        elif row.financing_amount is None:
            item[name] = None
        else:
            item[name] = {
                "amount": row.financing_amount,
                "currency": row.financing_currency,
                "direction": row.financing_direction,
            }
    return item


LIST = ListSpec(
    name="agreements",
    statement=select(*(_column(name) for name in _LISTED), _column("title_key")),
    parameters=AgreementFilters,
    filters=(
        text_search("q", _column("search_key")),
        one_of("status", _column("status")),
        one_of("level", _column("level"), carried=True),
        one_of("instrument", _column("instrument"), carried=True),
        linked_to("partner_id", _column("id"), PARTNERS, "agreement_id", "organization_id"),
        holds_any("partner_category", _column("partner_categories")),
        holds_any("strategic_objective", _column("objective_codes")),
        in_range("start_date", _column("start_date")),
        in_range("end_date", _column("end_date")),
        in_range("approved_on", _column("approved_on")),
        custom("has_financing", condition=_financed),
        in_range("created_at", _column("created_at")),
        in_range("updated_at", _column("updated_at")),
    ),
    sorts=SortOptions(
        fields={
            "title": _column("title_key"),
            "start_date": _column("start_date"),
            "end_date": _column("end_date"),
            "approved_on": _column("approved_on"),
            "created_at": _column("created_at"),
            "updated_at": _column("updated_at"),
        },
        tiebreaker=_column("id"),
        default="title",
        list_name="agreements",
    ),
    sort_enum=AgreementSort,
    item=AgreementOut,
    item_of=agreement_item,
)


def agreement_out(row: Any) -> AgreementOut:
    return AgreementOut.model_validate(agreement_item(row))


def _financing_cell(name: str) -> CsvColumn:
    column = f"financing_{name}"

    def value(row: Any) -> Any:
        return getattr(row, column)

    return CsvColumn(column, value)


def _field_cell(name: str) -> CsvColumn:
    def value(row: Any) -> Any:
        return getattr(row, name)

    return CsvColumn(name, value)


# The JSON items' columns in order, the financing as three (amount, currency, direction).
CSV_COLUMNS = [
    cell
    for name in AgreementOut.model_fields
    for cell in (
        [_financing_cell(part) for part in FINANCING_FIELDS]
        if name == "financing"
        else [_field_cell(name)]
    )
]


async def list_agreements(
    database: Database,
    filters: AgreementFilters,
    *,
    sort: AgreementSort | None,
    limit: int,
    cursor: str | None,
) -> JsonPage:
    return await LIST.json_page(database, filters, sort=sort, limit=limit, cursor=cursor)


def export(filters: AgreementFilters, sort: AgreementSort | None) -> Export:
    """The whole filtered, ordered set, for CSV."""
    return LIST.export(filters, sort, CSV_COLUMNS, "agreements.csv")


async def of(
    database: Database, organization_id: uuid.UUID, filters: PartnerAgreementFilters
) -> AgreementFilters:
    """The filters of the list of an organization's agreements (404 without it)."""
    return await of_organization(database, organization_id, filters, AgreementFilters, "partner_id")


# --- References: what points at an agreement, and what an agreement points at -----------------

# Interactions register theirs; decisions will register theirs when they arrive, and a draft
# that carries a decision (it was returned) will then not be deleted.
REFERENCES = References(
    AGREEMENT_REFERENCED, "withdraw the agreement instead, or unlink what refers to it."
)


organizations.REFERENCES.register("agreements", PARTNERS.c.organization_id)


# --- Reading -------------------------------------------------------------------------------------


def etag(agreement: AgreementOut) -> str:
    return resource_etag(agreement.id, agreement.version)


async def get_agreement(database: Database, agreement_id: uuid.UUID) -> PreparedBody:
    """One statement outside any transaction, written as `AgreementOut` would be."""
    item = await LIST.read_item(database, _column("id"), agreement_id, missing=NOT_FOUND)
    return PreparedBody(dump_rows(item), resource_etag(agreement_id, item["version"]))


# --- Rules -------------------------------------------------------------------------------------


def _check_editable(agreement: Agreement) -> None:
    if agreement.status not in EDITABLE:
        raise Conflict(
            f"The agreement is {agreement.status}: only a draft can be changed.",
            kind=AGREEMENT_NOT_EDITABLE,
            current_status=agreement.status,
        )


def _date_errors(start: date | None, end: date | None) -> list[FieldError]:
    if start is not None and end is not None and end < start:
        return [FieldError("Must not be before start_date", pointer="/end_date")]
    return []


def _columns(values: Mapping[str, Any], risk_level: str | None) -> dict[str, Any]:
    """The columns of an agreement with `values` (the fields of AgreementCreate), computed
    columns included."""
    financing = values["financing"]
    columns = {
        name: value
        for name, value in values.items()
        if name not in ("financing", "partner_ids", "strategic_objectives")
    }
    columns["partner_ids"] = [str(item) for item in values["partner_ids"]]
    columns["strategic_objectives"] = list(values["strategic_objectives"])
    for name in FINANCING_FIELDS:
        columns[f"financing_{name}"] = None if financing is None else financing[name]
    if financing is not None:  # as it will read back: 12500.50, not 12500.5
        columns["financing_amount"] = Decimal(decimal_text(financing["amount"]))
    title_key = normalize(values["title"])
    columns["title_key"] = title_key[:TITLE_MAX_LENGTH]
    columns["search_key"] = title_key
    facts = ApprovalFacts(
        level=values["level"],
        instrument=values["instrument"],
        financed=financing is not None,
        legal_arrangement=values["legal_arrangement"] is not None,
        risk_level=risk_level,
    )
    columns["required_approvals"] = [str(body) for body in required_approvals(facts)]
    return columns


def _values(agreement: Agreement) -> dict[str, Any]:
    """An agreement's fields in the shape of AgreementCreate (plain values)."""
    shown = agreement_out(agreement)
    values = shown.model_dump(include=set(AgreementCreate.model_fields))
    values["financing"] = None if shown.financing is None else shown.financing.model_dump()
    return values


async def _risk_level(session: AsyncSession, agreement_id: uuid.UUID) -> str | None:
    query = select(column_of(DueDiligence.risk_level)).where(
        column_of(DueDiligence.id) == agreement_id
    )
    return (await session.execute(query)).scalar_one_or_none()


# --- Writing -------------------------------------------------------------------------------------


async def create_agreement(session: AsyncSession, data: AgreementCreate) -> AgreementOut:
    values = data.model_dump()
    await check_references(
        session,
        organizations=pointed("partner_ids", data.partner_ids),
        objectives=pointed("strategic_objectives", data.strategic_objectives),
        errors=_date_errors(data.start_date, data.end_date),
    )
    agreement = Agreement(
        title=data.title, level=data.level, instrument=data.instrument, title_key="", search_key=""
    )
    await save(session, agreement, _columns(values, None), LINKS, new=True)
    return agreement_out(agreement)


def _merged_financing(
    before: Mapping[str, Any] | None, patch: AgreementPatch
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The financing after a merge patch (RFC 7396: members merged), and what it lacks."""
    if patch.financing is None:
        return None, []
    given = patch.financing.model_dump(include=patch.financing.model_fields_set)
    merged = {**(before or {}), **given}
    lacking = [
        FieldError(
            "Required: the financing needs an amount, a currency and a direction",
            pointer=f"/financing/{name}",
        )
        for name in FINANCING_FIELDS
        if name not in merged
    ]
    return (None if lacking else Financing.model_validate(merged).model_dump()), lacking


async def update_agreement(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    patch: AgreementPatch,
    *,
    if_match: str | None,
) -> AgreementOut:
    agreement = await get_for_update(session, Agreement, agreement_id, detail=NOT_FOUND)
    current = agreement_out(agreement)
    check_if_match(if_match, etag(current), required=True)
    _check_editable(agreement)
    before = _values(agreement)
    given = patch.model_dump(include=patch.model_fields_set)
    errors: list[FieldError] = []
    if "financing" in given:
        given["financing"], errors = _merged_financing(before["financing"], patch)
    after = {**before, **given}
    errors += _date_errors(after["start_date"], after["end_date"])
    await check_references(
        session,
        organizations=pointed("partner_ids", after["partner_ids"], before["partner_ids"]),
        objectives=pointed(
            "strategic_objectives", after["strategic_objectives"], before["strategic_objectives"]
        ),
        errors=errors,
    )
    if after == before:
        return current
    columns = _columns(after, await _risk_level(session, agreement_id))
    await save(session, agreement, columns, LINKS, new=False, if_match=if_match)
    return agreement_out(agreement)


async def delete_agreement(
    session: AsyncSession, agreement_id: uuid.UUID, *, if_match: str | None
) -> None:
    agreement = await get_for_update(session, Agreement, agreement_id, detail=NOT_FOUND)
    check_if_match(if_match, etag(agreement_out(agreement)), required=True)
    _check_editable(agreement)
    await REFERENCES.refuse_if_any(session, agreement_id)
    due_diligence = await session.get(DueDiligence, agreement_id)

    async def change() -> None:
        if due_diligence is not None:
            await session.delete(due_diligence)
            await session.flush()
        await remove_links(session, LINKS, agreement_id)
        await session.delete(agreement)

    async def still_referenced() -> DomainError:
        # A reference committed after the count (a writer that did not lock the agreement).
        refused = REFERENCES.refusal(await REFERENCES.counts(session, agreement_id))
        return refused or Conflict(
            "Still referenced: withdraw the agreement instead.", kind=AGREEMENT_REFERENCED
        )

    await write(session, change, if_match=if_match, on={Violation.foreign_key: still_referenced})


# --- Due diligence -------------------------------------------------------------------------------


def due_diligence_out(row: DueDiligence) -> DueDiligenceOut:
    values = {
        name: getattr(row, name) for name in DueDiligenceOut.model_fields if name != "agreement_id"
    }
    return DueDiligenceOut.model_validate({**values, "agreement_id": row.id})


def due_diligence_etag(due_diligence: DueDiligenceOut) -> str:
    # The kind is part of the tag: the agreement's own tag has the same id and may have the
    # same version.
    return resource_etag(due_diligence.agreement_id, due_diligence.version, "due_diligence")


async def get_due_diligence(session: AsyncSession, agreement_id: uuid.UUID) -> DueDiligenceOut:
    await get_or_404(session, Agreement, agreement_id, detail=NOT_FOUND)
    return due_diligence_out(
        await get_or_404(session, DueDiligence, agreement_id, detail=NO_DUE_DILIGENCE)
    )


def _due_diligence_errors(data: DueDiligenceIn) -> list[FieldError]:
    if data.risk_level != RiskLevel.low and data.mitigation is None:
        return [FieldError("Required when risk_level is medium or high", pointer="/mitigation")]
    return []


async def put_due_diligence(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    data: DueDiligenceIn,
    *,
    if_match: str | None,
) -> tuple[DueDiligenceOut, bool]:
    """Create or replace the due diligence of a draft: (it, whether it was created)."""
    agreement = await get_for_update(session, Agreement, agreement_id, detail=NOT_FOUND)
    due_diligence = await session.get(DueDiligence, agreement_id, populate_existing=True)
    if due_diligence is None:
        if if_match is not None and if_match.strip():
            # If-Match (even `*`) names a current due diligence, and there is none (RFC 9110).
            raise PreconditionFailed("This agreement has no due diligence yet.")
    else:
        current_tag = due_diligence_etag(due_diligence_out(due_diligence))
        check_if_match(if_match, current_tag, required=False)
    _check_editable(agreement)
    refuse(_due_diligence_errors(data))
    values = data.model_dump()
    values["risk_categories"] = [str(item) for item in data.risk_categories]
    created = due_diligence is None
    if due_diligence is not None:
        before = {name: getattr(due_diligence, name) for name in values}
        if before == values:
            return due_diligence_out(due_diligence), False
    row = due_diligence or DueDiligence(
        id=agreement_id, risk_level=data.risk_level, undue_influence_assessment=""
    )
    facts = _values(agreement)
    approvals = _columns(facts, data.risk_level)["required_approvals"]

    async def change() -> None:
        for name, value in values.items():
            setattr(row, name, value)
        if created:
            session.add(row)
        agreement.due_diligence_revision += 1
        agreement.required_approvals = approvals

    await write(session, change, if_match=if_match)
    return due_diligence_out(row), created


# --- Workflow ------------------------------------------------------------------------------------


async def workflow_facts(session: AsyncSession, agreement: Agreement) -> WorkflowFacts:
    """What the workflow's conditions and requirements read of a (locked) agreement."""
    due_diligence = await session.get(DueDiligence, agreement.id, populate_existing=True)
    return WorkflowFacts(
        required_approvals=tuple(agreement.required_approvals),
        partner_count=len(agreement.partner_ids),
        objective_count=len(agreement.strategic_objectives),
        risk_level=None if due_diligence is None else due_diligence.risk_level,
        excluded_sector=due_diligence is not None and due_diligence.excluded_sector,
    )


def check_scope(principal: Principal, row: Transition) -> None:
    """The table's scope for the move (the route declares the same; a test compares them)."""
    if not principal.has(row.scope):
        raise Forbidden(f"{row.action} needs the scope {row.scope}.")


def today() -> date:
    return utcnow().date()


def not_in_future(day: date, pointer: str) -> list[FieldError]:
    if day > today():
        return [FieldError("Must not be in the future", pointer=pointer)]
    return []


async def decision_dates(session: AsyncSession, agreement_id: uuid.UUID) -> list[DecisionDate]:
    """The agreement's decisions in the order they were recorded, as `date_bounds` reads them.
    Decisions of one agreement are recorded under its row lock, one at a time."""
    query = (
        select(_decision("id"), _decision("supersedes_id"), _decision("decided_on"))
        .where(_decision("agreement_id") == agreement_id)
        .order_by(_decision("created_at"), _decision("id"))
    )
    rows = (await session.execute(query)).all()
    return [DecisionDate(row.id, row.supersedes_id, row.decided_on) for row in rows]


def _decision(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Decision, name))


async def transition(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    action: str,
    body: TransitionIn | None,
    *,
    principal: Principal,
    if_match: str | None,
) -> AgreementOut:
    """Move the agreement by `action` (a transition of the table, not a decision): lock it, read
    its status after the lock, find the table's row, check what the row requires, write."""
    agreement = await get_for_update(session, Agreement, agreement_id, detail=NOT_FOUND)
    check_if_match(if_match, etag(agreement_out(agreement)), required=False)
    facts = await workflow_facts(session, agreement)
    row = find(action, agreement.status, facts)
    check_scope(principal, row)
    if row.requires is not None:
        refuse(row.requires(facts))
    signed_on: date | None = None
    if isinstance(body, ActivationIn):
        signed_on = body.signed_on or today()
        bounds = date_bounds(await decision_dates(session, agreement_id))
        refuse(not_in_future(signed_on, "/signed_on") + bounds.errors(signed_on, "/signed_on"))
    elif action == "activate":
        signed_on = today()

    async def change() -> None:
        agreement.status = row.target
        if signed_on is not None:
            agreement.signed_on = signed_on

    await write(session, change, if_match=if_match)
    record_action(session, agreement, action, None if body is None else body.note)
    return agreement_out(agreement)
