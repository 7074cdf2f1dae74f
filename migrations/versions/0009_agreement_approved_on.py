"""The date an agreement was approved: `agreement.approved_on`.

The day of the decision that approved it (the one whose recorded `agreement_status` is
`approved`), or of the correction that stands in its place when it was corrected. The public
register filters and sorts by it (its year of approval), so it is a column with an index rather
than a walk through the decisions and their corrections on every page.

Existing agreements are given theirs from their decisions. Added without a batch rebuild:
`agreement` has no triggers to lose.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_agreement_approved_on_id"


def upgrade() -> None:
    op.add_column("agreement", sa.Column("approved_on", sa.Date(), nullable=True))
    op.create_index(INDEX, "agreement", ["approved_on", "id"])
    decision = sa.table(
        "decision",
        sa.column("id", sa.Uuid()),
        sa.column("agreement_id", sa.Uuid()),
        sa.column("supersedes_id", sa.Uuid()),
        sa.column("decided_on", sa.Date()),
        sa.column("agreement_status", sa.String()),
    )
    agreement = sa.table(
        "agreement", sa.column("id", sa.Uuid()), sa.column("approved_on", sa.Date())
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            decision.c.id,
            decision.c.agreement_id,
            decision.c.supersedes_id,
            decision.c.decided_on,
            decision.c.agreement_status,
        )
    ).all()
    correction_of = {row.supersedes_id: row for row in rows if row.supersedes_id is not None}
    for row in rows:
        if row.agreement_status != "approved" or row.supersedes_id is not None:
            continue
        standing = row
        while standing.id in correction_of:
            standing = correction_of[standing.id]
        bind.execute(
            agreement.update()
            .where(agreement.c.id == row.agreement_id)
            .values(approved_on=standing.decided_on)
        )


def downgrade() -> None:
    op.drop_index(INDEX, "agreement")
    # Both databases drop a plain column in place (SQLite since 3.35), without rebuilding the
    # table, which the rows referring to agreements would forbid.
    op.execute("ALTER TABLE agreement DROP COLUMN approved_on")
