"""The rules of what an interaction or an agreement refers to, and the link tables that hold
those references for the database.

- Organizations must exist and not be archived; strategic objectives must exist. Every invalid
  reference of a write is named in one 422, a pointer each (`/partner_ids/1`,
  `/strategic_objectives/0`).
- Only new references are checked: an organization archived after it was linked stays linked
  when the record changes otherwise (an archived organization takes no *new* links).
- The organizations referred to are locked FOR SHARE until the write commits (`core.rows`), so
  that archiving or deleting one waits for the write, and a write waits for an archive or a
  delete in progress, then sees its result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Table, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, column_of
from app.core.errors import FieldError, NotFound
from app.core.listing import Filter, custom
from app.core.rows import read_referenced, refuse, write
from app.models import Organization, StrategicObjective

MISSING_ORGANIZATION = "No organization has this id"
ARCHIVED_ORGANIZATION = "This organization is archived: it takes no new links"
MISSING_OBJECTIVE = "No strategic objective has this code"

F = TypeVar("F", bound=BaseModel)


def pointed(field: str, values: Sequence[Any], known: Iterable[Any] = ()) -> list[tuple[str, Any]]:
    """(pointer, value) for each item of the list `field` that is not among `known`."""
    skip = set(known)
    return [(f"/{field}/{index}", value) for index, value in enumerate(values) if value not in skip]


def _archived(organization: Organization) -> str | None:
    return ARCHIVED_ORGANIZATION if organization.archived else None


async def check_references(
    session: AsyncSession,
    *,
    organizations: Sequence[tuple[str, uuid.UUID]] = (),
    objectives: Sequence[tuple[str, str]] = (),
    errors: Sequence[FieldError] = (),
) -> None:
    """Lock the organizations named (FOR SHARE) and refuse, in one 422, every one that does not
    exist or is archived, every objective code that does not exist, and `errors` (the caller's
    own, found before)."""
    found = await read_referenced(
        session,
        Organization,
        organizations,
        missing=MISSING_ORGANIZATION,
        refused=_archived,
    )
    codes = await read_referenced(
        session,
        StrategicObjective,
        objectives,
        missing=MISSING_OBJECTIVE,
        key=column_of(StrategicObjective.code),
    )
    refuse([*errors, *found.errors, *codes.errors])


async def replace_links(
    session: AsyncSession,
    table: Table,
    owner: tuple[str, uuid.UUID],
    target: str,
    values: Iterable[Any],
    *,
    position: str | None = None,
) -> None:
    """Make the rows of the link `table` whose column `owner[0]` is `owner[1]` name exactly
    `values` in their column `target`, each with its place among them in its column `position`
    when the table keeps one."""
    owner_column: ColumnElement[Any] = table.c[owner[0]]
    await session.execute(delete(table).where(owner_column == owner[1]))
    rows = [{owner[0]: owner[1], target: value} for value in dict.fromkeys(values)]
    if position is not None:
        for place, row in enumerate(rows):
            row[position] = place
    if rows:
        await session.execute(insert(table), rows)


def linked_to(
    name: str, owner_id: ColumnElement[Any], table: Table, owner: str, target: str
) -> Filter:
    """The list filter `name`: the records whose link `table` names any of the values given in
    its column `target` (`owner` being its column of the record's id). It reads no column of
    the record but its id, so a page with it reads its ids first (`core.listing`)."""

    def condition(values: Sequence[Any]) -> ColumnElement[bool] | None:
        if not values:
            return None
        plain = [value.value if isinstance(value, Enum) else value for value in values]
        return owner_id.in_(select(table.c[owner]).where(table.c[target].in_(plain)))

    return custom(name, condition=condition, ids_first=True)


_ORGANIZATION_EXISTS = select(column_of(Organization.id)).where(
    column_of(Organization.id) == bindparam("organization_id")
)


async def of_organization(
    database: Database,
    organization_id: uuid.UUID,
    filters: BaseModel,
    full: type[F],
    field: str,
) -> F:
    """The filters of a list of one organization's records (`/v1/organizations/{id}/...`):
    `filters` and the organization as the value of `field`, in the whole list's filters
    `full`. An organization that does not exist is a 404."""
    if not await database.read(_ORGANIZATION_EXISTS, {"organization_id": organization_id}):
        raise NotFound("No organization has this id.")
    return full.model_validate({**filters.model_dump(), field: [organization_id]})


@dataclass(frozen=True)
class Link:
    """A list field of a record (`partner_ids`) whose items a link table holds too: the table,
    its column of the record's id (`owner`) and of the item (`target`), how a stored item
    becomes the target's value (`convert`: JSON keeps ids as text), and the column that keeps
    each item's place in the list, when the table has one (`position`: a statement can then
    give the items in the record's order)."""

    field: str
    table: Table
    owner: str
    target: str
    convert: Callable[[Any], Any] = str
    position: str | None = None


def as_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


async def save(
    session: AsyncSession,
    row: Any,
    columns: Mapping[str, Any],
    links: Sequence[Link],
    *,
    new: bool,
    if_match: str | None = None,
) -> None:
    """Set `columns` on the record `row` (adding it when `new`) and write it with the kit
    (`core.rows.write`), its link tables following the list fields that changed."""
    row_id = row.id  # read now: after a failed write the row is expired
    old = {link.field: [] if new else list(getattr(row, link.field)) for link in links}

    async def change() -> None:
        for name, value in columns.items():
            setattr(row, name, value)
        if new:
            session.add(row)
        await session.flush()  # the record exists before its links refer to it
        for link in links:
            if columns[link.field] != old[link.field]:
                values = [link.convert(item) for item in columns[link.field]]
                await replace_links(
                    session,
                    link.table,
                    (link.owner, row_id),
                    link.target,
                    values,
                    position=link.position,
                )

    await write(session, change, if_match=if_match)


async def remove_links(session: AsyncSession, links: Sequence[Link], row_id: uuid.UUID) -> None:
    """Remove the link rows of a record about to be deleted."""
    for link in links:
        await session.execute(delete(link.table).where(link.table.c[link.owner] == row_id))
