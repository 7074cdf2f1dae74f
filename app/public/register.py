"""The public register's rows of its own (app/models/public.py): how they are written.

Two tables of them, each kept the same way (`Rows`):
- each public agreement's row holds its answer, written here from the registry's tables as the
  register shows it: an allowlist of the agreement's columns, its partners (id, name, acronym,
  category, country) and its decisions as they stand (a corrected decision as its correction
  says);
- each public interaction's row holds its answer likewise: an allowlist of its columns and its
  organizations.
The database writes the organizations and decisions as JSON (`core/sql.py`), which goes into
the answer as it is.

When rows are written:
- **In the transaction of every change** that alters what the register shows (`_changed`, a
  reader of each transaction's changes, `core.tracking.read_changes`): an agreement or an
  interaction changed (a decision recorded on an agreement changes it too), or an organization
  whose public reference changed (name, acronym, category, country), which rewrites the rows of
  its public agreements and interactions. The rows of those records are deleted and the public
  ones written again.
- **After the schema is brought to head** (`core.migrate.after_upgrade`), for each table whose
  row in `register_format` does not say it is in this code's format (`Rows.format`): all of its
  rows, anew. The migration that makes a table leaves it no format; a change of what a row holds
  (a new public field) raises the format, and needs no migration of its own.

Concurrent writers: on PostgreSQL each record's row is written under a transaction advisory
lock of its own, taken in the order of the keys, before its data is read. A transaction that
waited then reads what the other committed (READ COMMITTED: each statement sees what committed
before it began). Without it, two changes of one record's row (two of its partners renamed at
once) would each write what they saw, the last to commit keeping the other's old values, or
fail on the primary key. A change of an organization locks the rows of every record that names
it, public or not as it reads them: a record made public meanwhile by another transaction (which
locks no organization, having linked none anew) would otherwise keep the organization as it was
before. Nothing else is locked: the rows do not refer to their record (no
foreign key, whose check would lock it), so a rename of a partner never waits for a decision
that holds the agreement and waits for that partner. On SQLite writers are serialized already.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    case,
    delete,
    exists,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from app.agreements import service as agreements
from app.agreements.workflow import in_force
from app.core.actor import Actor
from app.core.db import column_of, transaction_locks
from app.core.listing import spaced
from app.core.migrate import after_upgrade
from app.core.serialization import dump_rows
from app.core.sql import in_constants, json_array_agg, json_array_of, json_object, uuid_text
from app.core.tracking import KEEPS_COPIES, Change, read_changes
from app.interactions import service as interactions
from app.models import (
    Agreement,
    Decision,
    Interaction,
    Organization,
    PublishedAgreement,
    PublishedInteraction,
    RegisterFormat,
)
from app.models.agreements import PUBLIC_STATUSES
from app.models.base import PUBLIC_REGISTER
from app.models.interactions import PUBLIC_VISIBILITY

# Rows written per statement when all are written anew.
BATCH = 1_000

AGREEMENT_TABLE: Table = Agreement.__table__  # type: ignore[attr-defined]
INTERACTION_TABLE: Table = Interaction.__table__  # type: ignore[attr-defined]
FORMATS: Table = RegisterFormat.__table__  # type: ignore[attr-defined]
PARTNERS: Table = agreements.PARTNERS
PARTICIPANTS: Table = interactions.ORGANIZATIONS

# What an organization shows of itself in the register: a change of it rewrites its rows.
ORGANIZATION_SHOWN = frozenset({"name", "acronym", "category", "country"})


def _agreement(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Agreement, name))


def _organization(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Organization, name))


def _decision(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Decision, name))


def _interaction(name: str) -> ColumnElement[Any]:
    return column_of(getattr(Interaction, name))


def named(links: Table, owner: Table, owner_column: str) -> Any:
    """The organizations a record of `owner` names (through `links`), as one JSON array of their
    public references in the record's order (each link's `position`), read by the record's own
    statement."""
    organization = json_object(
        "id",
        uuid_text(_organization("id")),
        "name",
        _organization("name"),
        "acronym",
        _organization("acronym"),
        "category",
        _organization("category"),
        "country",
        _organization("country"),
    )
    return json_array_of(
        organization,
        where=links.c[owner_column] == owner.c.id,
        order_by=(links.c.position,),
        outer=owner,
        joins=links.join(Organization, _organization("id") == links.c.organization_id),
    )


# The fields of a decision the public register shows (`PublicDecision`), as JSON key and value.
_SHOWN_FIELDS: list[str | ColumnElement[Any]] = []
for _name in ("governing_body", "outcome", "decided_on", "meeting_reference"):
    _SHOWN_FIELDS += [_name, _decision(_name)]

# Each agreement's decisions as the public register shows them, in the order they were recorded:
# as they stand while none was corrected, which is almost always.
_SHOWN_DECISIONS = json_array_of(
    json_object(*_SHOWN_FIELDS),
    where=_decision("agreement_id") == _agreement("id"),
    order_by=(_decision("created_at"), _decision("id")),
    outer=AGREEMENT_TABLE,
)

# Once one was corrected, each decision with its place in the chain of corrections, for
# `workflow.in_force` to say which stand and where (NULL while none was).
_DECISION_CHAIN = case(
    (
        exists()
        .where(_decision("agreement_id") == _agreement("id"))
        .where(_decision("supersedes_id").is_not(None)),
        select(
            json_array_agg(
                json_object(
                    "id",
                    uuid_text(_decision("id")),
                    "supersedes_id",
                    uuid_text(_decision("supersedes_id")),
                    *_SHOWN_FIELDS,
                    "recorded",
                    _decision("created_at"),
                )
            )
        )
        .where(_decision("agreement_id") == _agreement("id"))
        .scalar_subquery(),
    ),
)

_AGREEMENT_COLUMNS = (
    "id",
    "title",
    "public_summary",
    "level",
    "instrument",
    "strategic_objectives",
    "start_date",
    "end_date",
    "signed_on",
    "financing_amount",
    "financing_currency",
    "financing_direction",
    "status",
    "approved_on",
    "title_key",
    "search_key",
)

_PUBLIC_AGREEMENT = in_constants(_agreement("status"), PUBLIC_STATUSES)

# The public agreements, as the register shows them, from the registry's tables.
AGREEMENT_SOURCE = select(
    *(_agreement(name) for name in _AGREEMENT_COLUMNS),
    named(PARTNERS, AGREEMENT_TABLE, "agreement_id").label("partners"),
    _SHOWN_DECISIONS.label("decisions"),
    _DECISION_CHAIN.label("decision_chain"),
).where(_PUBLIC_AGREEMENT)

_INTERACTION_COLUMNS = (
    "id",
    "occurred_on",
    "channel",
    "subject",
    "strategic_objectives",
    "subject_key",
    "search_key",
)

_PUBLIC_INTERACTION = in_constants(_interaction("visibility"), [PUBLIC_VISIBILITY])

# The public interactions, as the register shows them, from the registry's tables.
INTERACTION_SOURCE = select(
    *(_interaction(name) for name in _INTERACTION_COLUMNS),
    named(PARTICIPANTS, INTERACTION_TABLE, "interaction_id").label("organizations"),
).where(_PUBLIC_INTERACTION)


def read_json(value: Any) -> list[Any]:
    """A JSON array the statement built (`core.sql`: compact text), read; [] for no rows."""
    return [] if value is None else list(orjson.loads(value))


_EMPTY = orjson.Fragment(b"[]")


def written(value: Any) -> orjson.Fragment:
    """A JSON array the statement built, to be written into the answer as it is: the database
    wrote it as `dump_rows` would (compact, keys in the allowlist's order, UTF-8), so it is
    neither read nor written again (tests compare the answer's bytes with the models')."""
    return _EMPTY if value is None else orjson.Fragment(value)


class _Recorded(NamedTuple):
    """A decision as its JSON gives it: in the order recorded, with its place in the chain of
    corrections (`agreements.workflow.in_force`)."""

    recorded: tuple[str, str]
    id: str
    supersedes_id: str | None
    shown: dict[str, Any]


def _decisions(row: Any) -> Any:
    """An agreement's decisions as they stand, from its row: as the statement wrote them,
    unless one was corrected."""
    if row.decision_chain is None:  # none was corrected: each stands as recorded
        return written(row.decisions)
    return _standing(row.decision_chain)


def _standing(decisions: Any) -> list[dict[str, Any]]:
    """The decisions of a row's JSON as they stand, in the order they were recorded, each
    correction in the place of the decision its chain began with."""
    recorded = sorted(
        _Recorded(
            (str(item["recorded"]), item["id"]),
            item["id"],
            item["supersedes_id"],
            {
                "governing_body": item["governing_body"],
                "outcome": item["outcome"],
                "decided_on": item["decided_on"],
                "meeting_reference": item["meeting_reference"],
            },
        )
        for item in read_json(decisions)
    )
    return [decision.shown for decision in in_force(recorded)]


def _financing(row: Any) -> dict[str, Any] | None:
    if row.financing_amount is None:
        return None
    return {
        "amount": row.financing_amount,
        "currency": row.financing_currency,
        "direction": row.financing_direction,
    }


def agreement_item(row: Any) -> dict[str, Any]:
    """A public agreement from its row of `AGREEMENT_SOURCE`, as `PublicAgreement` writes it."""
    return {
        "id": row.id,
        "title": row.title,
        "public_summary": row.public_summary,
        "level": row.level,
        "instrument": row.instrument,
        "partners": written(row.partners),
        "strategic_objectives": list(row.strategic_objectives),
        "start_date": row.start_date,
        "end_date": row.end_date,
        "signed_on": row.signed_on,
        "financing": _financing(row),
        "status": row.status,
        "decisions": _decisions(row),
    }


def _codes(objectives: Iterable[str], organizations: list[Any]) -> dict[str, str]:
    """What a row's lists filter by (`core.listing.holds_any`): its objectives' codes and its
    organizations' categories and countries."""
    return {
        "objectives": spaced(objectives),
        "categories": spaced(item["category"] for item in organizations),
        "countries": spaced(item["country"] for item in organizations),
    }


def published_agreement(row: Any) -> dict[str, Any]:
    """The register's row of a public agreement, from its row of `AGREEMENT_SOURCE`."""
    partners = read_json(row.partners)
    return {
        "id": row.id,
        "item": dump_rows(agreement_item(row)).decode(),
        "title_key": row.title_key,
        "approved_on": row.approved_on,
        "start_date": row.start_date,
        "status": row.status,
        "level": row.level,
        "instrument": row.instrument,
        **_codes(row.strategic_objectives, partners),
        "search_key": row.search_key,
    }


def interaction_item(row: Any) -> dict[str, Any]:
    """A public interaction from its row of `INTERACTION_SOURCE`, as `PublicInteraction`
    writes it."""
    return {
        "id": row.id,
        "occurred_on": row.occurred_on,
        "channel": row.channel,
        "subject": row.subject,
        "organizations": written(row.organizations),
        "strategic_objectives": list(row.strategic_objectives),
    }


def published_interaction(row: Any) -> dict[str, Any]:
    """The register's row of a public interaction, from its row of `INTERACTION_SOURCE`."""
    organizations = read_json(row.organizations)
    return {
        "id": row.id,
        "item": dump_rows(interaction_item(row)).decode(),
        "occurred_on": row.occurred_on,
        "subject_key": row.subject_key,
        "channel": row.channel,
        **_codes(row.strategic_objectives, organizations),
        "search_key": row.search_key,
    }


# --- Writing ---------------------------------------------------------------------------------


def _lock_key(record_id: uuid.UUID) -> int:
    return int.from_bytes(record_id.bytes[:4], "big", signed=True)


@dataclass(frozen=True)
class Rows:
    """One table of the register's own rows, and how it is written from the registry's tables
    (module docstring)."""

    # The table, and the form of the rows this code writes in it: raise `format` when what a
    # row holds changes.
    table: Table
    format: int
    # The tracked resource whose changes rewrite its rows, and that resource's table.
    resource_type: str
    records: Table
    # The public records, as the register shows them (`source`, whose rows `published` makes
    # rows of the table), and the condition that makes a record public.
    source: Select[Any]
    public: ColumnElement[bool]
    published: Callable[[Any], dict[str, Any]]
    # The links that name the organizations of a record, and the link's column of the record.
    links: Table
    owner_column: str
    # The first key of the advisory locks of the rows (the second is the record's).
    lock_space: int

    def _write(self, connection: Connection, rows: Sequence[Any]) -> None:
        if rows:
            connection.execute(insert(self.table), [self.published(row) for row in rows])

    def _of_ids(self) -> Select[Any]:
        return self.source.where(self.records.c.id.in_(bindparam("ids", expanding=True)))

    def _batch(self, *conditions: ColumnElement[bool]) -> Select[Any]:
        """The next rows of `source` by id: their ids first, so that each row's organizations
        (and decisions) are built for the batch alone (sorted, a statement builds them for
        every row it sorts)."""
        ids = (
            select(self.records.c.id)
            .where(self.public, *conditions)
            .order_by(self.records.c.id)
            .limit(bindparam("batch"))
        )
        return self.source.where(self.records.c.id.in_(ids.scalar_subquery())).order_by(
            self.records.c.id
        )

    def refresh(self, connection: Connection, record_ids: Iterable[uuid.UUID]) -> None:
        """Write anew the rows of these records, in this transaction: none for those not
        public (module docstring: the locks)."""
        ids = sorted(set(record_ids))
        if not ids:
            return
        transaction_locks(connection, self.lock_space, map(_lock_key, ids))
        statement = self._of_ids()
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            connection.execute(delete(self.table).where(self.table.c.id.in_(chunk)))
            self._write(connection, connection.execute(statement, {"ids": chunk}).all())

    def rebuild(self, connection: Connection) -> None:
        """Write every row anew, from the registry's tables, and note the format. On
        PostgreSQL the table is locked against other writers until the transaction ends: a
        change committed meanwhile waits, then writes its rows over the new ones."""
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"LOCK TABLE {self.table.name} IN EXCLUSIVE MODE"))
            # Many small statements alike: compiling each (on a table whose statistics make it
            # look large) costs more than running it.
            connection.execute(text("SET LOCAL jit = off"))
        connection.execute(delete(self.table))
        first, after = self._batch(), self._batch(self.records.c.id > bindparam("after"))
        rows = connection.execute(first, {"batch": BATCH}).all()
        while rows:
            self._write(connection, rows)
            rows = connection.execute(after, {"after": rows[-1].id, "batch": BATCH}).all()
        connection.execute(delete(FORMATS).where(FORMATS.c.name == self.table.name))
        connection.execute(insert(FORMATS), {"name": self.table.name, "format": self.format})

    def written_format(self, connection: Connection) -> int | None:
        """The format the rows were last written in (None: never)."""
        found = connection.execute(
            select(FORMATS.c.format).where(FORMATS.c.name == self.table.name)
        ).scalar()
        return None if found is None else int(found)

    def of_organizations(
        self, connection: Connection, organizations: set[uuid.UUID]
    ) -> set[uuid.UUID]:
        """The records that name any of these organizations, public or not: one not public
        as this transaction reads it may be made public by another meanwhile, which links no
        organization anew and so locks none. Its row's lock then orders the two (`refresh`
        writes no row for a record not public): the later reads what the earlier committed."""
        statement = select(self.links.c[self.owner_column]).where(
            self.links.c.organization_id.in_(sorted(organizations))
        )
        return set(connection.execute(statement).scalars())


AGREEMENTS = Rows(
    table=PublishedAgreement.__table__,  # type: ignore[attr-defined]
    format=1,
    resource_type="agreement",  # a decision changes its agreement too
    records=AGREEMENT_TABLE,
    source=AGREEMENT_SOURCE,
    public=_PUBLIC_AGREEMENT,
    published=published_agreement,
    links=PARTNERS,
    owner_column="agreement_id",
    lock_space=7_728_354,
)

INTERACTIONS = Rows(
    table=PublishedInteraction.__table__,  # type: ignore[attr-defined]
    format=1,
    resource_type="interaction",
    records=INTERACTION_TABLE,
    source=INTERACTION_SOURCE,
    public=_PUBLIC_INTERACTION,
    published=published_interaction,
    links=PARTICIPANTS,
    owner_column="interaction_id",
    lock_space=7_728_355,
)

TABLES = (AGREEMENTS, INTERACTIONS)


def rebuild(connection: Connection) -> None:
    """Write every row of every table anew (`Rows.rebuild`)."""
    for rows in TABLES:
        rows.rebuild(connection)


def rebuild_when_stale(connection: Connection) -> None:
    """After an upgrade to head: write anew the rows of each table not in this code's format."""
    for rows in TABLES:
        if rows.written_format(connection) != rows.format:
            rows.rebuild(connection)


def _changed(session: Session, actor: Actor, changes: Sequence[Change]) -> None:
    """A transaction's changes, before it commits: the rows of the records they alter."""
    touched: dict[str, set[uuid.UUID]] = {rows.resource_type: set() for rows in TABLES}
    organizations: set[uuid.UUID] = set()
    for change in changes:
        if change.resource_type in touched:
            touched[change.resource_type].add(uuid.UUID(change.resource_id))
        elif (
            change.resource_type == "organization"
            and change.before is not None  # a new organization is in no record yet
            and ORGANIZATION_SHOWN & set(change.after or {})
        ):
            organizations.add(uuid.UUID(change.resource_id))
    connection = session.connection()
    for rows in TABLES:
        ids = touched[rows.resource_type]
        if organizations:
            ids |= rows.of_organizations(connection, organizations)
        rows.refresh(connection, ids)


def _register() -> None:
    read_changes(PUBLIC_REGISTER, _changed, stage=KEEPS_COPIES)
    after_upgrade(rebuild_when_stale)


_register()
