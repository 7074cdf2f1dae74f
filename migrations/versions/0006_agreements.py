"""Agreements, their partners and strategic objectives, and their due diligence.

- `agreement` keeps what the API shows, partners and objectives included (JSON lists, in the
  order given, so that a change of them is a change of the row: audited, version raised), and
  computed columns (`title_key` to sort by, `search_key` to search, `required_approvals`).
- `agreement_partner` and `agreement_objective` hold the same references for the database to
  keep (foreign keys: a partner cannot be deleted while an agreement names it) and for the
  filters and counts.
- `due_diligence`: at most one per agreement, its id being the agreement's.
- Financing amounts are exact: a 64-bit count of ten-thousandths (`core.db.ScaledDecimal`).
- Keyset indexes `(sort key, id)` for each sort of the list.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stored_resource_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "agreement",
        *_stored_resource_columns(),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("public_summary", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("partner_ids", sa.JSON(), nullable=False),
        sa.Column("strategic_objectives", sa.JSON(), nullable=False),
        sa.Column("scope_of_work", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("shares_risks", sa.Boolean(), nullable=False),
        sa.Column("shares_resources", sa.Boolean(), nullable=False),
        sa.Column("shares_responsibilities", sa.Boolean(), nullable=False),
        sa.Column("financing_amount", sa.BigInteger(), nullable=True),
        sa.Column("financing_currency", sa.String(length=3), nullable=True),
        sa.Column("financing_direction", sa.String(length=10), nullable=True),
        sa.Column("legal_arrangement", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("required_approvals", sa.JSON(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("title_key", sa.String(length=500), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("due_diligence_revision", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_agreement_dates_in_order"),
        ),
        sa.CheckConstraint(
            "(financing_amount IS NULL AND financing_currency IS NULL "
            "AND financing_direction IS NULL) OR (financing_amount > 0 "
            "AND financing_currency IS NOT NULL AND financing_direction IS NOT NULL)",
            name=op.f("ck_agreement_financing_whole"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement")),
    )
    for columns in (
        ["title_key", "id"],
        ["start_date", "id"],
        ["end_date", "id"],
        ["created_at", "id"],
        ["updated_at", "id"],
        ["level"],
        ["instrument"],
        ["status"],
    ):
        op.create_index(f"ix_agreement_{'_'.join(columns)}", "agreement", columns)

    op.create_table(
        "agreement_partner",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreement.id"],
            name=op.f("fk_agreement_partner_agreement_id_agreement"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_agreement_partner_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint(
            "agreement_id", "organization_id", name=op.f("pk_agreement_partner")
        ),
    )
    op.create_index(
        op.f("ix_agreement_partner_organization_id"), "agreement_partner", ["organization_id"]
    )

    op.create_table(
        "agreement_objective",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("objective_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreement.id"],
            name=op.f("fk_agreement_objective_agreement_id_agreement"),
        ),
        sa.ForeignKeyConstraint(
            ["objective_code"],
            ["strategic_objective.code"],
            name=op.f("fk_agreement_objective_objective_code_strategic_objective"),
        ),
        sa.PrimaryKeyConstraint(
            "agreement_id", "objective_code", name=op.f("pk_agreement_objective")
        ),
    )
    op.create_index(
        op.f("ix_agreement_objective_objective_code"), "agreement_objective", ["objective_code"]
    )

    op.create_table(
        "due_diligence",
        *_stored_resource_columns(),
        sa.Column("risk_level", sa.String(length=10), nullable=False),
        sa.Column("risk_categories", sa.JSON(), nullable=False),
        sa.Column("undue_influence_assessment", sa.Text(), nullable=False),
        sa.Column("conflicts_of_interest", sa.Text(), nullable=True),
        sa.Column("mitigation", sa.Text(), nullable=True),
        sa.Column("excluded_sector", sa.Boolean(), nullable=False),
        sa.Column("assessed_by", sa.String(length=200), nullable=True),
        sa.Column("assessed_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "risk_level = 'low' OR mitigation IS NOT NULL",
            name=op.f("ck_due_diligence_mitigation_of_risk"),
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["agreement.id"], name=op.f("fk_due_diligence_id_agreement")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_diligence")),
    )


def downgrade() -> None:
    op.drop_table("due_diligence")
    op.drop_table("agreement_objective")
    op.drop_table("agreement_partner")
    op.drop_table("agreement")
