"""Organizations, and the responses kept for Idempotency-Key replays.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint(
            "client",
            "method",
            "path",
            "key",
            name=op.f("uq_idempotency_record_client_method_path_key"),
        ),
    )
    op.create_index("ix_idempotency_record_expires_at", "idempotency_record", ["expires_at"])

    op.create_table(
        "organization",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("acronym", sa.String(length=50), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("sector", sa.String(length=10), nullable=True),
        sa.Column("geographic_scope", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("website", sa.String(length=2048), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("search_key", sa.String(length=400), nullable=False),
        sa.Column("country_key", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["organization.id"],
            name=op.f("fk_organization_parent_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint(
            "name_key", "country_key", name=op.f("uq_organization_name_key_country_key")
        ),
    )
    op.create_index("ix_organization_created_at_id", "organization", ["created_at", "id"])
    op.create_index("ix_organization_name_key_id", "organization", ["name_key", "id"])
    op.create_index(op.f("ix_organization_parent_id"), "organization", ["parent_id"])
    op.create_index("ix_organization_updated_at_id", "organization", ["updated_at", "id"])


def downgrade() -> None:
    op.drop_table("organization")
    op.drop_index("ix_idempotency_record_expires_at", table_name="idempotency_record")
    op.drop_table("idempotency_record")
