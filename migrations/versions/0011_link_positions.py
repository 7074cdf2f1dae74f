"""The place of each organization in its record's list: `agreement_partner.position` and
`interaction_organization.position`.

An agreement names its partners, and an interaction the organizations met, in an order the
Secretariat chose (`partner_ids`, `organization_ids`); the link tables held the set. With each
link's place, a statement gives a record's organizations in that order itself (the public
register builds them as JSON in the database), without reading the record's list to sort them.

Existing links are given their places from the records' lists. Added in place on both
databases (a column with a default needs no rebuild of the table on SQLite). An index by record
and place holds the organization too: a record's organizations are read in order from it alone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (link table, its column of the record, the record's table, the record's list)
LINKS = (
    ("agreement_partner", "agreement_id", "agreement", "partner_ids"),
    ("interaction_organization", "interaction_id", "interaction", "organization_ids"),
)


def _ids(value: Any) -> list[str]:
    """A JSON list as the driver gives it: read already (PostgreSQL) or as text (SQLite)."""
    return json.loads(value) if isinstance(value, str | bytes) else list(value)


def upgrade() -> None:
    bind = op.get_bind()
    for table, owner, records, field in LINKS:
        op.add_column(
            table,
            sa.Column("position", sa.Integer(), nullable=False, server_default=sa.text("0")),
        )
        record = sa.table(records, sa.column("id", sa.Uuid()), sa.column(field, sa.JSON()))
        link = sa.table(
            table,
            sa.column(owner, sa.Uuid()),
            sa.column("organization_id", sa.Uuid()),
            sa.column("position", sa.Integer()),
        )
        update = (
            link.update()
            .where(link.c[owner] == sa.bindparam("owner"))
            .where(link.c.organization_id == sa.bindparam("organization"))
            .values(position=sa.bindparam("place"))
        )
        # Only lists of two or more need a place other than the default's.
        for row in bind.execute(sa.select(record.c.id, record.c[field])):
            ids = list(dict.fromkeys(_ids(row[1])))
            places = [
                {"owner": row[0], "organization": uuid.UUID(str(value)), "place": place}
                for place, value in enumerate(ids)
                if place > 0
            ]
            if places:
                bind.execute(update, places)
        op.create_index(_index(table, owner), table, [owner, "position", "organization_id"])


def _index(table: str, owner: str) -> str:
    return f"ix_{table}_{owner}_position"


def downgrade() -> None:
    # Both databases drop a plain column in place (SQLite since 3.35).
    for table, owner, _records, _field in LINKS:
        op.drop_index(_index(table, owner), table)
        op.execute(f"ALTER TABLE {table} DROP COLUMN position")
