"""Searches that test their rows in an index in the list's order, not in the table.

A page of a common search (`q`) at a million rows tested about 2,500 rows for its 50, each a
row of the table on a page of its own. The default orders of the lists that search now have
an index that carries the normalized text (`search_key`) beside the order's keys: a page reads
its ids from it alone, then its 50 rows (`core.listing`, "ids first").

- PostgreSQL: per default order, an index of the order's keys that includes `search_key`, over
  the rows whose text fits in an index entry beside the keys (at most 600 bytes; a B-tree entry
  holds 2,704), and over the list's own rows (the public ones, the organizations not archived).
  And statistics on the texts' lengths, so that the planner knows how few rows are longer.
- Both databases: an index of the ids of the rows whose text is longer (almost none), which a
  search reads for the rest of its rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
BYTES = 600
FITS = f"octet_length(search_key) <= {BYTES}"
PUBLIC_AGREEMENT = "status IN ('approved', 'active', 'suspended', 'ended', 'terminated')"
PUBLIC_INTERACTION = "visibility = 'public'"

COVERING = (
    ("ix_agreement_title_key_id_search", "agreement", ["title_key", "id"], None),
    (
        "ix_agreement_public_title_key_id_search",
        "agreement",
        ["title_key", "id"],
        PUBLIC_AGREEMENT,
    ),
    ("ix_organization_name_key_id_search", "organization", ["name_key", "id"], "archived IS false"),
    ("ix_interaction_occurred_on_id_search", "interaction", ["occurred_on", "id"], None),
    (
        "ix_interaction_public_occurred_on_id_search",
        "interaction",
        ["occurred_on", "id"],
        PUBLIC_INTERACTION,
    ),
)
TABLES = ("agreement", "organization", "interaction")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        op.create_index(
            f"ix_{table}_search_long",
            table,
            ["id"],
            postgresql_where=sa.text(f"octet_length(search_key) > {BYTES}"),
            sqlite_where=sa.text(f"length(CAST(search_key AS BLOB)) > {BYTES}"),
        )
    if not postgresql:
        return
    for name, table, columns, condition in COVERING:
        op.create_index(
            name,
            table,
            columns,
            postgresql_include=["search_key"],
            postgresql_where=sa.text(f"{condition} AND {FITS}" if condition else FITS),
        )
    # Statistics on an expression came with PostgreSQL 14; before it, the planner guesses.
    if (op.get_bind().dialect.server_version_info or (0,)) >= (14,):
        for table in TABLES:
            op.execute(
                f"CREATE STATISTICS {table}_search_bytes ON (octet_length(search_key)) FROM {table}"
            )
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP STATISTICS IF EXISTS {table}_search_bytes")
        for name, table, _columns, _condition in COVERING:
            op.drop_index(name, table)
    for table in TABLES:
        op.drop_index(f"ix_{table}_search_long", table)
