"""Indexes of the public register's default orders, over the public rows only; and of an
agreement's decisions in the order they were recorded.

The public agreements are listed by title, and only those approved or later (design §5) are
public: through the index of every agreement by title, a page read past every draft and
submission between two public agreements. A partial index holds the public ones alone, in the
same order, so that a page reads its rows and no others. Likewise the public interactions,
latest first.

The statements state the same condition with the values written in (`core.sql.in_constants`),
which is what lets PostgreSQL use these indexes for a prepared statement's generic plan.

Each public agreement brings its decisions in the order recorded: an index by agreement, then
time recorded, gives them in that order without a sort for each agreement of a page. It serves
every lookup by agreement too, so it takes the place of the index on the agreement alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
PUBLIC_AGREEMENT = "status IN ('approved', 'active', 'suspended', 'ended', 'terminated')"
PUBLIC_INTERACTION = "visibility = 'public'"

INDEXES = (
    ("ix_agreement_public_title_key_id", "agreement", ["title_key", "id"], PUBLIC_AGREEMENT),
    (
        "ix_interaction_public_occurred_on_id",
        "interaction",
        ["occurred_on", "id"],
        PUBLIC_INTERACTION,
    ),
)


DECISIONS_BY_AGREEMENT = "ix_decision_agreement_id"
DECISIONS_IN_ORDER = "ix_decision_agreement_id_created_at_id"


def upgrade() -> None:
    op.create_index(DECISIONS_IN_ORDER, "decision", ["agreement_id", "created_at", "id"])
    op.drop_index(DECISIONS_BY_AGREEMENT, "decision")
    for name, table, columns, condition in INDEXES:
        op.create_index(
            name,
            table,
            columns,
            postgresql_where=sa.text(condition),
            sqlite_where=sa.text(condition),
        )


def downgrade() -> None:
    for name, table, _columns, _condition in INDEXES:
        op.drop_index(name, table)
    op.create_index(DECISIONS_BY_AGREEMENT, "decision", ["agreement_id"])
    op.drop_index(DECISIONS_IN_ORDER, "decision")
