"""The public register's pages read their rows through indexes that hold the public rows alone
(migrations 0010 and 0014), in the generic plan PostgreSQL settles on for a prepared statement
too: the plan whose values are unknown, which the service's statements meet after a few
executions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from app.core.db import Database
from app.core.listing import ListSpec
from app.public import service
from app.public.schemas import PublicAgreementFilters, PublicInteractionFilters
from tests.plans import page_plans, prefer_indexes

pytestmark = pytest.mark.postgres_only


@pytest.mark.parametrize(
    ("spec", "filters", "after", "index"),
    [
        (service.AGREEMENTS, PublicAgreementFilters(), None, "ix_published_agreement_title_key_id"),
        (
            service.AGREEMENTS,
            PublicAgreementFilters(),
            ["some title", str(uuid.uuid4())],
            "ix_published_agreement_title_key_id",
        ),
        (
            service.INTERACTIONS,
            PublicInteractionFilters(),
            None,
            "ix_published_interaction_occurred_on_id",
        ),
        (
            service.INTERACTIONS,
            PublicInteractionFilters(),
            ["2026-01-01", str(uuid.uuid4())],
            "ix_published_interaction_occurred_on_id",
        ),
    ],
    ids=["agreements", "agreements-after", "interactions", "interactions-after"],
)
async def test_a_public_page_reads_the_index_of_public_rows(
    app: FastAPI, spec: ListSpec, filters: BaseModel, after: list[Any] | None, index: str
) -> None:
    database: Database = app.state.database
    async with database.engine.connect() as connection:
        await prefer_indexes(connection)
        (plan,) = await page_plans(connection, spec, filters, after=after)
    assert index in plan, plan
