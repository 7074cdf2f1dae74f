"""The rules of organizations: duplicates, branches, archiving, references, and every change
written to the audit trail in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.auth.scopes import Principal
from app.core.db import column_of, utcnow
from app.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
    problem_type,
)
from app.core.pagination import Ordering, Page, SortOptions
from app.core.preconditions import check_if_match, lost_race, resource_etag
from app.core.text import like_pattern, normalize
from app.models import Organization
from app.organizations.schemas import (
    GeographicScope,
    OrganizationCreate,
    OrganizationDetail,
    OrganizationFilters,
    OrganizationOut,
    OrganizationPatch,
    OrganizationSort,
)

RESOURCE_TYPE = "organization"

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

# The fields a client sets (and the audit trail follows).
FIELDS = (
    "name",
    "acronym",
    "category",
    "sector",
    "geographic_scope",
    "country",
    "website",
    "description",
    "parent_id",
    "archived",
)

SORTS = SortOptions(
    fields={
        "name": column_of(Organization.name_key),
        "created_at": column_of(Organization.created_at),
        "updated_at": column_of(Organization.updated_at),
    },
    tiebreaker=column_of(Organization.id),
    default="name",
)


# --- References: what points at an organization -------------------------------------------


@dataclass(frozen=True)
class Referrer:
    """A kind of record that refers to organizations, and how to count those of one."""

    name: str
    count: Callable[[AsyncSession, uuid.UUID], Awaitable[int]]


async def _count_branches(session: AsyncSession, organization_id: uuid.UUID) -> int:
    query = select(func.count()).where(column_of(Organization.parent_id) == organization_id)
    return int((await session.execute(query)).scalar_one())


REFERRERS: list[Referrer] = [Referrer("branches", _count_branches)]


def register_referrer(referrer: Referrer) -> None:
    """Called by each resource that refers to organizations (interactions, agreements...)."""
    if any(existing.name == referrer.name for existing in REFERRERS):
        raise ValueError(f"a referrer named {referrer.name!r} is registered already")
    REFERRERS.append(referrer)


async def reference_counts(session: AsyncSession, organization_id: uuid.UUID) -> dict[str, int]:
    return {referrer.name: await referrer.count(session, organization_id) for referrer in REFERRERS}


# --- Reading ---------------------------------------------------------------------------------


# What lists read: the columns of OrganizationOut and the sort keys, no more (a hot read path
# selects only what it returns, without building ORM objects).
LISTED_COLUMNS = (
    *(column_of(getattr(Organization, name)) for name in OrganizationOut.model_fields),
    column_of(Organization.name_key),
)


def filtered(filters: OrganizationFilters) -> Select[Any]:
    """The organizations matching `filters` (the listed columns), unordered."""
    stmt = select(*LISTED_COLUMNS)
    if filters.q and normalize(filters.q):
        stmt = stmt.where(
            column_of(Organization.search_key).like(like_pattern(filters.q), escape="\\")
        )
    if filters.category:
        stmt = stmt.where(column_of(Organization.category).in_([c.value for c in filters.category]))
    if filters.sector:
        stmt = stmt.where(column_of(Organization.sector).in_([s.value for s in filters.sector]))
    if filters.geographic_scope:
        scopes = [scope.value for scope in filters.geographic_scope]
        stmt = stmt.where(column_of(Organization.geographic_scope).in_(scopes))
    if filters.country:
        countries = [country.value for country in filters.country]
        stmt = stmt.where(column_of(Organization.country).in_(countries))
    if filters.parent_id is not None:
        stmt = stmt.where(column_of(Organization.parent_id) == filters.parent_id)
    if filters.archived != "all":
        stmt = stmt.where(column_of(Organization.archived).is_(filters.archived == "true"))
    ranges = (
        (Organization.created_at, filters.created_at_from, filters.created_at_to),
        (Organization.updated_at, filters.updated_at_from, filters.updated_at_to),
    )
    for attribute, start, end in ranges:
        column = column_of(attribute)
        if start is not None:
            stmt = stmt.where(column >= start)
        if end is not None:
            stmt = stmt.where(column <= end)
    return stmt


def ordering(sort: OrganizationSort | None) -> Ordering:
    return SORTS.parse(sort.value if sort else None)


async def list_organizations(
    session: AsyncSession,
    filters: OrganizationFilters,
    *,
    sort: OrganizationSort | None,
    limit: int,
    cursor: str | None,
) -> Page[OrganizationOut]:
    order = ordering(sort)
    rows = (await session.execute(order.page(filtered(filters), limit, cursor))).all()
    items, next_cursor = order.split(rows, limit)
    return Page[OrganizationOut](
        items=[OrganizationOut.model_validate(row) for row in items], next_cursor=next_cursor
    )


def export_statement(filters: OrganizationFilters, sort: OrganizationSort | None) -> Select[Any]:
    """The whole filtered, ordered set, for CSV."""
    return ordering(sort).order(filtered(filters))


async def _load(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("No organization has this id.")
    return organization


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> OrganizationDetail:
    organization = await _load(session, organization_id)
    return OrganizationDetail(
        **OrganizationOut.model_validate(organization).model_dump(),
        reference_counts=await reference_counts(session, organization_id),
    )


def etag(organization: OrganizationOut) -> str:
    return resource_etag(organization.id, organization.version)


# --- Writing ---------------------------------------------------------------------------------


async def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    organization_id: uuid.UUID,
    changes: dict[str, dict[str, Any]],
) -> None:
    await audit.record(
        session,
        principal,
        action=action,
        resource_type=RESOURCE_TYPE,
        resource_id=organization_id,
        changes=changes,
    )


def _snapshot(organization: Organization) -> dict[str, Any]:
    return {field: getattr(organization, field) for field in FIELDS}


def _check_combination(values: dict[str, Any]) -> None:
    if values.get("geographic_scope") == GeographicScope.national and not values.get("country"):
        raise ValidationFailed(
            "A national organization needs its country.",
            [FieldError("Required when geographic_scope is national", pointer="/country")],
        )


def _keys(values: dict[str, Any]) -> dict[str, str]:
    """The computed columns: the name as compared, the searchable text, the country or ""."""
    return {
        "name_key": normalize(values["name"]),
        "search_key": normalize(f"{values['name']} {values.get('acronym') or ''}")[:400],
        "country_key": values.get("country") or "",
    }


async def _check_parent(
    session: AsyncSession, parent_id: uuid.UUID, organization_id: uuid.UUID | None
) -> None:
    """The headquarters exists, is not archived, and is not the organization or a branch of it."""
    parent = await session.get(Organization, parent_id)
    if parent is None:
        raise ValidationFailed(
            "The headquarters does not exist.",
            [FieldError("No organization has this id", pointer="/parent_id")],
        )
    if parent.archived:
        raise Conflict(
            "The headquarters is archived: restore it before linking to it.",
            kind=ORGANIZATION_ARCHIVED,
        )
    ancestor: Organization | None = parent
    seen: set[uuid.UUID] = set()
    while ancestor is not None and ancestor.id not in seen:
        if ancestor.id == organization_id:
            raise ValidationFailed(
                "An organization cannot be its own headquarters, directly or through branches.",
                [FieldError("Would make a cycle of headquarters", pointer="/parent_id")],
            )
        seen.add(ancestor.id)
        ancestor = (
            await session.get(Organization, ancestor.parent_id) if ancestor.parent_id else None
        )


async def _existing_duplicate(
    session: AsyncSession, keys: dict[str, str], organization_id: uuid.UUID | None
) -> uuid.UUID | None:
    query = select(column_of(Organization.id)).where(
        column_of(Organization.name_key) == keys["name_key"],
        column_of(Organization.country_key) == keys["country_key"],
    )
    if organization_id is not None:
        query = query.where(column_of(Organization.id) != organization_id)
    return (await session.execute(query)).scalar_one_or_none()


def _duplicate(existing_id: uuid.UUID) -> Conflict:
    return Conflict(
        "This organization is already registered.",
        kind=DUPLICATE_ORGANIZATION,
        existing_id=str(existing_id),
    )


async def _write(
    session: AsyncSession, organization: Organization, values: dict[str, Any], *, new: bool
) -> None:
    """Set `values` on the organization and write it; a duplicate (concurrent ones included)
    is a 409 naming the existing organization.

    The write happens in a savepoint, with the values set inside it, so that a failed write
    leaves the request's transaction usable to look up the winner."""
    keys = _keys(values)
    existing = await _existing_duplicate(session, keys, None if new else organization.id)
    if existing is not None:
        raise _duplicate(existing)
    try:
        async with session.begin_nested():
            for field, value in {**values, **keys}.items():
                setattr(organization, field, value)
            if new:
                session.add(organization)
            await session.flush()
    except IntegrityError as exc:
        # Another request registered it between our check and our write: the unique
        # constraint decided. Name the winner.
        existing = await _existing_duplicate(session, keys, None if new else organization.id)
        if existing is None:
            raise
        raise _duplicate(existing) from exc


async def create_organization(
    session: AsyncSession, principal: Principal, data: OrganizationCreate
) -> OrganizationOut:
    values = data.model_dump()
    _check_combination(values)
    if data.parent_id is not None:
        await _check_parent(session, data.parent_id, None)
    organization = Organization(name=data.name, name_key="", search_key="")
    await _write(session, organization, values, new=True)
    created = audit.changes_between(None, _snapshot(organization))
    await _audit(session, principal, "create", organization.id, created)
    return OrganizationOut.model_validate(organization)


async def update_organization(
    session: AsyncSession,
    principal: Principal,
    organization_id: uuid.UUID,
    patch: OrganizationPatch,
    *,
    if_match: str | None,
) -> OrganizationOut:
    organization = await _load(session, organization_id)
    check_if_match(if_match, resource_etag(organization.id, organization.version), required=True)
    before = _snapshot(organization)
    given = patch.model_dump(include=patch.model_fields_set)
    for required in ("name", "archived"):
        if required in given and given[required] is None:
            raise ValidationFailed(
                f"{required} cannot be cleared.",
                [FieldError("May not be null", pointer=f"/{required}")],
            )
    after = {**before, **given}
    _check_combination(after)
    if given.get("parent_id") is not None and given["parent_id"] != before["parent_id"]:
        await _check_parent(session, given["parent_id"], organization.id)
    changes = audit.changes_between(before, after)
    if not changes:
        return OrganizationOut.model_validate(organization)
    try:
        await _write(session, organization, {**after, "updated_at": utcnow()}, new=False)
    except StaleDataError as exc:
        raise lost_race(if_match) from exc
    await _audit(session, principal, "update", organization.id, changes)
    return OrganizationOut.model_validate(organization)


async def _refuse_if_referenced(session: AsyncSession, organization_id: uuid.UUID) -> None:
    counts = {
        name: count
        for name, count in (await reference_counts(session, organization_id)).items()
        if count
    }
    if counts:
        described = ", ".join(f"{count} {name}" for name, count in counts.items())
        raise Conflict(
            f"Still referenced by {described}: archive the organization instead.",
            kind=ORGANIZATION_REFERENCED,
            references=counts,
        )


async def delete_organization(
    session: AsyncSession,
    principal: Principal,
    organization_id: uuid.UUID,
    *,
    if_match: str | None,
) -> None:
    organization = await _load(session, organization_id)
    check_if_match(if_match, resource_etag(organization.id, organization.version), required=True)
    await _refuse_if_referenced(session, organization_id)
    before = _snapshot(organization)
    await session.delete(organization)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        # A reference appeared after we counted (a branch created meanwhile, say).
        await _refuse_if_referenced(session, organization_id)
        raise Conflict(
            "Still referenced: archive the organization instead.", kind=ORGANIZATION_REFERENCED
        ) from exc
    except StaleDataError as exc:
        raise lost_race(if_match) from exc
    await _audit(session, principal, "delete", organization_id, audit.changes_between(before, None))
