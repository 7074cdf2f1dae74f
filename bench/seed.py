"""The bench's database: made for the run, migrated, filled in bulk, and removed at the end.

`--rows N` seeds N agreements, as many interactions and an organization for every ten
agreements (`Sizes`), with their link rows and decisions, and with the computed columns the
service would have written (`organizations.service.keys`, the normalized subjects and titles,
the required approvals, the approval date, the partners' places). The rows are generated as
streams (`organization_rows`, `interactions`, `agreements`) and written a chunk at a time
(`CHUNK` records), so that memory stays the same at any size, through each database's own
fast path (`BulkWriter`): PostgreSQL's `COPY`, SQLite's prepared `INSERT` in one transaction.
Rows written this way make no audit events (the bench reads, it does not audit).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
from sqlalchemy import Dialect, Table
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.auth.scopes import Principal

OPERATOR = Principal(subject="operator:bench", client_id=None, role=None, scopes=frozenset())

# Words the seeded names are made of: some with accents, so that the normalized keys differ
# from the names as they do in real data.
_WORDS = (
    "National",
    "Regional",
    "Plant",
    "Protection",
    "Organization",
    "Organización",
    "Protección",
    "Société",
    "Végétaux",
    "Seed",
    "Growers",
    "Federation",
    "Research",
    "Institute",
    "Council",
    "Association",
    "Phytosanitary",
    "Agency",
    "Centre",
    "Fund",
)
_COUNTRIES = ("KE", "FR", "MX", "BR", "IN", "CN", "US", "NG", "AU", "EG", "DE", "JP", "CL", "ZA")
_CATEGORIES = (
    "nppo",
    "rppo",
    "un_organization",
    "intergovernmental_organization",
    "industry_association",
    "private_company",
    "ngo",
    "academic_research",
    "foundation_donor",
    "other",
)


def organization_rows(count: int, *, seed: int = 20261130) -> Iterator[dict[str, Any]]:
    """`count` organizations as rows of the table, each name unique. One in ten is a branch of
    an organization seeded before it (so that reads count branches, as real ones do)."""
    from app.organizations.service import keys

    draw = random.Random(seed)  # noqa: S311 (test data, not a secret)
    started = datetime(2026, 1, 1, tzinfo=UTC)
    ids: list[uuid.UUID] = []
    for index in range(count):
        words = draw.sample(_WORDS, draw.randint(2, 4))
        name = f"{' '.join(words)} {index:05d}"
        acronym = "".join(word[0] for word in words).upper() if draw.random() < 0.7 else None
        country = draw.choice(_COUNTRIES) if draw.random() < 0.8 else None
        created = started + timedelta(minutes=index)
        id_ = uuid.UUID(int=draw.getrandbits(128), version=4)
        parent = ids[draw.randrange(len(ids))] if ids and index % 10 == 9 else None
        ids.append(id_)
        yield {
            "id": id_,
            "created_at": created,
            "updated_at": created,
            "version": 1,
            "name": name,
            "acronym": acronym,
            "category": draw.choice(_CATEGORIES),
            "sector": draw.choice(("public", "private", None)),
            "geographic_scope": "national" if country else draw.choice(("regional", "global")),
            "country": country,
            "website": f"https://www.example.org/{index}" if draw.random() < 0.5 else None,
            "description": f"Seeded for the bench: {name}." if draw.random() < 0.3 else None,
            "parent_id": parent,
            "archived": False,
            **keys(name, acronym, country),
        }


_CHANNELS = ("meeting", "correspondence", "call", "event", "visit", "other")
_OBJECTIVES = ("2020-2030.A", "2020-2030.B", "2020-2030.C")
_INSTRUMENTS = ("informal_arrangement", "letter_of_intent", "memorandum_of_understanding")

# Rows by table name, each table's rows in order, the tables in the order they are written
# (records before the rows that refer to them).
Rows = dict[str, list[dict[str, Any]]]

# How many records (an interaction or an agreement with its link rows, an organization) are
# generated and written at a time: memory holds one chunk, whatever the size of the run.
CHUNK = 5_000


@dataclass(frozen=True)
class Sizes:
    """What `--rows N` seeds: N agreements (one or two partners each; every other one with a
    Bureau decision, about one in twelve of all approved and so public), N interactions (one to
    three organizations each, half of them public), and an organization for every ten
    agreements (at least `MIN_ORGANIZATIONS`), so that each organization is referred to by
    about as many records at every size."""

    agreements: int

    MIN_ORGANIZATIONS: ClassVar[int] = 20
    AGREEMENTS_PER_ORGANIZATION: ClassVar[int] = 10

    @property
    def organizations(self) -> int:
        return max(self.agreements // self.AGREEMENTS_PER_ORGANIZATION, self.MIN_ORGANIZATIONS)

    @property
    def interactions(self) -> int:
        return self.agreements

    def describe(self) -> str:
        return (
            f"{self.agreements:,} agreements, {self.interactions:,} interactions, "
            f"{self.organizations:,} organizations"
        )


@cache
def _normalized(words: str) -> str:
    """`core.text.normalize` of the words a subject or a title starts with: the same few
    thousand sets of words come back, each followed by the record's number, which normalizes to
    itself (`normalize(f"{words} {number}")` is this and the number: a test checks each key)."""
    from app.core.text import normalize

    return normalize(words)


def _record(draw: random.Random, index: int, started: datetime) -> dict[str, Any]:
    created = started + timedelta(minutes=index)
    return {
        "id": uuid.UUID(int=draw.getrandbits(128), version=4),
        "created_at": created,
        "updated_at": created,
        "version": 1,
    }


def interactions(
    organization_ids: Sequence[uuid.UUID], count: int, *, seed: int = 20261201
) -> Iterator[Rows]:
    """`count` interactions, one at a time, each with one to three of the organizations: its
    rows {"interaction": [row], "interaction_organization": [...], "interaction_objective":
    [...]}."""
    from app.core.listing import spaced

    draw = random.Random(seed)  # noqa: S311 (test data, not a secret)
    started = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(count):
        row = _record(draw, index, started)
        met = draw.sample(organization_ids, draw.randint(1, 3))
        objectives = draw.sample(_OBJECTIVES, draw.randint(0, 2))
        words = " ".join(draw.sample(_WORDS, 3))
        subject = f"{words} {index:05d}"
        key = f"{_normalized(words)} {index:05d}"
        yield {
            "interaction": [
                {
                    **row,
                    "occurred_on": (started - timedelta(days=draw.randrange(3650))).date(),
                    "channel": draw.choice(_CHANNELS),
                    "subject": subject,
                    "summary": None,
                    "organization_ids": [str(item) for item in met],
                    "ippc_participants": ["Secretariat"],
                    "location": None,
                    "strategic_objectives": objectives,
                    "follow_up": None,
                    "agreement_id": None,
                    "visibility": draw.choice(("internal", "public")),
                    "subject_key": key,
                    "search_key": key,
                    "objective_codes": spaced(objectives),
                }
            ],
            "interaction_organization": [
                {"interaction_id": row["id"], "organization_id": item, "position": place}
                for place, item in enumerate(met)
            ],
            "interaction_objective": [
                {"interaction_id": row["id"], "objective_code": code} for code in objectives
            ],
        }


def agreements(
    organization_ids: Sequence[uuid.UUID],
    count: int,
    *,
    categories: Mapping[uuid.UUID, str],
    seed: int = 20261202,
) -> Iterator[Rows]:
    """`count` agreements, one at a time, each with one or two partners (a third without
    dates): its rows {"agreement": [row], "agreement_partner": [...], "agreement_objective":
    [...], "decision": [...]}. Every other one was approved by the Bureau (one decision, and
    the status `approved`, or `cpm_review` when the CPM must decide too); the others are
    drafts. `categories` gives each organization's category (the codes kept beside it)."""
    from app.agreements.workflow import ApprovalFacts, required_approvals
    from app.core.listing import spaced

    draw = random.Random(seed)  # noqa: S311 (test data, not a secret)
    started = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(count):
        row = _record(draw, index, started)
        partners = draw.sample(organization_ids, draw.randint(1, 2))
        objectives = draw.sample(_OBJECTIVES, draw.randint(1, 2))
        words = " ".join(draw.sample(_WORDS, 3))
        title = f"{words} {index:05d}"
        level = draw.choice(("cooperation", "partnership"))
        instrument = draw.choice(_INSTRUMENTS)
        start = (started + timedelta(days=draw.randrange(1000))).date() if index % 3 else None
        facts = ApprovalFacts(level, instrument, False, False, None)
        approvals = [str(body) for body in required_approvals(facts)]
        status = "draft"
        decisions = []
        if index % 2:
            status = "approved" if approvals == ["bureau"] else "cpm_review"
            decided = _record(draw, index, started)
            decisions.append(
                {
                    **decided,
                    "agreement_id": row["id"],
                    "governing_body": "bureau",
                    "outcome": "approved",
                    "rationale": f"Serves the objectives {', '.join(objectives)}.",
                    "meeting_reference": f"Bureau, session {index // 40 + 1}, item {index % 40}",
                    "decided_on": decided["created_at"].date(),
                    "participants": ["Bureau"],
                    "supersedes_id": None,
                    "recorded_by": "bench",
                    "recorded_by_name": None,
                    "recusals": [],
                    "agreement_status": status,
                }
            )
        key = f"{_normalized(words)} {index:05d}"
        yield {
            "agreement": [
                {
                    **row,
                    "title": title,
                    "purpose": None,
                    "public_summary": None,
                    "level": level,
                    "instrument": instrument,
                    "partner_ids": [str(item) for item in partners],
                    "strategic_objectives": objectives,
                    "scope_of_work": None,
                    "start_date": start,
                    "end_date": start + timedelta(days=730) if start else None,
                    "shares_risks": False,
                    "shares_resources": False,
                    "shares_responsibilities": False,
                    "financing_amount": None,
                    "financing_currency": None,
                    "financing_direction": None,
                    "legal_arrangement": None,
                    "status": status,
                    "required_approvals": approvals,
                    "signed_on": None,
                    "approved_on": decisions[0]["decided_on"] if status == "approved" else None,
                    "last_decision_id": decisions[0]["id"] if decisions else None,
                    "title_key": key,
                    "search_key": key,
                    "due_diligence_revision": 0,
                    "partner_categories": spaced(categories[item] for item in partners),
                    "objective_codes": spaced(objectives),
                }
            ],
            "agreement_partner": [
                {"agreement_id": row["id"], "organization_id": item, "position": place}
                for place, item in enumerate(partners)
            ],
            "agreement_objective": [
                {"agreement_id": row["id"], "objective_code": code} for code in objectives
            ],
            "decision": decisions,
        }


def in_chunks(records: Iterable[Rows], size: int = CHUNK) -> Iterator[Rows]:
    """The rows of `size` records at a time, by table, the tables in the order of the records'
    own (each record's row before the rows that refer to it)."""
    chunk: Rows = {}
    taken = 0
    for record in records:
        for name, rows in record.items():
            chunk.setdefault(name, []).extend(rows)
        taken += 1
        if taken == size:
            yield chunk
            chunk, taken = {}, 0
    if taken:
        yield chunk


def collect(records: Iterable[Rows]) -> Rows:
    """Every row of the records, by table, at once (for small counts: the tests)."""
    rows: Rows = {}
    for chunk in in_chunks(records):
        for name, table_rows in chunk.items():
            rows.setdefault(name, []).extend(table_rows)
    return rows


# The constraints and indexes of the tables `BulkWriter` fills, on PostgreSQL: set aside for the
# load and made again after it, from their own definitions (a sorted build of each, where
# keeping them up to date row by row, at random places of indexes keyed by random ids larger
# than the server's buffers, made a load grow faster than its rows). Foreign keys first (those
# of other tables that refer to these included), then primary keys and unique constraints,
# then the other indexes; made again in the reverse order. Partial indexes stay: they hold few
# rows, and their condition as PostgreSQL prints it back is not the text the migration wrote (the
# same index, but not the same definition: a test compares the schema before and after).
_CONSTRAINTS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype::text
FROM pg_constraint
WHERE contype IN ('f', 'p', 'u')
  AND (conrelid = ANY($1::regclass[]) OR (contype = 'f' AND confrelid = ANY($1::regclass[])))
ORDER BY contype = 'f' DESC, conrelid::regclass::text, conname
"""
_INDEXES = """
SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
FROM pg_index
WHERE indrelid = ANY($1::regclass[])
  AND indpred IS NULL
  AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conindid <> 0)
ORDER BY 1
"""
# Memory for each index the load builds again (a session setting): a sort in memory.
_BUILD_MEMORY = "512MB"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class BulkWriter:
    """Rows into their tables through the database's own fast path, in one transaction: on
    PostgreSQL the driver's `COPY` (asyncpg's `copy_records_to_table`, binary), the tables'
    constraints and indexes set aside meanwhile and built again at the end; on SQLite one
    prepared `INSERT` run with `executemany`. Values are encoded by the columns' own types for
    the service's dialect (`bind_processor`), as an ORM or Core insert would write them."""

    def __init__(self, url: str, dialect: Dialect, tables: Sequence[str]) -> None:
        self.url = url
        self.dialect = dialect
        self.tables = list(tables)
        self.counts: dict[str, int] = {}
        self._encoders: dict[tuple[str, tuple[str, ...]], Callable[[Any], list[Any]]] = {}
        self._postgres: Any = None
        self._sqlite: sqlite3.Connection | None = None
        self._restore: list[str] = []
        # Seconds spent making the constraints and indexes again (PostgreSQL).
        self.rebuild_seconds = 0.0

    async def __aenter__(self) -> BulkWriter:
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            self._sqlite = sqlite3.connect(str(url.database), isolation_level=None)
            # A cache as large as the load's indexes; no wait for the disk (a bench's database).
            self._sqlite.execute("PRAGMA cache_size=-524288")
            self._sqlite.execute("PRAGMA synchronous=OFF")
            self._sqlite.execute("BEGIN")
            return self
        self._postgres = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
        )
        await self._postgres.execute("BEGIN")
        await self._postgres.execute(f"SET LOCAL maintenance_work_mem = '{_BUILD_MEMORY}'")
        await self._set_aside()
        return self

    async def _set_aside(self) -> None:
        """Drop the tables' constraints and indexes, keeping how to make them again."""
        connection = self._postgres
        drops: list[str] = []
        constraints = await connection.fetch(_CONSTRAINTS, self.tables)
        for table, name, _definition, _kind in constraints:
            drops.append(f"ALTER TABLE {table} DROP CONSTRAINT {_quoted(name)}")
        indexes = await connection.fetch(_INDEXES, self.tables)
        drops.extend(f"DROP INDEX {name}" for name, _definition in indexes)
        restore = [definition for _name, definition in indexes]
        restore[:0] = [
            f"ALTER TABLE {table} ADD CONSTRAINT {_quoted(name)} {definition}"
            for table, name, definition, kind in constraints
            if kind != "f"
        ]
        restore.extend(
            f"ALTER TABLE {table} ADD CONSTRAINT {_quoted(name)} {definition}"
            for table, name, definition, kind in constraints
            if kind == "f"
        )
        for statement in drops:
            await connection.execute(statement)
        self._restore = restore

    async def __aexit__(self, kind: object, error: object, trace: object) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("COMMIT" if error is None else "ROLLBACK")
            self._sqlite.close()
        if self._postgres is not None:
            try:
                if error is None:
                    started = time.perf_counter()
                    for statement in self._restore:
                        await self._postgres.execute(statement)
                    self.rebuild_seconds = time.perf_counter() - started
                await self._postgres.execute("COMMIT" if error is None else "ROLLBACK")
            finally:
                await self._postgres.close()

    def _encoder(self, table: Table, columns: tuple[str, ...]) -> Callable[[Any], list[Any]]:
        """A row (a dict with these columns) as the values its insert would send."""
        key = (table.name, columns)
        encoder = self._encoders.get(key)
        if encoder is None:
            processors = [
                (index, process)
                for index, name in enumerate(columns)
                if (
                    process := table.c[name]
                    .type.dialect_impl(self.dialect)
                    .bind_processor(self.dialect)
                )
                is not None
            ]
            values_of = itemgetter(*columns)

            def encoder(row: Any) -> list[Any]:
                values = list(values_of(row)) if len(columns) > 1 else [values_of(row)]
                for index, process in processors:
                    values[index] = process(values[index])
                return values

            self._encoders[key] = encoder
        return encoder

    def encode(self, rows: Rows) -> list[tuple[str, tuple[str, ...], list[list[Any]]]]:
        """Each table's rows as the values sent: (table, columns, values of each row)."""
        from sqlmodel import SQLModel

        batches = []
        for name, table_rows in rows.items():
            if table_rows:
                columns = tuple(table_rows[0])
                encode = self._encoder(SQLModel.metadata.tables[name], columns)
                batches.append((name, columns, [encode(row) for row in table_rows]))
        return batches

    async def send(self, batches: list[tuple[str, tuple[str, ...], list[list[Any]]]]) -> None:
        """Encoded rows into their tables, in the order given."""
        for name, columns, records in batches:
            if self._sqlite is not None:
                names = ", ".join(f'"{column}"' for column in columns)
                marks = ", ".join("?" for _ in columns)
                # The table's and columns' names come from the models, never from input.
                insert = f'INSERT INTO "{name}" ({names}) VALUES ({marks})'  # noqa: S608
                self._sqlite.executemany(insert, records)
            else:
                await self._postgres.copy_records_to_table(
                    name, records=records, columns=list(columns)
                )
            self.counts[name] = self.counts.get(name, 0) + len(records)

    async def write(self, rows: Rows) -> None:
        """Each table's rows, in the order given."""
        await self.send(self.encode(rows))

    async def write_all(self, chunks: Iterable[Rows]) -> None:
        """Every chunk, in order. (Made in a thread while the database took the one before,
        the load was slower: the driver's encoding and the generator took turns at the GIL.)"""
        for chunk in chunks:
            await self.write(chunk)


# The tables `seed` fills, in the order it fills them.
TABLES = (
    "organization",
    "interaction",
    "interaction_organization",
    "interaction_objective",
    "agreement",
    "agreement_partner",
    "agreement_objective",
    "decision",
)


@dataclass(frozen=True)
class Seeded:
    """What `seed` wrote: the rows of each table, the Secretariat client's credentials, the
    seconds it took, and of them those spent making indexes and constraints again."""

    sizes: Sizes
    counts: Mapping[str, int]
    credentials: tuple[str, str]
    seconds: float
    rebuild_seconds: float = 0.0


async def seed(url: str, rows: int) -> Seeded:
    """Migrate the database at `url`, fill it with `Sizes(rows)` (streamed, a chunk at a time,
    through `BulkWriter`), and register a Secretariat client."""
    from app.audit import service as audit_trail  # the audit trail records the client's creation
    from app.auth.clients import create_client
    from app.auth.scopes import Role
    from app.core.db import Database
    from app.core.migrate import upgrade
    from app.core.tracking import set_actor
    from app.public import register

    assert audit_trail.write_events is not None
    started = time.perf_counter()
    sizes = Sizes(rows)
    await upgrade(url)
    database = Database(url, poolclass=NullPool)
    # The rows make no reference cycles: the collector would only walk millions of young
    # objects again and again (about a sixth of the load's CPU).
    collecting = gc.isenabled()
    gc.disable()
    try:
        async with BulkWriter(url, database.engine.dialect, TABLES) as writer:
            organization_ids: list[uuid.UUID] = []
            categories: dict[uuid.UUID, str] = {}

            def organizations() -> Iterator[Rows]:
                for row in organization_rows(sizes.organizations):
                    organization_ids.append(row["id"])
                    categories[row["id"]] = row["category"]
                    yield {"organization": [row]}

            await writer.write_all(in_chunks(organizations()))
            await writer.write_all(in_chunks(interactions(organization_ids, sizes.interactions)))
            await writer.write_all(
                in_chunks(agreements(organization_ids, sizes.agreements, categories=categories))
            )
        # The public register's own rows, written from the tables as after a migration, once
        # the planner has statistics of the tables just loaded.
        if database.engine.dialect.name == "postgresql":
            async with database.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("ANALYZE")
        async with database.session(write=True) as session:
            connection = await session.connection()
            await connection.run_sync(register.rebuild)
            await session.commit()
        async with database.session(write=True) as session:
            set_actor(session, OPERATOR)
            issued = await create_client(session, name="bench", role=Role.secretariat)
            await session.commit()
    finally:
        if collecting:
            gc.enable()
        await database.dispose()
    return Seeded(
        sizes=sizes,
        counts=dict(writer.counts),
        credentials=(issued.client_id, issued.client_secret),
        seconds=time.perf_counter() - started,
        rebuild_seconds=writer.rebuild_seconds,
    )


class DatabaseUnavailable(RuntimeError):
    """The PostgreSQL server cannot be reached, or refuses to create the bench's database."""


@dataclass
class PostgresServer:
    """The server named by `IPPC_BENCH_POSTGRES_URL`: the bench creates its database there."""

    admin_url: str

    async def _connect(self, database: str | None = None) -> Any:
        url = make_url(self.admin_url)
        return await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=database or url.database,
        )

    def url_for(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    async def execute(self, statement: str, database: str | None = None) -> None:
        connection = await self._connect(database)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


@contextmanager
def bench_database(kind: str, postgres_url: str, workdir: Path) -> Iterator[str]:
    """A database of the run's own, empty: its URL. Dropped (or deleted) on the way out."""
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="db-", dir=workdir))
        try:
            yield f"sqlite:///{directory / 'bench.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    server = PostgresServer(postgres_url)
    name = f"ippc_bench_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(server.execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        where = make_url(postgres_url).render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot create a database on {where}: {error}") from error
    try:
        yield server.url_for(name)
    finally:
        asyncio.run(server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _file_bytes(*names: str) -> int:
    return sum(Path(name).stat().st_size for name in names if Path(name).exists())


async def database_bytes(kind: str, postgres_url: str, url: str) -> int:
    """The size of the bench's database: PostgreSQL's `pg_database_size`, or SQLite's files."""
    name = make_url(url).database
    if kind == "sqlite":
        return _file_bytes(f"{name}", f"{name}-wal")
    connection = await PostgresServer(postgres_url)._connect(name)
    try:
        return int(await connection.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await connection.close()


async def settle(kind: str, postgres_url: str, url: str) -> None:
    """After the bulk load, PostgreSQL's statistics and visibility map as autovacuum would soon
    leave them (it would otherwise do so in the middle of the run, changing plans), and the
    loaded pages written out: a checkpoint otherwise writes them during the first minutes of
    the measurements (gigabytes at a million rows), slowing what it shares the machine with."""
    if kind == "postgresql":
        name = make_url(url).database
        server = PostgresServer(postgres_url)
        await server.execute("VACUUM ANALYZE", database=name)
        # A role without the right (PostgreSQL 15: `pg_checkpoint`) measures as it is.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await server.execute("CHECKPOINT", database=name)
