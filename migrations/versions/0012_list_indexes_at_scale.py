"""Indexes that keep every list's page as cheap at a million rows as at ten thousand.

- Trigram indexes (PostgreSQL's `pg_trgm`, GIN) on the normalized search columns of
  organizations, agreements and interactions: a `q` search (`LIKE '%term%'`) finds its rows in
  the index, where it scanned the whole table when the term is rare. The extension is created
  here when missing; it is a trusted extension, so the database's owner may create it. SQLite
  has no such index and keeps its scan.
- The public register's other orders, over the public rows only (as migration 0010 did for
  its default orders): agreements by approval date and by start date, interactions by subject.
  Without them, a page after a cursor read every non-public row of the order's index, and the
  rows without a date were found by reading every draft.
- The Secretariat's common filters in the default order: agreements by status then title, the
  financed agreements (few) by title, and the archived organizations (few) by name: a list of
  them read the whole table.
- Interest declarations in the order recorded, the one sort of theirs without its index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
PUBLIC_AGREEMENT = "status IN ('approved', 'active', 'suspended', 'ended', 'terminated')"
PUBLIC_INTERACTION = "visibility = 'public'"
FINANCED = "financing_amount IS NOT NULL"

PARTIAL = (
    ("ix_agreement_public_approved_on_id", "agreement", ["approved_on", "id"], PUBLIC_AGREEMENT),
    ("ix_agreement_public_start_date_id", "agreement", ["start_date", "id"], PUBLIC_AGREEMENT),
    ("ix_agreement_financed_title_key_id", "agreement", ["title_key", "id"], FINANCED),
    (
        "ix_interaction_public_subject_key_id",
        "interaction",
        ["subject_key", "id"],
        PUBLIC_INTERACTION,
    ),
)
WHOLE = (
    ("ix_agreement_status_title_key_id", "agreement", ["status", "title_key", "id"]),
    (
        "ix_interest_declaration_created_at_id",
        "interest_declaration",
        ["created_at", "id"],
    ),
)
ARCHIVED = "ix_organization_archived_name_key_id"
TRIGRAM = (
    ("ix_organization_search_key_trgm", "organization"),
    ("ix_agreement_search_key_trgm", "agreement"),
    ("ix_interaction_search_key_trgm", "interaction"),
)


def upgrade() -> None:
    for name, table, columns, condition in PARTIAL:
        op.create_index(
            name,
            table,
            columns,
            postgresql_where=sa.text(condition),
            sqlite_where=sa.text(condition),
        )
    for name, table, columns in WHOLE:
        op.create_index(name, table, columns)
    # The archived organizations, under the filter's own condition as each database writes it
    # (SQLite uses a partial index only for the very term).
    op.create_index(
        ARCHIVED,
        "organization",
        ["name_key", "id"],
        postgresql_where=sa.text("archived IS true"),
        sqlite_where=sa.text("archived IS 1"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table in TRIGRAM:
            op.create_index(
                name,
                table,
                ["search_key"],
                postgresql_using="gin",
                postgresql_ops={"search_key": "gin_trgm_ops"},
            )


def downgrade() -> None:
    # The extension stays: other schemas of the database may use it.
    if op.get_bind().dialect.name == "postgresql":
        for name, table in TRIGRAM:
            op.drop_index(name, table)
    op.drop_index(ARCHIVED, "organization")
    for name, table, _columns in WHOLE:
        op.drop_index(name, table)
    for name, table, _columns, _condition in PARTIAL:
        op.drop_index(name, table)
