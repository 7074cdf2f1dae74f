"""The public register's rows of its own: `published_agreement`, and `register_format`.

Each public agreement gets a row that holds its public answer as JSON and what the public lists
filter and sort by (app/models/public.py), keyed by the agreement's id without a foreign key (a
reference would lock the agreement at each write of its row). The rows are not written here: `register_format` has
none yet, so the register is written from the registry's tables right after the schema is
brought to head, under the same lock (app/public/register.py).

- Both databases: an index per public order (title, approval date, start date), the ids of the
  rows whose search text is long.
- PostgreSQL: those order indexes carry the filtered columns; the title's order carries the
  search text where it fits, a trigram index serves searches, and statistics on the texts'
  lengths tell the planner how few are long (PostgreSQL 14 and later).
- The partial indexes of the public agreements' orders on `agreement` (revisions 0010 and 0013)
  served the public lists alone, which now read these rows: they go.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
TABLE = "published_agreement"
BYTES = 600
FILTERED = ["status", "level", "instrument", "approved_on", "objectives", "categories", "countries"]
ORDERS = ("title_key", "approved_on", "start_date")
PUBLIC = "status IN ('approved', 'active', 'suspended', 'ended', 'terminated')"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for key in ORDERS:
        op.drop_index(f"ix_agreement_public_{key}_id", "agreement")
    if postgresql:
        op.drop_index("ix_agreement_public_title_key_id_search", "agreement")
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("title_key", sa.String(length=500), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("objectives", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_table(
        "register_format",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_register_format")),
    )
    for key in ORDERS:
        op.create_index(
            f"ix_{TABLE}_{key}_id",
            TABLE,
            [key, "id"],
            postgresql_include=[column for column in FILTERED if column != key],
        )
    op.create_index(
        f"ix_{TABLE}_search_long",
        TABLE,
        ["id"],
        postgresql_where=sa.text(f"octet_length(search_key) > {BYTES}"),
        sqlite_where=sa.text(f"length(CAST(search_key AS BLOB)) > {BYTES}"),
    )
    if not postgresql:
        return
    op.create_index(
        f"ix_{TABLE}_title_key_id_search",
        TABLE,
        ["title_key", "id"],
        postgresql_include=["search_key"],
        postgresql_where=sa.text(f"octet_length(search_key) <= {BYTES}"),
    )
    op.create_index(
        f"ix_{TABLE}_search_key_trgm",
        TABLE,
        ["search_key"],
        postgresql_using="gin",
        postgresql_ops={"search_key": "gin_trgm_ops"},
    )
    # Statistics on an expression came with PostgreSQL 14; before it, the planner guesses.
    if (op.get_bind().dialect.server_version_info or (0,)) >= (14,):
        op.execute(
            f"CREATE STATISTICS {TABLE}_search_bytes ON (octet_length(search_key)) FROM {TABLE}"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(f"DROP STATISTICS IF EXISTS {TABLE}_search_bytes")
    op.drop_table("register_format")
    op.drop_table(TABLE)
    for key in ORDERS:
        op.create_index(
            f"ix_agreement_public_{key}_id",
            "agreement",
            [key, "id"],
            postgresql_where=sa.text(PUBLIC),
            sqlite_where=sa.text(PUBLIC),
        )
    if postgresql:
        op.create_index(
            "ix_agreement_public_title_key_id_search",
            "agreement",
            ["title_key", "id"],
            postgresql_include=["search_key"],
            postgresql_where=sa.text(f"{PUBLIC} AND octet_length(search_key) <= {BYTES}"),
        )
