"""The codes an agreement's links name, kept beside it: its partners' categories and its
objectives, each as one text of codes between spaces (` ngo rppo `, `core.listing.spaced`).

The agreements' default order has an index that carries them (`models.agreements`), so that a
page filtered by a category of partner or an objective tests its candidates there, not through
two link tables per candidate (`core.listing`, "ids first"; docs/performance.md, "Scale").

They are written by the database, from the link tables and the organizations, at the commit of
each transaction that changes an agreement or an organization's category (a reader of its
changes, `core.tracking.read_changes`, that runs before the copies kept under locks of their
own). The agreements are locked in order (FOR NO KEY UPDATE, as the update would lock them)
before they are written.

Concurrent changes: a write that adds a partner locks it FOR SHARE (`registry.links`), and a
change of an organization's category holds its row until it commits, so one waits for the
other; the one that commits second reads, at its commit, what the first committed (READ
COMMITTED). A test holds one open and checks the other's result.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.core.actor import Actor
from app.core.db import column_of
from app.core.sql import spaced_codes
from app.core.tracking import WRITES_ROWS, Change, read_changes
from app.models import Agreement, AgreementObjective, AgreementPartner, Organization
from app.models.base import LINKED_CODES

AGREEMENTS: Table = Agreement.__table__  # type: ignore[attr-defined]
PARTNERS: Table = AgreementPartner.__table__  # type: ignore[attr-defined]
OBJECTIVES: Table = AgreementObjective.__table__  # type: ignore[attr-defined]
# Rows written per statement.
BATCH = 1_000
# The fields of an agreement whose links name the codes.
LINKS = frozenset({"partner_ids", "strategic_objectives"})

_ID = AGREEMENTS.c.id
_CATEGORY: Any = column_of(Organization.category)

# What each agreement's links name, from its links, as the database keeps them.
PARTNER_CATEGORIES = spaced_codes(
    _CATEGORY,
    where=PARTNERS.c.agreement_id == _ID,
    outer=AGREEMENTS,
    joins=PARTNERS.join(Organization, column_of(Organization.id) == PARTNERS.c.organization_id),
)
OBJECTIVE_CODES = spaced_codes(
    OBJECTIVES.c.objective_code, where=OBJECTIVES.c.agreement_id == _ID, outer=AGREEMENTS
)

_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_LOCK = select(_ID).where(_ID.in_(_IDS)).order_by(_ID).with_for_update(key_share=True)
_WRITE = (
    update(AGREEMENTS)
    .where(_ID.in_(_IDS))
    .values(partner_categories=PARTNER_CATEGORIES, objective_codes=OBJECTIVE_CODES)
)


def write_codes(connection: Connection, agreement_ids: Iterable[uuid.UUID]) -> None:
    """Write the codes of these agreements from their links, in this transaction."""
    ids = sorted(set(agreement_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        if connection.dialect.name == "postgresql":
            connection.execute(_LOCK, {"ids": chunk})
        connection.execute(_WRITE, {"ids": chunk})


_OF_ORGANIZATION = (
    select(_ID)
    .where(
        _ID.in_(
            select(PARTNERS.c.agreement_id).where(
                PARTNERS.c.organization_id == bindparam("organization_id")
            )
        )
    )
    .order_by(_ID)
    .with_for_update(key_share=True)
)


async def lock_agreements_of(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Before an organization's category changes, lock (FOR NO KEY UPDATE, in order) the
    agreements whose codes its commit will rewrite, before the organization itself: decisions
    and writes lock an agreement before its partners, so taken the other way round a change of
    category holding the organization would wait for an agreement whose holder waits for the
    organization (a deadlock). On SQLite writers are serialized already."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(_OF_ORGANIZATION, {"organization_id": organization_id})


def _agreements_of(connection: Connection, organizations: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    statement = select(PARTNERS.c.agreement_id).where(PARTNERS.c.organization_id.in_(organizations))
    return set(connection.execute(statement).scalars())


def _changed(session: Session, actor: Actor, changes: Sequence[Change]) -> None:
    """A transaction's changes, before it commits: the codes of the agreements they alter."""
    touched: set[uuid.UUID] = set()
    recategorized: list[uuid.UUID] = []
    for change in changes:
        if change.resource_type == "agreement" and LINKS & set(change.after or {}):
            touched.add(uuid.UUID(change.resource_id))
        elif (
            change.resource_type == "organization"
            and change.before is not None  # a new organization is in no agreement yet
            and "category" in (change.after or {})
        ):
            recategorized.append(uuid.UUID(change.resource_id))
    connection = session.connection()
    if recategorized:
        touched |= _agreements_of(connection, recategorized)
    write_codes(connection, touched)


read_changes(LINKED_CODES, _changed, stage=WRITES_ROWS)
