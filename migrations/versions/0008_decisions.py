"""Approval decisions, append-only and guarded by triggers; interest declarations; and the
agreement's `last_decision_id`.

- `decision`: one row per decision of the Bureau or the CPM, never updated or deleted. On
  PostgreSQL a row trigger refuses UPDATE and DELETE and a statement trigger refuses TRUNCATE;
  on SQLite two row triggers refuse UPDATE and DELETE (names from
  `app.core.append_only.trigger_names`). A unique `supersedes_id`: a decision is corrected once.
- `interest_declaration`: a member's declared interest in an organization, over a period.
- `agreement.last_decision_id`: the decision last recorded on it (no foreign key: decisions refer
  to their agreement). Added without a batch rebuild: `agreement` has no triggers to lose, and
  `decision`'s are created after.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "decision"
MESSAGE = "decision is append-only: its rows are never updated or deleted"

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


def _stored_resource_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.add_column("agreement", sa.Column("last_decision_id", sa.Uuid(), nullable=True))
    op.create_table(
        TABLE,
        *_stored_resource_columns(),
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("governing_body", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("meeting_reference", sa.String(length=300), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("supersedes_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sa.String(length=255), nullable=False),
        sa.Column("recorded_by_name", sa.String(length=200), nullable=True),
        sa.Column("recusals", sa.JSON(), nullable=False),
        sa.Column("agreement_status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreement.id"], name=op.f("fk_decision_agreement_id_agreement")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["decision.id"], name=op.f("fk_decision_supersedes_id_decision")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_decision_supersedes_id")),
    )
    for columns in (
        ["decided_on", "id"],
        ["created_at", "id"],
        ["agreement_id"],
        ["governing_body"],
        ["outcome"],
        ["recorded_by"],
    ):
        op.create_index(f"ix_decision_{'_'.join(columns)}", TABLE, columns)
    for statement in _statements(upgrade=True):
        op.execute(statement)

    op.create_table(
        "interest_declaration",
        *_stored_resource_columns(),
        sa.Column("member", sa.String(length=255), nullable=False),
        sa.Column("member_name", sa.String(length=200), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("nature", sa.Text(), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "ended_on IS NULL OR ended_on >= declared_on",
            name=op.f("ck_interest_declaration_dates_in_order"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_interest_declaration_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest_declaration")),
    )
    for columns in (["declared_on", "id"], ["member"], ["organization_id"]):
        op.create_index(
            f"ix_interest_declaration_{'_'.join(columns)}", "interest_declaration", columns
        )


def downgrade() -> None:
    op.drop_table("interest_declaration")
    for statement in _statements(upgrade=False):
        op.execute(statement)
    op.drop_table(TABLE)
    with op.batch_alter_table("agreement") as batch:
        batch.drop_column("last_decision_id")
