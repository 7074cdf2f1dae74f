"""`ippc demo`: the fictional register, loaded through the services on both databases, whole,
idempotent, resumable after an interruption, readable over HTTP, and never in production.

The module loads the demo once, with the real command in its own process; the tests read that
database. One test loads it again in process, interrupted on purpose.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, func, literal, select, text
from sqlmodel import SQLModel

import app.models  # noqa: F401  (every table registered with the metadata)
from app.agreements import service as agreements
from app.agreements.workflow import AgreementStatus
from app.core.db import Database
from app.core.tracking import set_actor
from app.demo import data, loader
from app.demo.records import Revise, action_of
from app.main import create_app
from app.organizations.schemas import Category
from tests.conftest import (
    IPPC,
    TEST_OPERATOR,
    DatabaseFactory,
    clean_environment,
    fetch_token,
    make_settings,
    null_pool_database,
    register_client,
)


def _ippc_demo(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IPPC, "demo"],
        cwd=cwd,
        env=clean_environment(IPPC_LOG_LEVEL="WARNING", **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def _snapshot(url: str) -> dict[str, tuple[int, int]]:
    """Every table's row count, and the sum of its rows' versions where it has them (a change
    of any stored resource raises its version)."""
    database = null_pool_database(url)
    tables: list[Table] = list(SQLModel.metadata.sorted_tables)
    try:
        async with database.session(write=False) as session:
            counts = {}
            for table in tables:
                version = (
                    func.coalesce(func.sum(table.c.version), 0)
                    if "version" in table.c
                    else literal(0)
                )
                row = (
                    await session.execute(select(func.count(), version).select_from(table))
                ).one()
                counts[table.name] = (int(row[0]), int(row[1]))
            return counts
    finally:
        await database.dispose()


async def _scalars(url: str, sql: str) -> list[Any]:
    database = null_pool_database(url)
    try:
        async with database.session(write=False) as session:
            return list((await session.execute(text(sql))).scalars())
    finally:
        await database.dispose()


@dataclass
class Loaded:
    url: str
    first: subprocess.CompletedProcess[str]
    snapshot: dict[str, tuple[int, int]]


@pytest.fixture(scope="module")
def loaded(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    """A fresh database with the demo loaded by `ippc demo`, run as a user would."""
    url, name = asyncio.run(databases.fresh())
    try:
        first = _ippc_demo(tmp_path_factory.mktemp("demo"), DATABASE_URL=url)
        assert first.returncode == 0, first.stderr
        yield Loaded(url, first, asyncio.run(_snapshot(url)))
    finally:
        asyncio.run(databases.discard(name))


# --- The data itself -----------------------------------------------------------------------------


def test_the_records_that_identify_each_other_are_unique() -> None:
    """The loader finds what exists by these keys: they must name one record each."""
    keys = [item.key for item in data.ORGANIZATIONS]
    assert len(set(keys)) == len(keys)
    titles = [item.title for item in data.AGREEMENTS]
    assert len(set(titles)) == len(titles)
    contacts = [(item.occurred_on, item.subject) for item in data.INTERACTIONS]
    assert len(set(contacts)) == len(contacts)
    members = [item.name for item in data.BUREAU]
    assert len(set(members)) == len(members)


def test_revisions_of_a_draft_never_follow_each_other() -> None:
    """A resumed load repeats the revisions after the last step the history shows; two in a row
    could undo each other's changes and so leave events."""
    for item in data.AGREEMENTS:
        steps = item.all_steps
        for before, after in itertools.pairwise(steps):
            assert not (isinstance(before, Revise) and isinstance(after, Revise)), item.title


def test_every_organization_is_marked_fictional() -> None:
    for item in data.ORGANIZATIONS:
        assert item.website.endswith(".example"), item.key
        assert data.FICTIONAL in item.description, item.key


# --- The loaded register -------------------------------------------------------------------------


async def test_the_register_holds_the_whole_demo(loaded: Loaded) -> None:
    url = loaded.url
    assert "39 new" in loaded.first.stdout
    categories = await _scalars(url, "SELECT DISTINCT category FROM organization")
    assert set(categories) == {str(category) for category in Category}
    assert len(await _scalars(url, "SELECT id FROM organization")) >= 30
    assert await _scalars(url, "SELECT id FROM organization WHERE archived") != []
    assert await _scalars(url, "SELECT id FROM organization WHERE parent_id IS NOT NULL") != []

    assert len(await _scalars(url, "SELECT id FROM interaction")) >= 100
    public = await _scalars(url, "SELECT id FROM interaction WHERE visibility = 'public'")
    assert len(public) >= 20
    years = await _scalars(url, "SELECT DISTINCT occurred_on FROM interaction")
    assert {str(day)[:4] for day in years} >= {str(year) for year in range(2019, 2027)}
    assert await _scalars(url, "SELECT id FROM interaction WHERE agreement_id IS NOT NULL") != []
    channels = await _scalars(url, "SELECT DISTINCT channel FROM interaction")
    assert len(channels) == 6

    assert len(await _scalars(url, "SELECT id FROM agreement")) >= 20
    statuses = await _scalars(url, "SELECT DISTINCT status FROM agreement")
    assert set(statuses) == {str(status) for status in AgreementStatus}
    levels = await _scalars(url, "SELECT DISTINCT level FROM agreement")
    assert set(levels) == {"cooperation", "partnership"}
    assert len(await _scalars(url, "SELECT DISTINCT instrument FROM agreement")) == 7
    assert await _scalars(url, "SELECT id FROM agreement WHERE financing_amount IS NOT NULL")
    assert await _scalars(
        url, "SELECT agreement_id FROM agreement_partner GROUP BY agreement_id HAVING count(*) > 1"
    )
    assessed = await _scalars(url, "SELECT id FROM due_diligence")
    assert len(assessed) == len([item for item in data.AGREEMENTS if item.due_diligence])

    bodies = await _scalars(url, "SELECT DISTINCT governing_body FROM decision")
    assert set(bodies) == {"bureau", "cpm"}
    outcomes = await _scalars(url, "SELECT DISTINCT outcome FROM decision")
    assert set(outcomes) == {"approved", "rejected", "returned"}
    assert await _scalars(url, "SELECT id FROM decision WHERE supersedes_id IS NOT NULL")
    assert len(await _scalars(url, "SELECT id FROM interest_declaration")) == 3
    members = await _scalars(url, "SELECT name FROM oauth_client WHERE role = 'bureau'")
    assert sorted(members) == sorted(member.name for member in data.BUREAU)


async def test_decisions_carry_the_recusals_of_members_with_an_interest(loaded: Loaded) -> None:
    recusals = await _scalars(loaded.url, "SELECT recusals FROM decision")
    recused = [item for item in recusals if item not in ("[]", [])]
    assert len(recused) >= 3
    # The member whose interest ended at the end of 2023 recorded a decision on the same
    # partner in 2026, with no recusal.
    farah = await _scalars(
        loaded.url,
        "SELECT recusals FROM decision WHERE meeting_reference = "
        "'CPM Bureau, June 2026, agenda item 4'",
    )
    assert farah in (["[]"], [[]])


async def test_every_change_went_through_the_audit_trail(loaded: Loaded) -> None:
    """One event per created row and per step of every agreement's story, by the operator for
    the Secretariat's work and by each member for theirs."""
    actions = await _scalars(
        loaded.url, "SELECT action FROM audit_event WHERE resource_type = 'agreement'"
    )
    steps = [action_of(step) for item in data.AGREEMENTS for step in item.all_steps]
    assert sorted(action for action in actions if action not in ("create", "update")) == sorted(
        action for action in steps if action is not None
    )
    decided_by = await _scalars(
        loaded.url,
        "SELECT DISTINCT actor_subject FROM audit_event WHERE resource_type = 'decision'",
    )
    members = await _scalars(loaded.url, "SELECT CAST(id AS TEXT) FROM oauth_client")
    assert {str(uuid.UUID(str(subject))) for subject in decided_by} <= {
        str(uuid.UUID(str(member))) for member in members
    }
    operators = await _scalars(
        loaded.url,
        "SELECT DISTINCT actor_subject FROM audit_event WHERE resource_type = 'organization'",
    )
    assert len(operators) == 1
    assert operators[0].startswith("operator:")


def test_a_second_run_changes_nothing(loaded: Loaded, tmp_path: Path) -> None:
    before = asyncio.run(_snapshot(loaded.url))
    again = _ippc_demo(tmp_path, DATABASE_URL=loaded.url)
    assert again.returncode == 0, again.stderr
    assert "Nothing changed" in again.stdout
    assert asyncio.run(_snapshot(loaded.url)) == before


async def test_the_register_reads_over_http(loaded: Loaded) -> None:
    application = create_app(make_settings(loaded.url), database=null_pool_database(loaded.url))
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client_id, secret = await register_client(application, "integration")
            headers = {"Authorization": f"Bearer {await fetch_token(http, client_id, secret)}"}

            async def items(path: str) -> list[dict[str, Any]]:
                response = await http.get(path, headers=headers)
                assert response.status_code == 200, response.text
                found: list[dict[str, Any]] = response.json()["items"]
                return found

            everyone = await items("/v1/organizations?archived=all&limit=200")
            assert len(everyone) == len(data.ORGANIZATIONS)
            assert len(await items("/v1/organizations?limit=200")) == len(everyone) - 1
            nppos = await items("/v1/organizations?category=nppo&q=vegetaux")
            assert [item["acronym"] for item in nppos] == ["ONPV"]
            public = await items("/v1/interactions?visibility=public&limit=200")
            assert len(public) == sum(item.visibility == "public" for item in data.INTERACTIONS)
            active = await items("/v1/agreements?status=active&limit=200")
            assert {item["status"] for item in active} == {"active"}
            financed = await items("/v1/agreements?has_financing=true&limit=200")
            assert all(item["financing"]["amount"] for item in financed)
            decisions = await items("/v1/decisions?limit=200")
            assert any(item["recusals"] for item in decisions)
            corrected = next(item for item in decisions if item["supersedes_id"])
            history = await items(f"/v1/agreements/{corrected['agreement_id']}/history")
            assert [entry["action"] for entry in history] == [
                "submit",
                "bureau_approved",
                "cpm_approved",
                "activate",
                "correction",
            ]
            assert len(await items("/v1/interest-declarations")) == len(data.DECLARATIONS)
            assert await items("/v1/audit-events?resource_type=decision&limit=10")
    finally:
        await application.state.database.dispose()


# --- Resuming, refusing ------------------------------------------------------------------------


class Interrupted(Exception):
    pass


async def test_an_interrupted_load_goes_on_where_it_stopped_and_never_guesses(
    database_url: str, loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step commits on its own: a load cut short in the middle of the agreements leaves
    them half told, and the next load completes them. The result is the same register, row for
    row and event for event, as a load that was never interrupted. And a demo agreement that
    was moved by hand stops the load, named, rather than being guessed at."""
    database = null_pool_database(database_url)
    apply = loader._Loader._apply
    calls = 0

    async def failing(self: Any, item: Any, agreement_id: uuid.UUID, step: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls == 40:
            raise Interrupted
        applied: bool = await apply(self, item, agreement_id, step)
        return applied

    try:
        with monkeypatch.context() as patched:
            patched.setattr(loader._Loader, "_apply", failing)
            with pytest.raises(Interrupted):
                await loader.load(database, TEST_OPERATOR.subject)
        summary = await loader.load(database, TEST_OPERATOR.subject)
        assert summary.organizations.created == 0
        assert 0 < summary.workflow_steps.created < summary.workflow_steps.present
        assert not (await loader.load(database, "operator:someone-else")).changed
        assert await _snapshot(database_url) == loaded.snapshot

        # The demo does not guess: a demo agreement whose history is not the demo's is named.
        draft = next(item for item in data.AGREEMENTS if not item.steps and item.due_diligence)
        agreement_id = await _agreement_id(database, draft.title)
        async with database.session(write=True) as session:
            operator = loader.secretariat(TEST_OPERATOR.subject)
            set_actor(session, operator)
            await agreements.transition(
                session, agreement_id, "withdraw", None, principal=operator, if_match=None
            )
            await session.commit()
        with pytest.raises(loader.DemoFailed, match=draft.title):
            await loader.load(database, TEST_OPERATOR.subject)
    finally:
        await database.dispose()


async def _agreement_id(database: Database, title: str) -> uuid.UUID:
    async with database.session(write=False) as session:
        found = await session.execute(
            text("SELECT id FROM agreement WHERE title = :title"), {"title": title}
        )
        return uuid.UUID(str(found.scalar_one()))


@pytest.mark.sqlite_only
def test_production_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "production.db"
    result = _ippc_demo(
        tmp_path,
        DATABASE_URL=f"sqlite:///{target}",
        IPPC_ENVIRONMENT="production",
        IPPC_AUTH_MODE="external",
        IPPC_JWKS_URL="https://idp.example/jwks.json",
    )
    assert result.returncode == 1
    assert "never loaded when IPPC_ENVIRONMENT=production" in result.stderr
    assert not target.exists()  # refused before touching any database


@pytest.mark.sqlite_only
def test_production_with_the_embedded_issuer_is_refused_with_a_message(tmp_path: Path) -> None:
    """Production refuses the embedded issuer before anything else: the command says so in one
    line, not with a traceback."""
    target = tmp_path / "production.db"
    result = _ippc_demo(tmp_path, DATABASE_URL=f"sqlite:///{target}", IPPC_ENVIRONMENT="production")
    assert result.returncode == 2
    assert result.stderr.startswith("ippc: the settings are not valid: IPPC_AUTH_MODE=embedded")
    assert "Traceback" not in result.stderr
    assert not target.exists()
