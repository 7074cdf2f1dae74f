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
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import column_of
from app.core.errors import FieldError
from app.core.rows import read_referenced, refuse
from app.models import Organization, StrategicObjective

MISSING_ORGANIZATION = "No organization has this id"
ARCHIVED_ORGANIZATION = "This organization is archived: it takes no new links"
MISSING_OBJECTIVE = "No strategic objective has this code"


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
) -> None:
    """Make the rows of the link `table` whose column `owner[0]` is `owner[1]` name exactly
    `values` in their column `target`."""
    owner_column: ColumnElement[Any] = table.c[owner[0]]
    await session.execute(delete(table).where(owner_column == owner[1]))
    rows = [{owner[0]: owner[1], target: value} for value in dict.fromkeys(values)]
    if rows:
        await session.execute(insert(table), rows)
