"""The rules of liaison interactions (design §2).

Built on the kit like organizations and agreements: the list is declared once (`LIST`), rows
are loaded and locked with `core.rows`, writes go through `core.rows.write`, and the audit trail
follows by structure (interactions are a tracked model).

- Organizations must exist and not be archived, objectives must exist, a linked agreement must
  exist (`registry.links`: one 422 naming each invalid reference). The organizations and the
  agreement referred to are locked FOR SHARE while the interaction is written, so that an
  archive or a delete waits for it (and an interaction waits for them, then sees their result).
- A public interaction is published: it stays public and cannot be deleted (409
  `interaction-published`); it can be corrected, and every change stays in the audit trail.
- Interactions count among what refers to an organization (it cannot be deleted while they
  do) and to an agreement (a draft with linked interactions is not deleted).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import service as agreements
from app.core.csv_export import Export, columns_of
from app.core.db import Database, column_of
from app.core.errors import Conflict, FieldError, problem_type
from app.core.http import PreparedBody
from app.core.listing import (
    JsonPage,
    ListSpec,
    holds_any,
    in_range,
    one_of,
    spaced,
    text_search,
)
from app.core.pagination import SortOptions
from app.core.preconditions import check_if_match, resource_etag
from app.core.rows import get_for_update, read_referenced, write
from app.core.serialization import dump_rows
from app.core.text import normalize
from app.interactions.schemas import (
    InteractionCreate,
    InteractionFilters,
    InteractionOut,
    InteractionPatch,
    InteractionSort,
    OrganizationInteractionFilters,
    Visibility,
)
from app.models import Agreement, Interaction, InteractionObjective, InteractionOrganization
from app.models.interactions import SUBJECT_MAX_LENGTH
from app.organizations import service as organizations
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

NOT_FOUND = "No interaction has this id."
MISSING_AGREEMENT = "No agreement has this id"

INTERACTION_PUBLISHED = problem_type(
    "interaction-published",
    409,
    "Interaction published",
    "A public interaction is in the public register: it stays public and cannot be deleted. "
    "Correct it instead; every change stays in the audit trail.",
)

ORGANIZATIONS: Table = InteractionOrganization.__table__  # type: ignore[attr-defined]
OBJECTIVES: Table = InteractionObjective.__table__  # type: ignore[attr-defined]
LINKS = (
    Link(
        "organization_ids", ORGANIZATIONS, "interaction_id", "organization_id", as_uuid, "position"
    ),
    Link("strategic_objectives", OBJECTIVES, "interaction_id", "objective_code"),
)


def _column(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Interaction, name))


# --- The list ----------------------------------------------------------------------------------

LIST = ListSpec(
    name="interactions",
    statement=select(
        *(_column(name) for name in InteractionOut.model_fields), _column("subject_key")
    ),
    parameters=InteractionFilters,
    filters=(
        text_search("q", _column("search_key")),
        one_of("channel", _column("channel"), carried=True),
        one_of("visibility", _column("visibility"), carried=True),
        in_range("occurred_on", _column("occurred_on")),
        holds_any("strategic_objective", _column("objective_codes")),
        one_of("agreement_id", _column("agreement_id")),
        in_range("created_at", _column("created_at")),
        in_range("updated_at", _column("updated_at")),
        linked_to(
            "organization_id", _column("id"), ORGANIZATIONS, "interaction_id", "organization_id"
        ),
    ),
    sorts=SortOptions(
        fields={
            "occurred_on": _column("occurred_on"),
            "subject": _column("subject_key"),
            "created_at": _column("created_at"),
            "updated_at": _column("updated_at"),
        },
        tiebreaker=_column("id"),
        default="-occurred_on",
        list_name="interactions",
    ),
    sort_enum=InteractionSort,
    item=InteractionOut,
)
CSV_COLUMNS = columns_of(InteractionOut)


async def list_interactions(
    database: Database,
    filters: InteractionFilters,
    *,
    sort: InteractionSort | None,
    limit: int,
    cursor: str | None,
) -> JsonPage:
    return await LIST.json_page(database, filters, sort=sort, limit=limit, cursor=cursor)


def export(filters: InteractionFilters, sort: InteractionSort | None) -> Export:
    """The whole filtered, ordered set, for CSV."""
    return LIST.export(filters, sort, CSV_COLUMNS, "interactions.csv")


async def of(
    database: Database, organization_id: uuid.UUID, filters: OrganizationInteractionFilters
) -> InteractionFilters:
    """The filters of the list of an organization's interactions (404 without it)."""
    return await of_organization(
        database, organization_id, filters, InteractionFilters, "organization_id"
    )


# --- References: what an interaction points at --------------------------------------------------

organizations.REFERENCES.register("interactions", ORGANIZATIONS.c.organization_id)
agreements.REFERENCES.register("interactions", Interaction.agreement_id)


# --- Reading -------------------------------------------------------------------------------------


def etag(interaction: InteractionOut) -> str:
    return resource_etag(interaction.id, interaction.version)


async def get_interaction(database: Database, interaction_id: uuid.UUID) -> PreparedBody:
    """One statement outside any transaction, written as `InteractionOut` would be."""
    item = await LIST.read_item(database, _column("id"), interaction_id, missing=NOT_FOUND)
    return PreparedBody(dump_rows(item), resource_etag(interaction_id, item["version"]))


# --- Rules -------------------------------------------------------------------------------------


async def _check(
    session: AsyncSession, after: Mapping[str, Any], before: Mapping[str, Any] | None
) -> None:
    """The new references of a write are valid (one 422 naming every invalid one), and held
    until it commits."""
    known = before or {"organization_ids": [], "strategic_objectives": [], "agreement_id": None}
    errors: list[FieldError] = []
    agreement_id = after["agreement_id"]
    if agreement_id is not None and agreement_id != known["agreement_id"]:
        linked = await read_referenced(
            session, Agreement, [("/agreement_id", agreement_id)], missing=MISSING_AGREEMENT
        )
        errors = linked.errors
    await check_references(
        session,
        organizations=pointed(
            "organization_ids", after["organization_ids"], known["organization_ids"]
        ),
        objectives=pointed(
            "strategic_objectives", after["strategic_objectives"], known["strategic_objectives"]
        ),
        errors=errors,
    )


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of an interaction with `values` (the fields of InteractionCreate)."""
    columns = dict(values)
    columns["organization_ids"] = [str(item) for item in values["organization_ids"]]
    columns["ippc_participants"] = list(values["ippc_participants"])
    columns["strategic_objectives"] = list(values["strategic_objectives"])
    columns["objective_codes"] = spaced(values["strategic_objectives"])
    subject_key = normalize(values["subject"])
    columns["subject_key"] = subject_key[:SUBJECT_MAX_LENGTH]
    columns["search_key"] = subject_key
    return columns


def _published(detail: str) -> Conflict:
    return Conflict(detail, kind=INTERACTION_PUBLISHED)


# --- Writing -------------------------------------------------------------------------------------


async def create_interaction(session: AsyncSession, data: InteractionCreate) -> InteractionOut:
    values = data.model_dump()
    await _check(session, values, None)
    interaction = Interaction(
        occurred_on=data.occurred_on,
        channel=data.channel,
        subject=data.subject,
        subject_key="",
        search_key="",
    )
    await save(session, interaction, _columns(values), LINKS, new=True)
    return InteractionOut.model_validate(interaction)


async def update_interaction(
    session: AsyncSession,
    interaction_id: uuid.UUID,
    patch: InteractionPatch,
    *,
    if_match: str | None,
) -> InteractionOut:
    interaction = await get_for_update(session, Interaction, interaction_id, detail=NOT_FOUND)
    current = InteractionOut.model_validate(interaction)
    check_if_match(if_match, etag(current), required=True)
    before = current.model_dump(include=set(InteractionCreate.model_fields))
    after = {**before, **patch.model_dump(include=patch.model_fields_set)}
    if before["visibility"] == Visibility.public and after["visibility"] != Visibility.public:
        raise _published("A public interaction stays public: correct it instead.")
    await _check(session, after, before)
    if after == before:
        return current
    await save(session, interaction, _columns(after), LINKS, new=False, if_match=if_match)
    return InteractionOut.model_validate(interaction)


async def delete_interaction(
    session: AsyncSession, interaction_id: uuid.UUID, *, if_match: str | None
) -> None:
    interaction = await get_for_update(session, Interaction, interaction_id, detail=NOT_FOUND)
    check_if_match(if_match, etag(InteractionOut.model_validate(interaction)), required=True)
    if interaction.visibility == Visibility.public:
        raise _published("A public interaction cannot be deleted: correct it instead.")

    async def change() -> None:
        await remove_links(session, LINKS, interaction_id)
        await session.delete(interaction)

    await write(session, change, if_match=if_match)
