"""The rules of organizations: duplicates, branches, archiving and references.

Built on the kit (`app.core`): the list is declared once (`LIST`), rows are loaded and locked
with `core.rows`, every write goes through `core.rows.write`, and the audit trail follows by
structure (the model is tracked); this module says only what is particular to organizations.

Concurrency (PostgreSQL; on SQLite writing transactions are serialized whole):
- a change locks the organization (`FOR UPDATE`) before checking `If-Match` and its rules;
- a branch locks its headquarters `FOR SHARE` while it is written, so that the headquarters
  cannot be archived or deleted under it;
- changes of a headquarters (`parent_id`) are serialized by a transaction lock, so that two of
  them cannot each pass the cycle check and together make a cycle;
- the duplicate check is a unique constraint on the normalized name and country.
"""

from __future__ import annotations

import hashlib
import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.csv_export import Export, columns_of
from app.core.db import Database, column_of, hold_transaction_lock
from app.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
    problem_type,
)
from app.core.http import PreparedBody
from app.core.listing import JsonPage, ListSpec, custom, equal_to, in_range, one_of, text_search
from app.core.pagination import SortOptions
from app.core.preconditions import check_if_match, resource_etag
from app.core.references import References
from app.core.rows import Violation, get_for_update, lock_referenced, refusal, write
from app.core.serialization import dump_rows
from app.core.text import normalize
from app.models import Organization
from app.models.organizations import NAME_MAX_LENGTH
from app.organizations.schemas import (
    ArchivedFilter,
    GeographicScope,
    OrganizationCreate,
    OrganizationDetail,
    OrganizationFilters,
    OrganizationOut,
    OrganizationPatch,
    OrganizationSort,
)
from app.registry import codes

NOT_FOUND = "No organization has this id."

DUPLICATE_ORGANIZATION = problem_type(
    "duplicate-organization",
    409,
    "Organization already registered",
    "An organization with the same name (ignoring case and accents) and the same country is "
    "already registered; `existing_id` names it.",
)
ORGANIZATION_REFERENCED = problem_type(
    "organization-referenced",
    409,
    "Organization still referenced",
    "Records refer to this organization, so it cannot be deleted (archive it instead); "
    "`references` counts them by kind.",
)
ORGANIZATION_ARCHIVED = problem_type(
    "organization-archived",
    409,
    "Organization archived",
    "An archived organization takes no new links: restore it first.",
)

# Serializes changes of headquarters across instances (PostgreSQL advisory lock key).
HIERARCHY_LOCK_KEY = 7_310_411_904


def _column(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Organization, name))


# --- The list ----------------------------------------------------------------------------------


def _archived(value: ArchivedFilter) -> ColumnElement[bool] | None:
    if value == "all":
        return None
    return _column("archived").is_(value == "true")


LIST = ListSpec(
    name="organizations",
    # The columns of OrganizationOut and the sort keys, no more: a hot read path selects only
    # what it returns, as rows, without building ORM objects.
    statement=select(
        *(_column(name) for name in OrganizationOut.model_fields), _column("name_key")
    ),
    parameters=OrganizationFilters,
    filters=(
        text_search("q", _column("search_key")),
        one_of("category", _column("category"), carried=True, leads=(_column("name_key"),)),
        one_of("sector", _column("sector")),
        one_of("geographic_scope", _column("geographic_scope")),
        one_of("country", _column("country"), carried=True, leads=(_column("name_key"),)),
        equal_to("parent_id", _column("parent_id")),
        custom("archived", condition=_archived),
        in_range("created_at", _column("created_at")),
        in_range("updated_at", _column("updated_at")),
    ),
    sorts=SortOptions(
        fields={
            "name": _column("name_key"),
            "created_at": _column("created_at"),
            "updated_at": _column("updated_at"),
        },
        tiebreaker=_column("id"),
        default="name",
        list_name="organizations",
    ),
    sort_enum=OrganizationSort,
    item=OrganizationOut,
)
CSV_COLUMNS = columns_of(OrganizationOut)


async def list_organizations(
    database: Database,
    filters: OrganizationFilters,
    *,
    sort: OrganizationSort | None,
    limit: int,
    cursor: str | None,
) -> JsonPage:
    return await LIST.json_page(database, filters, sort=sort, limit=limit, cursor=cursor)


def export(filters: OrganizationFilters, sort: OrganizationSort | None) -> Export:
    """The whole filtered, ordered set, for CSV."""
    return LIST.export(filters, sort, CSV_COLUMNS, "organizations.csv")


# --- References: what points at an organization ------------------------------------------------

REFERENCES = References(ORGANIZATION_REFERENCED, "archive the organization instead.")
# Interactions and agreements register theirs from their own packages.
REFERENCES.register("branches", Organization.parent_id)


# --- Reading -------------------------------------------------------------------------------------


def _detail(organization: Organization, counts: dict[str, int]) -> OrganizationDetail:
    return OrganizationDetail(
        **OrganizationOut.model_validate(organization).model_dump(), reference_counts=counts
    )


def _etag_of(organization_id: uuid.UUID, version: int, counts: dict[str, int]) -> str:
    """Covers what a read shows: the version, and the counts of what refers to it."""
    return resource_etag(organization_id, version, sorted(counts.items()))


def etag(organization: OrganizationDetail) -> str:
    return _etag_of(organization.id, organization.version, organization.reference_counts)


async def _current(session: AsyncSession, organization: Organization) -> OrganizationDetail:
    return _detail(organization, await REFERENCES.counts(session, organization.id))


@lru_cache(maxsize=1)
def _read_statement(referrers: tuple[str, ...]) -> Select[Any]:
    """The list's statement for one organization, with the counts of what refers to it last;
    built once for the referrers registered (all are, once the application's packages are
    imported)."""
    return LIST.statement.add_columns(*REFERENCES.count_columns(_column("id"))).where(
        _column("id") == bindparam("organization_id")
    )


async def get_organization(database: Database, organization_id: uuid.UUID) -> PreparedBody:
    """One statement (the row and the counts of what refers to it, as subqueries), outside any
    transaction, written to JSON as `OrganizationDetail` would be without building one."""
    referrers = tuple(REFERENCES.names)
    rows = await database.read(_read_statement(referrers), {"organization_id": organization_id})
    if not rows:
        raise NotFound(NOT_FOUND)
    row = rows[0]
    counts = REFERENCES.counts_of(row[len(row) - len(referrers) :])
    fields = LIST.item_dict(row)
    body = dump_rows({**fields, "reference_counts": counts})
    return PreparedBody(body, _etag_of(organization_id, fields["version"], counts))


# --- Rules -------------------------------------------------------------------------------------


def _check_combination(values: dict[str, Any]) -> None:
    if values.get("geographic_scope") == GeographicScope.national and not values.get("country"):
        raise ValidationFailed(
            "A national organization needs its country.",
            [FieldError("Required when geographic_scope is national", pointer="/country")],
        )


def keys(name: str, acronym: str | None, country: str | None) -> dict[str, str]:
    """The computed columns: the sort key, the digest the duplicate check compares, the
    searchable text, and the country or ""."""
    normalized = normalize(name)
    return {
        "name_key": normalized[:NAME_MAX_LENGTH],
        "name_digest": hashlib.sha256(normalized.encode("utf-8")).hexdigest(),
        "search_key": normalize(f"{name} {acronym or ''}"),
        "country_key": country or "",
    }


async def _lock_headquarters(
    session: AsyncSession, parent_id: uuid.UUID, organization_id: uuid.UUID | None
) -> None:
    """The headquarters exists and is not archived (locked so until the write commits), and is
    neither the organization nor one of its branches."""
    headquarters = (
        await lock_referenced(
            session,
            Organization,
            [("/parent_id", parent_id)],
            missing="No organization has this id",
        )
    )[parent_id]
    if headquarters.archived:
        raise Conflict(
            "The headquarters is archived: restore it before linking to it.",
            kind=ORGANIZATION_ARCHIVED,
        )
    if organization_id is None:
        return
    ancestor_id: uuid.UUID | None = parent_id
    seen: set[uuid.UUID] = set()
    while ancestor_id is not None and ancestor_id not in seen:
        if ancestor_id == organization_id:
            raise ValidationFailed(
                "An organization cannot be its own headquarters, directly or through branches.",
                [FieldError("Would make a cycle of headquarters", pointer="/parent_id")],
            )
        seen.add(ancestor_id)
        query = select(_column("parent_id")).where(_column("id") == ancestor_id)
        ancestor_id = (await session.execute(query)).scalar_one_or_none()


async def _duplicate_of(
    session: AsyncSession, computed: dict[str, str], organization_id: uuid.UUID
) -> uuid.UUID | None:
    query = select(_column("id")).where(
        _column("name_digest") == computed["name_digest"],
        _column("country_key") == computed["country_key"],
        _column("id") != organization_id,
    )
    return (await session.execute(query)).scalar_one_or_none()


def _duplicate(existing_id: uuid.UUID) -> Conflict:
    return Conflict(
        "This organization is already registered.",
        kind=DUPLICATE_ORGANIZATION,
        existing_id=str(existing_id),
    )


async def _save(
    session: AsyncSession,
    organization: Organization,
    values: dict[str, Any],
    *,
    new: bool,
    if_match: str | None = None,
) -> None:
    """Set `values` (and the computed columns) and write them; a duplicate, concurrent ones
    included, is a 409 naming the existing organization."""
    organization_id = organization.id  # read now: after a failed write the row is expired
    computed = keys(values["name"], values.get("acronym"), values.get("country"))
    existing = await _duplicate_of(session, computed, organization_id)
    if existing is not None:
        raise _duplicate(existing)

    async def change() -> None:
        for name, value in {**values, **computed}.items():
            setattr(organization, name, value)
        if new:
            session.add(organization)

    async def duplicate() -> DomainError:
        # Another request registered it between our check and our write: the constraint decided.
        winner = await _duplicate_of(session, computed, organization_id)
        return _duplicate(winner) if winner is not None else refusal(Violation.unique)

    await write(session, change, if_match=if_match, on={Violation.unique: duplicate})


# --- Writing -------------------------------------------------------------------------------------


async def create_organization(
    session: AsyncSession, data: OrganizationCreate
) -> OrganizationDetail:
    values = data.model_dump()
    _check_combination(values)
    if data.parent_id is not None:
        await _lock_headquarters(session, data.parent_id, None)
    organization = Organization(name=data.name, name_key="", name_digest="", search_key="")
    await _save(session, organization, values, new=True)
    return _detail(organization, REFERENCES.none())


async def update_organization(
    session: AsyncSession,
    organization_id: uuid.UUID,
    patch: OrganizationPatch,
    *,
    if_match: str | None,
) -> OrganizationDetail:
    given = patch.model_dump(include=patch.model_fields_set)
    if given.get("parent_id") is not None:
        await hold_transaction_lock(session, HIERARCHY_LOCK_KEY)
    if "category" in given:  # its agreements' codes follow, locked before it (registry.codes)
        await codes.lock_agreements_of(session, organization_id)
    organization = await get_for_update(session, Organization, organization_id, detail=NOT_FOUND)
    current = await _current(session, organization)
    check_if_match(if_match, etag(current), required=True)
    before = OrganizationOut.model_validate(organization).model_dump()
    after = {**before, **given}
    _check_combination(after)
    if given.get("parent_id") is not None and given["parent_id"] != before["parent_id"]:
        await _lock_headquarters(session, given["parent_id"], organization_id)
    if all(before[name] == value for name, value in given.items()):
        return current
    values = {name: after[name] for name in OrganizationPatch.model_fields}
    await _save(session, organization, values, new=False, if_match=if_match)
    return _detail(organization, current.reference_counts)


async def delete_organization(
    session: AsyncSession, organization_id: uuid.UUID, *, if_match: str | None
) -> None:
    organization = await get_for_update(session, Organization, organization_id, detail=NOT_FOUND)
    current = await _current(session, organization)
    check_if_match(if_match, etag(current), required=True)
    refused = REFERENCES.refusal(current.reference_counts)
    if refused is not None:
        raise refused

    async def change() -> None:
        await session.delete(organization)

    async def still_referenced() -> DomainError:
        # A reference committed after we counted (another resource's write that did not lock).
        try:
            await REFERENCES.refuse_if_any(session, organization_id)
        except Conflict as conflict:
            return conflict
        return Conflict(
            "Still referenced: archive the organization instead.", kind=ORGANIZATION_REFERENCED
        )

    await write(session, change, if_match=if_match, on={Violation.foreign_key: still_referenced})
