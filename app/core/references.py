"""What refers to a resource's rows: a registry each referring resource adds itself to.

A resource that others point at (organizations: branches, then interactions and agreements)
keeps one `References`. Each resource that points at it registers the column that holds the
reference (`register`: a foreign key column of its own table, or of a link table), so that the
referred resource's read shows how many rows refer to it (`count_columns`, one scalar subquery
per kind in the read's own statement; `counts` alone), and its delete is refused while any
remain (`refuse_if_any`: a 409 of the resource's own problem type, with `references` counting
them by kind), without the referred resource importing the ones that refer to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Label, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, ProblemType

# Labels of the counts in a statement that selects them beside other columns.
COUNT_LABEL_PREFIX = "references_"


@dataclass(frozen=True)
class Referrer:
    """A kind of record that refers to the rows: its name, and its column holding the id."""

    name: str
    column: ColumnElement[Any]

    def count(self, row_id: ColumnElement[Any] | uuid.UUID) -> ColumnElement[int]:
        """How many rows refer to `row_id` (a value, or a column of an outer statement)."""
        # An alias: a table that refers to itself (branches) is counted apart from the outer
        # statement's rows, which the subquery would otherwise take as its own.
        table = self.column.table.alias()
        column = table.c[self.column.name]
        return select(func.count()).select_from(table).where(column == row_id).scalar_subquery()


class References:
    def __init__(self, refused: ProblemType, advice: str) -> None:
        """`refused`: the problem of a delete refused while references remain; `advice`: what to
        do instead, said in its detail."""
        self.refused = refused
        self.advice = advice
        self._referrers: list[Referrer] = []

    def register(self, name: str, column: Any) -> None:
        """`column`: the referring column (a mapped attribute or a table column)."""
        if any(referrer.name == name for referrer in self._referrers):
            raise ValueError(f"a referrer named {name!r} is registered already")
        element = column.__clause_element__() if hasattr(column, "__clause_element__") else column
        if not isinstance(element, ColumnElement) or getattr(element, "table", None) is None:
            raise TypeError(f"{name}: register the column of a table that holds the reference")
        self._referrers.append(Referrer(name, element))

    @property
    def names(self) -> list[str]:
        return [referrer.name for referrer in self._referrers]

    def none(self) -> dict[str, int]:
        """The counts of a row just made: nothing refers to it yet."""
        return dict.fromkeys(self.names, 0)

    def count_columns(self, row_id: ColumnElement[Any]) -> list[Label[int]]:
        """The counts as labelled columns, for a statement that reads the rows themselves."""
        return [
            referrer.count(row_id).label(COUNT_LABEL_PREFIX + referrer.name)
            for referrer in self._referrers
        ]

    def counts_of(self, values: Sequence[Any]) -> dict[str, int]:
        """The counts read by `count_columns`, in their order, by kind."""
        return {name: int(value) for name, value in zip(self.names, values, strict=True)}

    async def counts(self, session: AsyncSession, row_id: uuid.UUID) -> dict[str, int]:
        """The counts for one row, in one statement."""
        if not self._referrers:
            return {}
        values = (
            await session.execute(select(*(referrer.count(row_id) for referrer in self._referrers)))
        ).one()
        return self.counts_of(values)

    def refusal(self, counts: Mapping[str, int]) -> Conflict | None:
        """The 409 of a delete while `counts` show references, naming them by kind."""
        remaining = {name: count for name, count in counts.items() if count}
        if not remaining:
            return None
        described = ", ".join(f"{count} {name}" for name, count in remaining.items())
        return Conflict(
            f"Still referenced by {described}: {self.advice}",
            kind=self.refused,
            references=remaining,
        )

    async def refuse_if_any(self, session: AsyncSession, row_id: uuid.UUID) -> None:
        """Raise the 409 when anything refers to the row now."""
        refused = self.refusal(await self.counts(session, row_id))
        if refused is not None:
            raise refused
