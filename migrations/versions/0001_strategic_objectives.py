"""Strategic objectives of the IPPC Strategic Frameworks 2012-2019 and 2020-2030, seeded.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED_AT = datetime(2026, 11, 30, tzinfo=UTC)

OBJECTIVES = (
    (
        "2012-2019",
        "A",
        "Protect sustainable agriculture and enhance global food security through the "
        "prevention of pest spread",
    ),
    ("2012-2019", "B", "Protect the environment, forests and biodiversity from plant pests"),
    (
        "2012-2019",
        "C",
        "Facilitate economic and trade development through the promotion of harmonized "
        "scientifically based phytosanitary measures",
    ),
    ("2012-2019", "D", "Develop phytosanitary capacity for members to accomplish A, B and C"),
    (
        "2020-2030",
        "A",
        "Enhance global food security and increase sustainable agricultural productivity",
    ),
    ("2020-2030", "B", "Protect the environment from the impacts of plant pests"),
    ("2020-2030", "C", "Facilitate safe trade, development and economic growth"),
)


def objective_id(code: str) -> uuid.UUID:
    """Stable across databases and re-seeding: derived from the code."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:ippc:strategic-objective:{code}")


def upgrade() -> None:
    table = op.create_table(
        "strategic_objective",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("framework", sa.String(length=16), nullable=False),
        sa.Column("letter", sa.String(length=1), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategic_objective")),
        sa.UniqueConstraint("code", name=op.f("uq_strategic_objective_code")),
    )
    op.create_index(op.f("ix_strategic_objective_framework"), "strategic_objective", ["framework"])
    seeded_at = SEEDED_AT
    if op.get_bind().dialect.name == "sqlite":
        seeded_at = seeded_at.replace(tzinfo=None)
    op.bulk_insert(
        table,
        [
            {
                "id": objective_id(f"{framework}.{letter}"),
                "created_at": seeded_at,
                "updated_at": seeded_at,
                "version": 1,
                "code": f"{framework}.{letter}",
                "framework": framework,
                "letter": letter,
                "title": title,
            }
            for framework, letter, title in OBJECTIVES
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_strategic_objective_framework"), table_name="strategic_objective")
    op.drop_table("strategic_objective")
