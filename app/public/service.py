"""The public register (design §5): approved agreements, public interactions, and the public
profiles of the organizations in them, read by anyone.

What is public is decided in the statements, never by hiding fields afterwards:
- an agreement is public once approved (`models.agreements.PUBLIC_STATUSES`: approved, active,
  suspended, ended, terminated); drafts, submissions, rejections and withdrawals never are;
- an interaction is public when the Secretariat made it so (`visibility = public`);
- an organization has a public profile only while it is a partner of a public agreement or
  took part in a public interaction.
Anything else is the same 404 as an id that does not exist (`NOT_PUBLIC`).

Each item is written from an allowlist of columns (`public/schemas.py` names the fields), with
its partners (id, name, acronym, category, country) and, for an agreement, its decisions as they
stand. The public agreements are read from the register's own rows, their answers written in
the transaction of each change (`public/register.py`); a page of them is one index range and its
rows. So are the public interactions. Both bring the data's version (`core/kept.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
)

from app.agreements import service as agreements
from app.core.csv_export import CsvColumn, Export
from app.core.db import Database, Reader, column_of
from app.core.errors import NotFound
from app.core.http import PreparedBody, body_etag
from app.core.listing import ListSpec, custom, holds_any, in_range, one_of, text_search
from app.core.pagination import SortOptions
from app.core.serialization import dump_rows
from app.interactions import service as interactions
from app.models import AuditEvent, Organization

# The register's own rows, which this service reads, and their writer: importing it registers
# the writer (a reader of every transaction's changes) in each process that serves the register.
from app.public import register
from app.public.schemas import (
    PROFILE_ITEMS,
    PublicAgreementFilters,
    PublicAgreementSort,
    PublicInteractionFilters,
    PublicInteractionSort,
)
from app.registry.links import linked_to

NOT_PUBLIC = "Nothing in the public register has this id."

PARTNERS: Table = agreements.PARTNERS
AGREEMENT_ROWS: Table = register.AGREEMENTS.table
INTERACTION_ROWS: Table = register.INTERACTIONS.table
PARTICIPANTS: Table = interactions.ORGANIZATIONS


def _listed(name: str) -> ColumnElement[Any]:
    """A column of the register's own rows of public agreements."""
    return AGREEMENT_ROWS.c[name]


def _organization(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Organization, name))


def _approved_in(years: Sequence[int]) -> ColumnElement[bool] | None:
    if not years:
        return None
    approved_on = _listed("approved_on")
    return or_(
        *(
            and_(approved_on >= date(year, 1, 1), approved_on <= date(year, 12, 31))
            for year in sorted(set(years))
        )
    )


# --- Agreements ----------------------------------------------------------------------------------

# The data's version as of the statement's own snapshot (`core.kept`): the answer made from the
# rows is kept under it.
DATA_VERSION = select(func.max(column_of(AuditEvent.id))).scalar_subquery().label("data_version")

# The register's own rows (`public/register.py`): each agreement's answer is written already.
AGREEMENTS = ListSpec(
    name="public_agreements",
    statement=select(
        *(_listed(name) for name in ("id", "item", "title_key", "approved_on", "start_date")),
        DATA_VERSION,
    ),
    parameters=PublicAgreementFilters,
    filters=(
        text_search("q", _listed("search_key")),
        holds_any("strategic_objective", _listed("objectives")),
        one_of("level", _listed("level")),
        one_of("instrument", _listed("instrument")),
        holds_any("partner_category", _listed("categories")),
        holds_any("country", _listed("countries")),
        linked_to("partner_id", _listed("id"), PARTNERS, "agreement_id", "organization_id"),
        one_of("status", _listed("status")),
        custom("approval_year", condition=_approved_in),
    ),
    sorts=SortOptions(
        fields={
            "title": _listed("title_key"),
            "approved_on": _listed("approved_on"),
            "start_date": _listed("start_date"),
        },
        tiebreaker=_listed("id"),
        default="title",
        list_name="public_agreements",
    ),
    sort_enum=PublicAgreementSort,
)


def agreement_item(row: Any) -> orjson.Fragment:
    """A public agreement from its row, for a JSON answer: as the register wrote it."""
    return orjson.Fragment(row.item)


def agreement_record(row: Any) -> dict[str, Any]:
    """A public agreement from its row, read (a CSV line's cells)."""
    return dict(orjson.loads(row.item))


@dataclass(frozen=True)
class Items:
    """A page of public items, not yet written, the cursor of the next page, and the data's
    version its statement saw (None when it found nothing: no row carried it)."""

    items: list[Any]
    next_cursor: str | None
    version: int | None


@dataclass(frozen=True)
class Published:
    """A public answer, written, and the data's version it was read at (None: not to be kept)."""

    body: PreparedBody
    version: int | None


def _version(rows: Sequence[Any]) -> int | None:
    return int(rows[0].data_version or 0) if rows else None


def prepared(
    content: Any, next_cursor: str | None = None, *, version: int | None = None
) -> Published:
    body = dump_rows(content)
    return Published(PreparedBody(body, body_etag(body), next_cursor), version)


async def _page(
    database: Reader,
    spec: ListSpec,
    item_of: Callable[[Any], Any],
    filters: BaseModel,
    *,
    sort: str | None,
    limit: int,
    cursor: str | None,
) -> Items:
    """A page of `spec`'s public items: its statements' rows (`ListSpec.read_page`), made items
    by `item_of`."""
    order = spec.ordering(sort)
    found = await spec.read_page(database.read, filters, order, limit, cursor)
    rows, next_cursor = order.split(found, limit)
    return Items([item_of(row) for row in rows], next_cursor, _version(found))


def _published(page: Items) -> Published:
    content = {"items": page.items, "next_cursor": page.next_cursor}
    return prepared(content, page.next_cursor, version=page.version)


async def _one(
    database: Database,
    statement: Select[Any],
    item_id: uuid.UUID,
    item_of: Callable[[Any], Any],
) -> Published:
    """One public item; anything else is the 404 of an id that does not exist."""
    rows = await database.read(statement, {"item_id": item_id})
    if not rows:
        raise NotFound(NOT_PUBLIC)
    return prepared(item_of(rows[0]), version=_version(rows))


async def list_agreements(
    database: Database,
    filters: PublicAgreementFilters,
    *,
    sort: PublicAgreementSort | None,
    limit: int,
    cursor: str | None,
) -> Published:
    page = await _page(
        database, AGREEMENTS, agreement_item, filters, sort=sort, limit=limit, cursor=cursor
    )
    return _published(page)


_ONE_AGREEMENT = AGREEMENTS.statement.where(_listed("id") == bindparam("item_id"))


async def get_agreement(database: Database, agreement_id: uuid.UUID) -> Published:
    """One public agreement; anything else is the 404 of an id that does not exist."""
    return await _one(database, _ONE_AGREEMENT, agreement_id, agreement_item)


def _partner_cells(row: Mapping[str, Any], field: str) -> list[Any]:
    return [partner[field] for partner in row["partners"]]


def _decision_cell(row: Mapping[str, Any]) -> list[str]:
    return [
        f"{item['decided_on']} {item['governing_body']} {item['outcome']} "
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
        item_of=agreement_record,
        public_max_age=max_age,
    )


# --- Interactions --------------------------------------------------------------------------------


def _shown(name: str) -> ColumnElement[Any]:
    """A column of the register's own rows of public interactions."""
    return INTERACTION_ROWS.c[name]


# The register's own rows (`public/register.py`): each interaction's answer is written already.
INTERACTIONS = ListSpec(
    name="public_interactions",
    statement=select(
        *(_shown(name) for name in ("id", "item", "occurred_on", "subject_key")), DATA_VERSION
    ),
    parameters=PublicInteractionFilters,
    filters=(
        text_search("q", _shown("search_key")),
        one_of("channel", _shown("channel"), carried=True, leads=(_shown("occurred_on"),)),
        in_range("occurred_on", _shown("occurred_on")),
        holds_any("strategic_objective", _shown("objectives")),
        linked_to(
            "organization_id", _shown("id"), PARTICIPANTS, "interaction_id", "organization_id"
        ),
        holds_any("organization_category", _shown("categories")),
        holds_any("country", _shown("countries")),
    ),
    sorts=SortOptions(
        fields={"occurred_on": _shown("occurred_on"), "subject": _shown("subject_key")},
        tiebreaker=_shown("id"),
        default="-occurred_on",
        list_name="public_interactions",
    ),
    sort_enum=PublicInteractionSort,
)


def interaction_item(row: Any) -> orjson.Fragment:
    """A public interaction from its row, for a JSON answer: as the register wrote it."""
    return orjson.Fragment(row.item)


def interaction_record(row: Any) -> dict[str, Any]:
    """A public interaction from its row, read (a CSV line's cells)."""
    return dict(orjson.loads(row.item))


async def list_interactions(
    database: Database,
    filters: PublicInteractionFilters,
    *,
    sort: PublicInteractionSort | None,
    limit: int,
    cursor: str | None,
) -> Published:
    page = await _page(
        database, INTERACTIONS, interaction_item, filters, sort=sort, limit=limit, cursor=cursor
    )
    return _published(page)


_ONE_INTERACTION = INTERACTIONS.statement.where(_shown("id") == bindparam("item_id"))


async def get_interaction(database: Database, interaction_id: uuid.UUID) -> Published:
    """One public interaction; anything else is the 404 of an id that does not exist."""
    return await _one(database, _ONE_INTERACTION, interaction_id, interaction_item)


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
        item_of=interaction_record,
        public_max_age=max_age,
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
    .select_from(PARTNERS.join(AGREEMENT_ROWS, _listed("id") == PARTNERS.c.agreement_id))
    .where(PARTNERS.c.organization_id == _organization("id"))
    .scalar_subquery()
    .label("agreement_count"),
    select(func.count())
    .select_from(
        PARTICIPANTS.join(
            register.INTERACTIONS.table, _shown("id") == PARTICIPANTS.c.interaction_id
        )
    )
    .where(PARTICIPANTS.c.organization_id == _organization("id"))
    .scalar_subquery()
    .label("interaction_count"),
    DATA_VERSION,
).where(_organization("id") == bindparam("organization_id"))


async def get_organization(database: Database, organization_id: uuid.UUID) -> Published:
    """An organization's public profile, when it is in the public register at all: its counts
    and its latest agreements and interactions, read in one snapshot so that they agree."""
    async with database.snapshot() as snapshot:
        return await _profile(snapshot, organization_id)


async def _profile(reader: Reader, organization_id: uuid.UUID) -> Published:
    rows = await reader.read(_PROFILE, {"organization_id": organization_id})
    if not rows or not (rows[0].agreement_count or rows[0].interaction_count):
        raise NotFound(NOT_PUBLIC)
    row = rows[0]
    latest_agreements = await _page(
        reader,
        AGREEMENTS,
        agreement_item,
        PublicAgreementFilters(partner_id=[organization_id]),
        sort=PublicAgreementSort.approved_on_descending,
        limit=PROFILE_ITEMS,
        cursor=None,
    )
    latest_interactions = await _page(
        reader,
        INTERACTIONS,
        interaction_item,
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
        },
        # The version of the snapshot the three statements read.
        version=_version(rows),
    )
