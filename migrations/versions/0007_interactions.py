"""Liaison interactions, the organizations met and the strategic objectives served.

- `interaction` keeps what the API shows, organizations, participants and objectives included
  (JSON lists, in the order given: a change of them is a change of the row, audited), an
  optional link to an agreement, and computed columns (`subject_key` to sort by, `search_key`
  to search).
- `interaction_organization` and `interaction_objective` hold the same references for the
  database to keep (an organization met cannot be deleted) and for filters and counts.
- Keyset indexes `(sort key, id)` for each sort of the list.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _link(name: str, column: str, column_type: sa.types.TypeEngine[Any], target: str) -> None:
    """A link table from an interaction to `target` (`table.column`)."""
    target_table = target.split(".")[0]
    op.create_table(
        name,
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column(column, column_type, nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interaction.id"],
            name=op.f(f"fk_{name}_interaction_id_interaction"),
        ),
        sa.ForeignKeyConstraint(
            [column], [target], name=op.f(f"fk_{name}_{column}_{target_table}")
        ),
        sa.PrimaryKeyConstraint("interaction_id", column, name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_{column}"), name, [column])


def upgrade() -> None:
    op.create_table(
        "interaction",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("organization_ids", sa.JSON(), nullable=False),
        sa.Column("ippc_participants", sa.JSON(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("strategic_objectives", sa.JSON(), nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("agreement_id", sa.Uuid(), nullable=True),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("subject_key", sa.String(length=500), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreement.id"], name=op.f("fk_interaction_agreement_id_agreement")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction")),
    )
    for columns in (
        ["occurred_on", "id"],
        ["subject_key", "id"],
        ["created_at", "id"],
        ["updated_at", "id"],
        ["channel"],
        ["visibility"],
        ["agreement_id"],
    ):
        op.create_index(f"ix_interaction_{'_'.join(columns)}", "interaction", columns)
    _link("interaction_organization", "organization_id", sa.Uuid(), "organization.id")
    _link(
        "interaction_objective", "objective_code", sa.String(length=32), "strategic_objective.code"
    )


def downgrade() -> None:
    op.drop_table("interaction_objective")
    op.drop_table("interaction_organization")
    op.drop_table("interaction")
