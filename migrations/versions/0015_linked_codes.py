"""The codes an agreement's links name, kept beside it: `partner_categories` and
`objective_codes`, each a text of codes between spaces (` ngo rppo `).

Written here for the agreements there are, from their links (each code once, in byte order), and
from then on at each commit that changes them (app/registry/codes.py). On PostgreSQL the default
order's index (`ix_agreement_title_key_id`) is made again to carry them, so that a page filtered
by a category of partner or an objective tests its candidates in the index alone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
COLUMNS = ("partner_categories", "objective_codes")
INDEX = "ix_agreement_title_key_id"
STATUS = "ix_agreement_status_title_key_id"
FINANCED = "ix_agreement_financed_title_key_id"
CODES = {
    "partner_categories": (
        "SELECT DISTINCT {code} AS code FROM agreement_partner "
        "JOIN organization ON organization.id = agreement_partner.organization_id "
        "WHERE agreement_partner.agreement_id = agreement.id",
        "organization.category",
    ),
    "objective_codes": (
        "SELECT DISTINCT {code} AS code FROM agreement_objective "
        "WHERE agreement_objective.agreement_id = agreement.id",
        "agreement_objective.objective_code",
    ),
}


def _spaced(column: str, postgresql: bool) -> str:
    """The SQL of a column's codes, from the constants above alone."""
    rows, code = CODES[column]
    if postgresql:
        ordered = rows.format(code=f'{code} COLLATE "C"') + " ORDER BY code"
        joined = "string_agg(code || ' ', '')"
    else:
        ordered = rows.format(code=code) + " ORDER BY code"
        joined = "group_concat(code || ' ', '')"
    return f"(SELECT ' ' || coalesce({joined}, '') FROM ({ordered}) AS codes)"  # noqa: S608


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for column in COLUMNS:
        op.add_column(
            "agreement",
            sa.Column(column, sa.Text(), server_default=sa.text("' '"), nullable=False),
        )
    values = ", ".join(f"{column} = {_spaced(column, postgresql)}" for column in COLUMNS)
    op.execute(f"UPDATE agreement SET {values}")  # noqa: S608 (constants)
    if postgresql:
        op.drop_index(INDEX, "agreement")
        op.create_index(INDEX, "agreement", ["title_key", "id"], postgresql_include=list(COLUMNS))
        _follow_the_title_index()


def _follow_the_title_index() -> None:
    """Make again, after the title's index, the indexes in the title's order over fewer rows
    (revision 0012): between indexes of equal cost (a table still empty, a statement's first
    plans) PostgreSQL takes the one made last, which must stay the narrower."""
    op.drop_index(STATUS, "agreement")
    op.create_index(STATUS, "agreement", ["status", "title_key", "id"])
    op.drop_index(FINANCED, "agreement")
    op.create_index(
        FINANCED,
        "agreement",
        ["title_key", "id"],
        postgresql_where=sa.text("financing_amount IS NOT NULL"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, "agreement")
        op.create_index(INDEX, "agreement", ["title_key", "id"])
        _follow_the_title_index()
    # Both databases drop a plain column in place (SQLite since 3.35), without rebuilding the
    # table, which the rows referring to agreements would forbid.
    for column in COLUMNS:
        op.execute(f"ALTER TABLE agreement DROP COLUMN {column}")
