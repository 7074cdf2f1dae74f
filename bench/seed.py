"""The bench's database: made for the run, migrated, filled in bulk, and removed at the end.

Rows go in through SQLAlchemy Core inserts, a thousand at a time, with the computed columns the
service would have written (`organizations.service.keys`, the normalized subjects and titles,
the required approvals): seeding 10,000 organizations, as many interactions and half as many
agreements (with their link rows) takes seconds, where creating them through the API one by
one would take minutes. Rows inserted this way write no audit events (the bench reads, it does
not audit).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.auth.scopes import Principal

OPERATOR = Principal(subject="operator:bench", client_id=None, role=None, scopes=frozenset())
BATCH = 1000

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

Rows = dict[str, list[dict[str, Any]]]


def _record(draw: random.Random, index: int, started: datetime) -> dict[str, Any]:
    created = started + timedelta(minutes=index)
    return {
        "id": uuid.UUID(int=draw.getrandbits(128), version=4),
        "created_at": created,
        "updated_at": created,
        "version": 1,
    }


def interaction_rows(
    organization_ids: list[uuid.UUID], count: int, *, seed: int = 20261201
) -> Rows:
    """`count` interactions with one to three of the organizations each, and their link rows:
    {"interaction": [...], "interaction_organization": [...], "interaction_objective": [...]}."""
    from app.core.text import normalize

    draw = random.Random(seed)  # noqa: S311 (test data, not a secret)
    started = datetime(2026, 1, 1, tzinfo=UTC)
    rows: Rows = {"interaction": [], "interaction_organization": [], "interaction_objective": []}
    for index in range(count):
        row = _record(draw, index, started)
        met = draw.sample(organization_ids, draw.randint(1, 3))
        objectives = draw.sample(_OBJECTIVES, draw.randint(0, 2))
        subject = f"{' '.join(draw.sample(_WORDS, 3))} {index:05d}"
        rows["interaction"].append(
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
                "subject_key": normalize(subject),
                "search_key": normalize(subject),
            }
        )
        rows["interaction_organization"] += [
            {"interaction_id": row["id"], "organization_id": item, "position": place}
            for place, item in enumerate(met)
        ]
        rows["interaction_objective"] += [
            {"interaction_id": row["id"], "objective_code": code} for code in objectives
        ]
    return rows


def agreement_rows(organization_ids: list[uuid.UUID], count: int, *, seed: int = 20261202) -> Rows:
    """`count` agreements with one or two partners each (a third without dates), and their
    link rows: {"agreement": [...], "agreement_partner": [...], ...}. Every other one was
    approved by the Bureau (one decision: `approved`, or `cpm_review` when the CPM must decide
    too); the others are drafts."""
    from app.agreements.workflow import ApprovalFacts, required_approvals
    from app.core.text import normalize

    draw = random.Random(seed)  # noqa: S311 (test data, not a secret)
    started = datetime(2026, 1, 1, tzinfo=UTC)
    rows: Rows = {
        "agreement": [],
        "agreement_partner": [],
        "agreement_objective": [],
        "decision": [],
    }
    for index in range(count):
        row = _record(draw, index, started)
        partners = draw.sample(organization_ids, draw.randint(1, 2))
        objectives = draw.sample(_OBJECTIVES, draw.randint(1, 2))
        title = f"{' '.join(draw.sample(_WORDS, 3))} {index:05d}"
        level = draw.choice(("cooperation", "partnership"))
        instrument = draw.choice(_INSTRUMENTS)
        start = (started + timedelta(days=draw.randrange(1000))).date() if index % 3 else None
        facts = ApprovalFacts(level, instrument, False, False, None)
        approvals = [str(body) for body in required_approvals(facts)]
        status = "draft"
        if index % 2:
            status = "approved" if approvals == ["bureau"] else "cpm_review"
            decided = _record(draw, index, started)
            rows["decision"].append(
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
        rows["agreement"].append(
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
                "approved_on": rows["decision"][-1]["decided_on"] if status == "approved" else None,
                "title_key": normalize(title),
                "search_key": normalize(title),
                "due_diligence_revision": 0,
            }
        )
        rows["agreement_partner"] += [
            {"agreement_id": row["id"], "organization_id": item, "position": place}
            for place, item in enumerate(partners)
        ]
        rows["agreement_objective"] += [
            {"agreement_id": row["id"], "objective_code": code} for code in objectives
        ]
    return rows


async def _insert_all(database: Any, rows: Rows) -> None:
    """Each table's rows, in the order given (records before their links), in batches."""
    from sqlmodel import SQLModel

    for name, table_rows in rows.items():
        table = SQLModel.metadata.tables[name]
        for start in range(0, len(table_rows), BATCH):
            await _insert(database, table, table_rows[start : start + BATCH])


async def seed(url: str, rows: int) -> tuple[str, str]:
    """Migrate the database at `url`, insert `rows` organizations, as many interactions and
    half as many agreements, and register a Secretariat client: its (client_id,
    client_secret)."""
    from app.audit import service as audit_trail  # the audit trail records the client's creation
    from app.auth.clients import create_client
    from app.auth.scopes import Role
    from app.core.db import Database
    from app.core.migrate import upgrade
    from app.core.tracking import set_actor
    from app.models import Organization

    assert audit_trail.write_events is not None
    await upgrade(url)
    database = Database(url, poolclass=NullPool)
    table: Any = Organization.__table__  # type: ignore[attr-defined]
    try:
        batch: list[dict[str, Any]] = []
        organization_ids: list[uuid.UUID] = []
        for row in organization_rows(rows):
            organization_ids.append(row["id"])
            batch.append(row)
            if len(batch) == BATCH:
                await _insert(database, table, batch)
                batch = []
        if batch:
            await _insert(database, table, batch)
        await _insert_all(database, interaction_rows(organization_ids, rows))
        await _insert_all(database, agreement_rows(organization_ids, max(rows // 2, 1)))
        async with database.session(write=True) as session:
            set_actor(session, OPERATOR)
            issued = await create_client(session, name="bench", role=Role.secretariat)
            await session.commit()
    finally:
        await database.dispose()
    return issued.client_id, issued.client_secret


async def _insert(database: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    async with database.session(write=True) as session:
        await session.execute(insert(table), rows)
        await session.commit()


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


async def settle(kind: str, postgres_url: str, url: str) -> None:
    """After the bulk load, PostgreSQL's statistics and visibility map as autovacuum would soon
    leave them (it would otherwise do so in the middle of the run, changing plans)."""
    if kind == "postgresql":
        name = make_url(url).database
        await PostgresServer(postgres_url).execute("VACUUM ANALYZE", database=name)
