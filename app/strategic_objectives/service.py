"""Reads of the strategic objectives: reference data, seeded by a migration and never written
through the API, so each process reads them once and serves them from memory.

The objectives are read from the database on the first request (under a lock, once), and every
answer, a page or one objective, is serialized once and kept with its ETag: a request costs no
query, no serialization and no hashing (`PreparedBody`). A migration that changes the objectives
is deployed with a restart, which empties the memory. Pages keep the list's keyset semantics
(ordered by `code`, cursors decoded strictly); the answers kept are bounded in number, so that
made-up cursors cannot grow the memory.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

from sqlalchemy import select

from app.core.db import Database, column_of
from app.core.errors import NotFound
from app.core.http import PreparedBody, prepare
from app.core.pagination import Ordering, Page, SortKey, decode_cursor, encode_cursor
from app.models import StrategicObjective
from app.strategic_objectives.schemas import Framework, StrategicObjectiveOut

_COLUMNS = (
    column_of(StrategicObjective.code),
    column_of(StrategicObjective.framework),
    column_of(StrategicObjective.letter),
    column_of(StrategicObjective.title),
)
_ORDER = Ordering((SortKey(column_of(StrategicObjective.code)),))
# Distinct answers kept (pages of other filters, limits, cursors; single objectives).
MAX_KEPT = 256

PageKey = tuple[tuple[str, ...], int, str | None]


class Catalogue:
    """The strategic objectives of one process, and its answers, prepared once."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.reads = 0
        self._objectives: tuple[StrategicObjectiveOut, ...] | None = None
        self._lock = asyncio.Lock()
        self._answers: OrderedDict[PageKey | str, PreparedBody] = OrderedDict()

    async def objectives(self) -> tuple[StrategicObjectiveOut, ...]:
        if self._objectives is None:
            async with self._lock:
                if self._objectives is None:
                    async with self.database.session(write=False) as session:
                        statement = select(*_COLUMNS).order_by(_COLUMNS[0])
                        rows = (await session.execute(statement)).all()
                    self.reads += 1
                    self._objectives = tuple(
                        StrategicObjectiveOut.model_validate(row) for row in rows
                    )
        return self._objectives

    def _keep(self, key: PageKey | str, answer: PreparedBody) -> PreparedBody:
        self._answers[key] = answer
        if len(self._answers) > MAX_KEPT:
            self._answers.popitem(last=False)
        return answer

    async def page(
        self, *, frameworks: Sequence[Framework] | None, limit: int, cursor: str | None
    ) -> tuple[PreparedBody, str | None]:
        """A page, as prepared bytes, and the cursor of the next one."""
        wanted = tuple(sorted({framework.value for framework in frameworks or ()}))
        key: PageKey = (wanted, limit, cursor)
        kept = self._answers.get(key)
        if kept is not None:
            self._answers.move_to_end(key)
            return kept, kept.next_cursor
        after = decode_cursor(cursor, _ORDER.keys, _ORDER.token)[0] if cursor else None
        matching = [
            objective
            for objective in await self.objectives()
            if (not wanted or objective.framework.value in wanted)
            and (after is None or objective.code > after)
        ]
        items = matching[:limit]
        next_cursor = (
            encode_cursor([items[-1].code], _ORDER.token) if len(matching) > limit else None
        )
        page = Page[StrategicObjectiveOut](items=items, next_cursor=next_cursor)
        answer = self._keep(key, prepare(page, next_cursor=next_cursor))
        return answer, next_cursor

    async def one(self, code: str) -> PreparedBody:
        kept = self._answers.get(code)
        if kept is not None:
            return kept
        for objective in await self.objectives():
            if objective.code == code:
                return self._keep(code, prepare(objective))
        raise NotFound("No strategic objective has this code.")
