"""Reads of the strategic objectives (seeded by a migration; never written through the API)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import column_of
from app.core.errors import NotFound
from app.core.pagination import Ordering, Page, SortKey
from app.models import StrategicObjective
from app.strategic_objectives.schemas import Framework, StrategicObjectiveOut

_COLUMNS = (
    column_of(StrategicObjective.code),
    column_of(StrategicObjective.framework),
    column_of(StrategicObjective.letter),
    column_of(StrategicObjective.title),
)
_ORDER = Ordering((SortKey(column_of(StrategicObjective.code)),))


async def list_objectives(
    session: AsyncSession,
    *,
    frameworks: Sequence[Framework] | None,
    limit: int,
    cursor: str | None,
) -> Page[StrategicObjectiveOut]:
    stmt = select(*_COLUMNS)
    if frameworks:
        stmt = stmt.where(
            column_of(StrategicObjective.framework).in_([f.value for f in frameworks])
        )
    rows = (await session.execute(_ORDER.page(stmt, limit, cursor))).all()
    items, next_cursor = _ORDER.split(rows, limit)
    return Page[StrategicObjectiveOut](
        items=[StrategicObjectiveOut.model_validate(row) for row in items],
        next_cursor=next_cursor,
    )


async def get_objective(session: AsyncSession, code: str) -> StrategicObjectiveOut:
    row = (
        await session.execute(select(*_COLUMNS).where(column_of(StrategicObjective.code) == code))
    ).first()
    if row is None:
        raise NotFound("No strategic objective has this code.")
    return StrategicObjectiveOut.model_validate(row)
