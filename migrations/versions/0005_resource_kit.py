"""The resource kit: audit notes, and organization keys that cannot overflow.

- `audit_event.note`: why a change was made, when its maker said (a workflow transition's note).
  Added without a batch rebuild, so the table keeps its append-only triggers on SQLite.
- `organization.name_digest`: the duplicate check compares a SHA-256 of the whole normalized name
  (normalizing can make a name many times longer than its 300 characters, past what an index
  entry may hold); `name_key` stays the sort key, cut to 300 characters.
- `organization.search_key` becomes unbounded text: it was cut at 400 characters, so the acronym
  of a long name could drop out of search.

The computed columns of existing rows are computed again, by the service's own function.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.organizations.service import keys

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

organization = sa.table(
    "organization",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("acronym", sa.String()),
    sa.column("country", sa.String()),
    sa.column("name_key", sa.String()),
    sa.column("name_digest", sa.String()),
    sa.column("search_key", sa.Text()),
)


def _recompute_keys() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            organization.c.id, organization.c.name, organization.c.acronym, organization.c.country
        )
    ).all()
    for row in rows:
        computed = keys(row.name, row.acronym, row.country)
        connection.execute(
            organization.update()
            .where(organization.c.id == row.id)
            .values(
                name_key=computed["name_key"],
                name_digest=computed["name_digest"],
                search_key=computed["search_key"],
            )
        )


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("note", sa.Text(), nullable=True))
    with op.batch_alter_table("organization") as batch:
        batch.add_column(sa.Column("name_digest", sa.String(length=64), nullable=True))
        batch.alter_column(
            "search_key",
            type_=sa.Text(),
            existing_type=sa.String(length=400),
            existing_nullable=False,
        )
    _recompute_keys()
    with op.batch_alter_table("organization") as batch:
        batch.alter_column("name_digest", existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint("uq_organization_name_key_country_key", type_="unique")
        batch.create_unique_constraint(
            op.f("uq_organization_name_digest_country_key"), ["name_digest", "country_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("organization") as batch:
        batch.drop_constraint("uq_organization_name_digest_country_key", type_="unique")
        batch.create_unique_constraint(
            op.f("uq_organization_name_key_country_key"), ["name_key", "country_key"]
        )
        batch.alter_column(
            "search_key",
            type_=sa.String(length=400),
            existing_type=sa.Text(),
            existing_nullable=False,
        )
        batch.drop_column("name_digest")
    op.drop_column("audit_event", "note")
