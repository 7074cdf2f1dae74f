"""The public register (design §5): approved agreements, public interactions, and the public
profiles of the organizations in them, read by anyone.

What is public is decided here, in the statements, never by hiding fields afterwards:
- an agreement is public once approved (`PublicStatus`: approved, active, suspended, ended,
  terminated); drafts, submissions, rejections and withdrawals never are;
- an interaction is public when the Secretariat made it so (`visibility = public`);
- an organization has a public profile only while it is a partner of a public agreement or
  took part in a public interaction.
Anything else is the same 404 as an id that does not exist (`NOT_PUBLIC`).

Each item is written from an allowlist of columns (`public/schemas.py` names the fields), with
its partners (id, name, acronym, category, country) and, for an agreement, its decisions as they
stand (a corrected decision is shown as its correction says). A page is three statements: the
page itself, the organizations it names, and (for agreements) their decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, or_, select

from app.agreements import service as agreements
from app.agreements.workflow import in_force
from app.core.csv_export import CsvColumn, Export, ReadRows
from app.core.db import Database, column_of
from app.core.errors import NotFound
from app.core.http import PreparedBody, body_etag
from app.core.listing import ListSpec, custom, in_range, one_of, text_search
from app.core.pagination import SortOptions
from app.core.serialization import dump_rows
from app.interactions import service as interactions
from app.models import Agreement, Decision, Interaction, Organization
from app.public.schemas import (
    PROFILE_ITEMS,
    PublicAgreementFilters,
    PublicAgreementSort,
    PublicInteractionFilters,
    PublicInteractionSort,
    PublicStatus,
)
from app.registry.links import linked_to

NOT_PUBLIC = "Nothing in the public register has this id."

PUBLIC_STATUSES = tuple(status.value for status in PublicStatus)
PARTNERS: Table = agreements.PARTNERS
AGREEMENT_OBJECTIVES: Table = agreements.OBJECTIVES
PARTICIPANTS: Table = interactions.ORGANIZATIONS
INTERACTION_OBJECTIVES: Table = interactions.OBJECTIVES


def _agreement(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Agreement, name))


def _interaction(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Interaction, name))


def _organization(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Organization, name))


def _decision(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Decision, name))


def _with_organization(owner_id: ColumnElement[Any], links: Table, owner: str, column: str) -> Any:
    """A filter: records linked (through `links`) to an organization whose `column` holds any
    of the values given."""

    def condition(values: Sequence[Any]) -> ColumnElement[bool] | None:
        if not values:
            return None
        linked = (
            select(links.c[owner])
            .join(Organization, _organization("id") == links.c.organization_id)
            .where(_organization(column).in_([str(value) for value in values]))
        )
        return owner_id.in_(linked)

    return condition


def _approved_in(years: Sequence[int]) -> ColumnElement[bool] | None:
    if not years:
        return None
    approved_on = _agreement("approved_on")
    return or_(
        *(
            and_(approved_on >= date(year, 1, 1), approved_on <= date(year, 12, 31))
            for year in sorted(set(years))
        )
    )


# --- Agreements ----------------------------------------------------------------------------------

_AGREEMENT_COLUMNS = (
    "id",
    "title",
    "public_summary",
    "level",
    "instrument",
    "partner_ids",
    "strategic_objectives",
    "start_date",
    "end_date",
    "signed_on",
    "financing_amount",
    "financing_currency",
    "financing_direction",
    "status",
    "approved_on",
    "title_key",
)

AGREEMENTS = ListSpec(
    name="public_agreements",
    statement=select(*(_agreement(name) for name in _AGREEMENT_COLUMNS)).where(
        _agreement("status").in_(PUBLIC_STATUSES)
    ),
    parameters=PublicAgreementFilters,
    filters=(
        text_search("q", _agreement("search_key")),
        custom(
            "strategic_objective",
            condition=linked_to(
                _agreement("id"), AGREEMENT_OBJECTIVES, "agreement_id", "objective_code"
            ),
        ),
        one_of("level", _agreement("level")),
        one_of("instrument", _agreement("instrument")),
        custom(
            "partner_category",
            condition=_with_organization(_agreement("id"), PARTNERS, "agreement_id", "category"),
        ),
        custom(
            "country",
            condition=_with_organization(_agreement("id"), PARTNERS, "agreement_id", "country"),
        ),
        custom(
            "partner_id",
            condition=linked_to(_agreement("id"), PARTNERS, "agreement_id", "organization_id"),
        ),
        one_of("status", _agreement("status")),
        custom("approval_year", condition=_approved_in),
    ),
    sorts=SortOptions(
        fields={
            "title": _agreement("title_key"),
            "approved_on": _agreement("approved_on"),
            "start_date": _agreement("start_date"),
        },
        tiebreaker=_agreement("id"),
        default="title",
        list_name="public_agreements",
    ),
    sort_enum=PublicAgreementSort,
)

_ORGANIZATIONS = select(
    *(_organization(name) for name in ("id", "name", "acronym", "category", "country"))
).where(_organization("id").in_(bindparam("ids", expanding=True)))

_DECISIONS = (
    select(
        *(
            _decision(name)
            for name in (
                "agreement_id",
                "id",
                "supersedes_id",
                "governing_body",
                "outcome",
                "decided_on",
                "meeting_reference",
            )
        )
    )
    .where(_decision("agreement_id").in_(bindparam("ids", expanding=True)))
    .order_by(_decision("created_at"), _decision("id"))
)


def _organization_ref(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "acronym": row.acronym,
        "category": row.category,
        "country": row.country,
    }


async def _organizations(read: ReadRows, ids: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The organizations named, by their id as text."""
    wanted = sorted({str(value) for value in ids})
    if not wanted:
        return {}
    rows = await read(_ORGANIZATIONS, {"ids": [uuid.UUID(value) for value in wanted]})
    return {str(row.id): _organization_ref(row) for row in rows}


async def _decisions(read: ReadRows, ids: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    """The decisions in force of each agreement, in the order they were taken."""
    if not ids:
        return {}
    recorded: dict[str, list[Any]] = {}
    for row in await read(_DECISIONS, {"ids": list(ids)}):
        recorded.setdefault(str(row.agreement_id), []).append(row)
    return {
        agreement_id: [
            {
                "governing_body": row.governing_body,
                "outcome": row.outcome,
                "decided_on": row.decided_on,
                "meeting_reference": row.meeting_reference,
            }
            for row in in_force(rows)
        ]
        for agreement_id, rows in recorded.items()
    }


def _financing(row: Any) -> dict[str, Any] | None:
    if row.financing_amount is None:
        return None
    return {
        "amount": row.financing_amount,
        "currency": row.financing_currency,
        "direction": row.financing_direction,
    }


async def agreement_items(read: ReadRows, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Public agreements from their rows: each as `PublicAgreement` writes it."""
    partners = await _organizations(read, (item for row in rows for item in row.partner_ids))
    decisions = await _decisions(read, [row.id for row in rows])
    return [
        {
            "id": row.id,
            "title": row.title,
            "public_summary": row.public_summary,
            "level": row.level,
            "instrument": row.instrument,
            "partners": [partners[str(item)] for item in row.partner_ids if str(item) in partners],
            "strategic_objectives": list(row.strategic_objectives),
            "start_date": row.start_date,
            "end_date": row.end_date,
            "signed_on": row.signed_on,
            "financing": _financing(row),
            "status": row.status,
            "decisions": decisions.get(str(row.id), []),
        }
        for row in rows
    ]


@dataclass(frozen=True)
class Items:
    """A page of public items, not yet written, and the cursor of the next page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def prepared(content: Mapping[str, Any], next_cursor: str | None = None) -> PreparedBody:
    body = dump_rows(content)
    return PreparedBody(body, body_etag(body), next_cursor)


async def _agreements_page(
    database: Database,
    filters: PublicAgreementFilters,
    *,
    sort: str | None,
    limit: int,
    cursor: str | None,
) -> Items:
    order = AGREEMENTS.ordering(sort)
    statement, bound = AGREEMENTS.page_statement(filters, order, limit, cursor)
    rows, next_cursor = order.split(await database.read(statement, bound), limit)
    return Items(await agreement_items(database.read, rows), next_cursor)


async def list_agreements(
    database: Database,
    filters: PublicAgreementFilters,
    *,
    sort: PublicAgreementSort | None,
    limit: int,
    cursor: str | None,
) -> PreparedBody:
    page = await _agreements_page(database, filters, sort=sort, limit=limit, cursor=cursor)
    return prepared({"items": page.items, "next_cursor": page.next_cursor}, page.next_cursor)


_ONE_AGREEMENT = AGREEMENTS.statement.where(_agreement("id") == bindparam("agreement_id"))


async def get_agreement(database: Database, agreement_id: uuid.UUID) -> PreparedBody:
    """One public agreement; anything else is the 404 of an id that does not exist."""
    rows = await database.read(_ONE_AGREEMENT, {"agreement_id": agreement_id})
    if not rows:
        raise NotFound(NOT_PUBLIC)
    (agreement,) = await agreement_items(database.read, rows)
    return prepared(agreement)


def _partner_cells(row: Mapping[str, Any], field: str) -> list[Any]:
    return [partner[field] for partner in row["partners"]]


def _decision_cell(row: Mapping[str, Any]) -> list[str]:
    return [
        f"{item['decided_on'].isoformat()} {item['governing_body']} {item['outcome']} "
        f"({item['meeting_reference']})"
        for item in row["decisions"]
    ]


def _cell(name: str) -> CsvColumn:
    return CsvColumn(name, lambda row: row[name])


def _financing_cell(name: str) -> CsvColumn:
    def value(row: Mapping[str, Any]) -> Any:
        return None if row["financing"] is None else row["financing"][name]

    return CsvColumn(f"financing_{name}", value)


AGREEMENT_CSV_COLUMNS = [
    _cell("id"),
    _cell("title"),
    _cell("public_summary"),
    _cell("level"),
    _cell("instrument"),
    _cell("status"),
    CsvColumn("partners", lambda row: _partner_cells(row, "name")),
    CsvColumn("partner_ids", lambda row: _partner_cells(row, "id")),
    CsvColumn("partner_categories", lambda row: _partner_cells(row, "category")),
    CsvColumn("partner_countries", lambda row: _partner_cells(row, "country")),
    _cell("strategic_objectives"),
    _cell("start_date"),
    _cell("end_date"),
    _cell("signed_on"),
    _financing_cell("amount"),
    _financing_cell("currency"),
    _financing_cell("direction"),
    CsvColumn("decisions", _decision_cell),
]


def export_agreements(
    filters: PublicAgreementFilters, sort: PublicAgreementSort | None, *, max_age: int
) -> Export:
    """Every public agreement the filters keep, for CSV: one line each, lists as `a; b`."""
    return Export(
        AGREEMENTS.where(filters),
        AGREEMENTS.ordering(sort),
        AGREEMENT_CSV_COLUMNS,
        "public-agreements.csv",
        expand=agreement_items,
        cache_control=f"public, max-age={max_age}",
    )


# --- Interactions --------------------------------------------------------------------------------

_INTERACTION_COLUMNS = (
    "id",
    "occurred_on",
    "channel",
    "subject",
    "organization_ids",
    "strategic_objectives",
    "subject_key",
)

INTERACTIONS = ListSpec(
    name="public_interactions",
    statement=select(*(_interaction(name) for name in _INTERACTION_COLUMNS)).where(
        _interaction("visibility") == "public"
    ),
    parameters=PublicInteractionFilters,
    filters=(
        text_search("q", _interaction("search_key")),
        one_of("channel", _interaction("channel")),
        in_range("occurred_on", _interaction("occurred_on")),
        custom(
            "strategic_objective",
            condition=linked_to(
                _interaction("id"), INTERACTION_OBJECTIVES, "interaction_id", "objective_code"
            ),
        ),
        custom(
            "organization_id",
            condition=linked_to(
                _interaction("id"), PARTICIPANTS, "interaction_id", "organization_id"
            ),
        ),
        custom(
            "organization_category",
            condition=_with_organization(
                _interaction("id"), PARTICIPANTS, "interaction_id", "category"
            ),
        ),
        custom(
            "country",
            condition=_with_organization(
                _interaction("id"), PARTICIPANTS, "interaction_id", "country"
            ),
        ),
    ),
    sorts=SortOptions(
        fields={"occurred_on": _interaction("occurred_on"), "subject": _interaction("subject_key")},
        tiebreaker=_interaction("id"),
        default="-occurred_on",
        list_name="public_interactions",
    ),
    sort_enum=PublicInteractionSort,
)


async def interaction_items(read: ReadRows, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Public interactions from their rows: each as `PublicInteraction` writes it."""
    named = await _organizations(read, (item for row in rows for item in row.organization_ids))
    return [
        {
            "id": row.id,
            "occurred_on": row.occurred_on,
            "channel": row.channel,
            "subject": row.subject,
            "organizations": [
                named[str(item)] for item in row.organization_ids if str(item) in named
            ],
            "strategic_objectives": list(row.strategic_objectives),
        }
        for row in rows
    ]


async def _interactions_page(
    database: Database,
    filters: PublicInteractionFilters,
    *,
    sort: str | None,
    limit: int,
    cursor: str | None,
) -> Items:
    order = INTERACTIONS.ordering(sort)
    statement, bound = INTERACTIONS.page_statement(filters, order, limit, cursor)
    rows, next_cursor = order.split(await database.read(statement, bound), limit)
    return Items(await interaction_items(database.read, rows), next_cursor)


async def list_interactions(
    database: Database,
    filters: PublicInteractionFilters,
    *,
    sort: PublicInteractionSort | None,
    limit: int,
    cursor: str | None,
) -> PreparedBody:
    page = await _interactions_page(database, filters, sort=sort, limit=limit, cursor=cursor)
    return prepared({"items": page.items, "next_cursor": page.next_cursor}, page.next_cursor)


_ONE_INTERACTION = INTERACTIONS.statement.where(_interaction("id") == bindparam("interaction_id"))


async def get_interaction(database: Database, interaction_id: uuid.UUID) -> PreparedBody:
    rows = await database.read(_ONE_INTERACTION, {"interaction_id": interaction_id})
    if not rows:
        raise NotFound(NOT_PUBLIC)
    (interaction,) = await interaction_items(database.read, rows)
    return prepared(interaction)


INTERACTION_CSV_COLUMNS = [
    _cell("id"),
    _cell("occurred_on"),
    _cell("channel"),
    _cell("subject"),
    CsvColumn("organizations", lambda row: _partner_cells_of(row, "name")),
    CsvColumn("organization_ids", lambda row: _partner_cells_of(row, "id")),
    CsvColumn("organization_categories", lambda row: _partner_cells_of(row, "category")),
    CsvColumn("organization_countries", lambda row: _partner_cells_of(row, "country")),
    _cell("strategic_objectives"),
]


def _partner_cells_of(row: Mapping[str, Any], field: str) -> list[Any]:
    return [organization[field] for organization in row["organizations"]]


def export_interactions(
    filters: PublicInteractionFilters, sort: PublicInteractionSort | None, *, max_age: int
) -> Export:
    """Every public interaction the filters keep, for CSV: one line each, lists as `a; b`."""
    return Export(
        INTERACTIONS.where(filters),
        INTERACTIONS.ordering(sort),
        INTERACTION_CSV_COLUMNS,
        "public-interactions.csv",
        expand=interaction_items,
        cache_control=f"public, max-age={max_age}",
    )


# --- Organizations -------------------------------------------------------------------------------

_PROFILE = select(
    *(
        _organization(name)
        for name in (
            "id",
            "name",
            "acronym",
            "category",
            "sector",
            "geographic_scope",
            "country",
            "website",
        )
    ),
    select(func.count())
    .select_from(PARTNERS.join(Agreement, _agreement("id") == PARTNERS.c.agreement_id))
    .where(
        PARTNERS.c.organization_id == _organization("id"),
        _agreement("status").in_(PUBLIC_STATUSES),
    )
    .scalar_subquery()
    .label("agreement_count"),
    select(func.count())
    .select_from(
        PARTICIPANTS.join(Interaction, _interaction("id") == PARTICIPANTS.c.interaction_id)
    )
    .where(
        PARTICIPANTS.c.organization_id == _organization("id"),
        _interaction("visibility") == "public",
    )
    .scalar_subquery()
    .label("interaction_count"),
).where(_organization("id") == bindparam("organization_id"))


async def get_organization(database: Database, organization_id: uuid.UUID) -> PreparedBody:
    """An organization's public profile, when it is in the public register at all."""
    rows = await database.read(_PROFILE, {"organization_id": organization_id})
    if not rows or not (rows[0].agreement_count or rows[0].interaction_count):
        raise NotFound(NOT_PUBLIC)
    row = rows[0]
    latest_agreements = await _agreements_page(
        database,
        PublicAgreementFilters(partner_id=[organization_id]),
        sort=PublicAgreementSort.approved_on_descending,
        limit=PROFILE_ITEMS,
        cursor=None,
    )
    latest_interactions = await _interactions_page(
        database,
        PublicInteractionFilters(organization_id=[organization_id]),
        sort=PublicInteractionSort.occurred_on_descending,
        limit=PROFILE_ITEMS,
        cursor=None,
    )
    return prepared(
        {
            "id": row.id,
            "name": row.name,
            "acronym": row.acronym,
            "category": row.category,
            "sector": row.sector,
            "geographic_scope": row.geographic_scope,
            "country": row.country,
            "website": row.website,
            "agreement_count": row.agreement_count,
            "agreements": latest_agreements.items,
            "interaction_count": row.interaction_count,
            "interactions": latest_interactions.items,
        }
    )
