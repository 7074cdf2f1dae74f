"""An interaction's objectives kept beside it: `objective_codes`, a text of codes between spaces
(` 2020-2030.A 2020-2030.C `), for the index of its default order to carry (PostgreSQL).

A page of interactions of one objective tested each candidate through the objectives' link
table: an index lookup there for every interaction of the order until the page was full. With
the codes in the index of the order (`ix_interaction_occurred_on_id`), a page tests its
candidates in that index alone, as agreements do since revision 0015.

Written here for the interactions there are, from their links (each code once, in byte order),
and from then on by the service with the interaction's objectives.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
INDEX = "ix_interaction_occurred_on_id"
CARRIED = ["channel", "visibility"]
CODES = (
    "SELECT DISTINCT {code} AS code FROM interaction_objective "
    "WHERE interaction_objective.interaction_id = interaction.id ORDER BY code"
)


def _codes(postgresql: bool) -> str:
    """The SQL of an interaction's codes, from the constants above alone."""
    if postgresql:
        rows = CODES.format(code='interaction_objective.objective_code COLLATE "C"')
        joined = "string_agg(code || ' ', '')"
    else:
        rows = CODES.format(code="interaction_objective.objective_code")
        joined = "group_concat(code || ' ', '')"
    return f"(SELECT ' ' || coalesce({joined}, '') FROM ({rows}) AS codes)"  # noqa: S608


def _index(include: list[str]) -> None:
    op.drop_index(INDEX, "interaction")
    op.create_index(INDEX, "interaction", ["occurred_on", "id"], postgresql_include=include)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "interaction",
        sa.Column("objective_codes", sa.Text(), server_default=sa.text("' '"), nullable=False),
    )
    op.execute(f"UPDATE interaction SET objective_codes = {_codes(postgresql)}")  # noqa: S608
    if postgresql:
        _index([*CARRIED, "objective_codes"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _index(CARRIED)
    # A plain column is dropped in place on both databases (SQLite since 3.35).
    op.execute("ALTER TABLE interaction DROP COLUMN objective_codes")
