"""The default orders' indexes carry the filters a page tests its candidates by (PostgreSQL).

At a million rows, a page of interactions of one channel walked the index of its order and read
each candidate from the table to test its channel: 339 table pages for 51 rows at a position in
the middle. Each default order's index now carries (`INCLUDE`) the columns of the equality
filters its list offers, so that such a page tests its candidates in the index alone and reads
only its rows (`core.listing`, "ids first"):

- interactions by date: channel, visibility; the public ones by date: channel;
- agreements by title: level, instrument (besides the codes of revision 0015);
- organizations by name: archived (every default page tests it), category, country.

Between indexes of equal cost (a table still empty) PostgreSQL takes the one made last: the
narrower indexes in the same orders are made again after these, as they were before.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
PUBLIC = "visibility = 'public'"


class Carrying(NamedTuple):
    name: str
    table: str
    keys: list[str]
    where: str | None
    now: list[str]
    before: list[str]


CARRYING = (
    Carrying(
        "ix_interaction_occurred_on_id",
        "interaction",
        ["occurred_on", "id"],
        None,
        ["channel", "visibility"],
        [],
    ),
    Carrying(
        "ix_interaction_public_occurred_on_id",
        "interaction",
        ["occurred_on", "id"],
        PUBLIC,
        ["channel"],
        [],
    ),
    Carrying(
        "ix_agreement_title_key_id",
        "agreement",
        ["title_key", "id"],
        None,
        ["partner_categories", "objective_codes", "level", "instrument"],
        ["partner_categories", "objective_codes"],
    ),
    Carrying(
        "ix_organization_name_key_id",
        "organization",
        ["name_key", "id"],
        None,
        ["archived", "category", "country"],
        [],
    ),
)
# The narrower indexes in the same orders, made again after those: name, table, keys, where.
FOLLOWING: tuple[tuple[str, str, list[str], str | None], ...] = (
    (
        "ix_organization_archived_name_key_id",
        "organization",
        ["name_key", "id"],
        "archived IS true",
    ),
    ("ix_agreement_status_title_key_id", "agreement", ["status", "title_key", "id"], None),
    (
        "ix_agreement_financed_title_key_id",
        "agreement",
        ["title_key", "id"],
        "financing_amount IS NOT NULL",
    ),
)


def _make(name: str, table: str, keys: list[str], where: str | None, include: list[str]) -> None:
    op.drop_index(name, table)
    op.create_index(
        name,
        table,
        keys,
        postgresql_include=include,
        postgresql_where=None if where is None else sa.text(where),
    )


def _run(*, upgrading: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for item in CARRYING:
        _make(item.name, item.table, item.keys, item.where, item.now if upgrading else item.before)
    for name, table, keys, where in FOLLOWING:
        _make(name, table, keys, where, [])


def upgrade() -> None:
    _run(upgrading=True)


def downgrade() -> None:
    _run(upgrading=False)
