"""The public register's rows of its own for the public interactions: `published_interaction`.

As revision 0014 did for the public agreements: each public interaction gets a row that holds
its public answer as JSON and what the public lists filter and sort by (app/models/public.py),
keyed by the interaction's id without a foreign key. The rows are not written here:
`register_format` names no format for the table, so its rows are written from the registry's
tables right after the schema is brought to head (app/public/register.py).

- Both databases: an index per public order (date, subject), one of the channel then the date
  (a page of one channel, the latest first, is a range of it), the ids of the rows whose search
  text is long.
- PostgreSQL: those order indexes carry the filtered columns; the date's order carries the
  search text where it fits, a trigram index serves searches, and statistics on the texts'
  lengths tell the planner how few are long (PostgreSQL 14 and later).
- The partial indexes of the public interactions' orders on `interaction` (revisions 0010, 0012,
  0013 and 0016) served the public lists alone, which now read these rows: they go.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
TABLE = "published_interaction"
BYTES = 600
FILTERED = ["channel", "occurred_on", "objectives", "categories", "countries"]
ORDERS = ("occurred_on", "subject_key")
PUBLIC = "visibility = 'public'"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for key in ORDERS:
        op.drop_index(f"ix_interaction_public_{key}_id", "interaction")
    if postgresql:
        op.drop_index("ix_interaction_public_occurred_on_id_search", "interaction")
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("subject_key", sa.String(length=500), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("objectives", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    for key in ORDERS:
        op.create_index(
            f"ix_{TABLE}_{key}_id",
            TABLE,
            [key, "id"],
            postgresql_include=[column for column in FILTERED if column != key],
        )
    op.create_index(f"ix_{TABLE}_channel_occurred_on_id", TABLE, ["channel", "occurred_on", "id"])
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
        f"ix_{TABLE}_occurred_on_id_search",
        TABLE,
        ["occurred_on", "id"],
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
    formats = sa.table("register_format", sa.column("name"))
    op.execute(formats.delete().where(formats.c.name == TABLE))
    op.drop_table(TABLE)
    for key in ORDERS:
        op.create_index(
            f"ix_interaction_public_{key}_id",
            "interaction",
            [key, "id"],
            postgresql_where=sa.text(PUBLIC),
            sqlite_where=sa.text(PUBLIC),
            postgresql_include=["channel"] if key == "occurred_on" else [],
        )
    if postgresql:
        op.create_index(
            "ix_interaction_public_occurred_on_id_search",
            "interaction",
            ["occurred_on", "id"],
            postgresql_include=["search_key"],
            postgresql_where=sa.text(f"{PUBLIC} AND octet_length(search_key) <= {BYTES}"),
        )
