"""Operational checks."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound, ProblemType, Unavailable, problem_types

READINESS_TIMEOUT_SECONDS = 5.0


async def check_database(session: AsyncSession) -> None:
    """Raise Unavailable unless the database answers a query within a few seconds."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise Unavailable("The database does not answer.", headers={"Retry-After": "5"}) from exc


def describe_problem(slug: str) -> ProblemType:
    kind = problem_types().get(slug)
    if kind is None:
        raise NotFound("No problem type has this name.")
    return kind
