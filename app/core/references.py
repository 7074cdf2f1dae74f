"""What refers to a resource's rows: a registry each referring resource adds itself to.

A resource that others point at (organizations: branches, then interactions and agreements)
keeps one `References`. Each resource that points at it registers how to count its rows that
refer to one (`register`), so that the referred resource's read shows the counts
(`counts`) and its delete is refused while any remain (`refuse_if_any`: a 409 of the resource's
own problem type, with `references` counting them by kind), without the referred resource
importing the ones that refer to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, ProblemType

Count = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]


@dataclass(frozen=True)
class Referrer:
    """A kind of record that refers to the rows, and how to count those that refer to one."""

    name: str
    count: Count


class References:
    def __init__(self, refused: ProblemType, advice: str) -> None:
        """`refused`: the problem of a delete refused while references remain; `advice`: what to
        do instead, said in its detail."""
        self.refused = refused
        self.advice = advice
        self._referrers: list[Referrer] = []

    def register(self, name: str, count: Count) -> None:
        if any(referrer.name == name for referrer in self._referrers):
            raise ValueError(f"a referrer named {name!r} is registered already")
        self._referrers.append(Referrer(name, count))

    def none(self) -> dict[str, int]:
        """The counts of a row just made: nothing refers to it yet."""
        return {referrer.name: 0 for referrer in self._referrers}

    async def counts(self, session: AsyncSession, row_id: uuid.UUID) -> dict[str, int]:
        return {
            referrer.name: await referrer.count(session, row_id) for referrer in self._referrers
        }

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
