"""A page of organizations of one category, or of one country, by name is a range of an index.

The default order's index carries both columns (revision 0016), and a page with one of them
tested its candidates there and then read its 51 rows by their ids, four index and table pages
each at a hundred thousand organizations; rows of one country being a twentieth of all, a page
also tested about a thousand index entries. An index that leads with the column, then the
order's keys, gives the page's rows as one range, read as it lies (`core.listing.one_of`,
`leads`): about 55 pages.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
KEYS = ("category", "country")


def upgrade() -> None:
    for key in KEYS:
        op.create_index(
            f"ix_organization_{key}_name_key_id", "organization", [key, "name_key", "id"]
        )


def downgrade() -> None:
    for key in KEYS:
        op.drop_index(f"ix_organization_{key}_name_key_id", "organization")
