"""Audit events: the append-only trail of every change, guarded by triggers.

On PostgreSQL a row trigger refuses UPDATE and DELETE and a statement trigger refuses TRUNCATE
(row triggers never see a TRUNCATE). On SQLite, which has no TRUNCATE, two row triggers refuse
UPDATE and DELETE. The names follow `app.core.append_only.trigger_names`.

SQLite batch migrations rebuild a table and silently drop its triggers: a later revision that
alters `audit_event` in batch mode must create them again (a test checks they exist at head).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "audit_event"
MESSAGE = "audit_event is append-only: its rows are never updated or deleted"

POSTGRESQL_UPGRADE = (
    f"""
    CREATE FUNCTION {TABLE}_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP
            USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    f"""
    CREATE TRIGGER {TABLE}_no_update_or_delete
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse_change()
    """,
    f"""
    CREATE TRIGGER {TABLE}_no_truncate
    BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse_change()
    """,
)
POSTGRESQL_DOWNGRADE = (
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update_or_delete ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {TABLE}_refuse_change()",
)

SQLITE_UPGRADE = (
    f"""
    CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    BEGIN
        SELECT RAISE(ABORT, '{MESSAGE} (UPDATE refused)');
    END
    """,
    f"""
    CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    BEGIN
        SELECT RAISE(ABORT, '{MESSAGE} (DELETE refused)');
    END
    """,
)
SQLITE_DOWNGRADE = (
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
)


def _statements(*, upgrade: bool) -> Sequence[str]:
    if op.get_bind().dialect.name == "postgresql":
        return POSTGRESQL_UPGRADE if upgrade else POSTGRESQL_DOWNGRADE
    return SQLITE_UPGRADE if upgrade else SQLITE_DOWNGRADE


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject", sa.String(length=255), nullable=False),
        sa.Column("actor_client_id", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(
        op.f("ix_audit_event_resource_type_resource_id"), TABLE, ["resource_type", "resource_id"]
    )
    op.create_index(op.f("ix_audit_event_actor_subject"), TABLE, ["actor_subject"])
    op.create_index(op.f("ix_audit_event_occurred_at"), TABLE, ["occurred_at"])
    for statement in _statements(upgrade=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(upgrade=False):
        op.execute(statement)
    op.drop_index(op.f("ix_audit_event_occurred_at"), table_name=TABLE)
    op.drop_index(op.f("ix_audit_event_actor_subject"), table_name=TABLE)
    op.drop_index(op.f("ix_audit_event_resource_type_resource_id"), table_name=TABLE)
    op.drop_table(TABLE)
