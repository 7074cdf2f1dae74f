"""Concurrent writes, with real concurrent connections on each database (issue: races)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, column_of, utcnow
from app.models import Organization
from app.organizations import service
from tests.organizations.conftest import Create, etag_of
from tests.registry import Paused, pause_after, still_waiting

URL = "/v1/organizations"


async def _count(app: FastAPI) -> int:
    database: Database = app.state.database
    async with database.session(write=False) as session:
        query = select(func.count()).select_from(Organization)
        return int((await session.execute(query)).scalar_one())


async def test_eight_patches_with_one_if_match_one_wins(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Contested")
    etag = etag_of(organization)

    async def patch(index: int) -> int:
        response = await client.patch(
            f"{URL}/{organization['id']}",
            json={"description": f"writer {index}"},
            headers={**secretariat, "If-Match": etag},
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(patch(index) for index in range(8))))
    assert statuses == Counter({200: 1, 412: 7})
    final = await client.get(f"{URL}/{organization['id']}", headers=secretariat)
    assert final.json()["version"] == 2


async def test_eight_posts_with_one_key_make_one_organization(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    headers = {**secretariat, "Idempotency-Key": "burst"}

    async def post() -> httpx.Response:
        return await client.post(URL, json={"name": "Once"}, headers=headers)

    responses = await asyncio.gather(*(post() for _ in range(8)))
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    ids = {response.json()["id"] for response in responses if response.status_code == 201}
    assert len(ids) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"] == "/problems/idempotency-key-in-flight"
    assert await _count(app) == 1


async def test_two_creates_of_one_name_one_wins(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    async def post(name: str) -> httpx.Response:
        return await client.post(URL, json={"name": name, "country": "KE"}, headers=secretariat)

    first, second = await asyncio.gather(
        post("Kenya Plant Health Inspectorate"), post("KENYA PLANT HEALTH INSPECTORATE")
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409]
    winner, loser = (first, second) if first.status_code == 201 else (second, first)
    assert loser.json()["existing_id"] == winner.json()["id"]
    assert await _count(app) == 1


async def test_racing_patches_with_star_never_lose_a_write_silently(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    """With `If-Match: *` a writer that loses the race at write time gets 409, never a 200
    whose change was overwritten: every 200 is one version."""
    organization = await create("Busy")

    async def patch(index: int) -> int:
        response = await client.patch(
            f"{URL}/{organization['id']}",
            json={"description": f"writer {index}"},
            headers={**secretariat, "If-Match": "*"},
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(patch(index) for index in range(8))))
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] >= 1
    final = await client.get(f"{URL}/{organization['id']}", headers=secretariat)
    assert final.json()["version"] == 1 + statuses[200]


# --- Lost races, stepped deterministically on both databases ------------------------------------
#
# Between the service's read and its write, another writer's change lands: it is made on the
# request's own connection, where the rest of the request then sees it, exactly as a commit of
# another connection would be seen on PostgreSQL. So each path runs on every run, on SQLite too
# (where writing transactions are serialized whole and two connections cannot interleave).


async def _bump_version(session: AsyncSession, organization_id: uuid.UUID) -> None:
    version = column_of(Organization.version)
    await session.execute(
        update(Organization)
        .where(column_of(Organization.id) == organization_id)
        .values(version=version + 1)
        .execution_options(synchronize_session=False)
    )


async def _insert_competitor(session: AsyncSession, computed: dict[str, str]) -> uuid.UUID:
    competitor_id = uuid.uuid4()
    now = utcnow()
    await session.execute(
        insert(Organization).values(
            id=competitor_id,
            name="The competitor",
            archived=False,
            created_at=now,
            updated_at=now,
            version=1,
            **computed,
        )
    )
    return competitor_id


@pytest.mark.parametrize(("if_match", "status"), [("current", 412), ("*", 409)])
async def test_a_write_whose_version_moved_meanwhile_is_refused(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    create: Create,
    monkeypatch: pytest.MonkeyPatch,
    if_match: str,
    status: int,
) -> None:
    organization = await create("Contested")
    original = service._duplicate_of

    async def another_writer_first(
        session: AsyncSession, computed: dict[str, str], organization_id: uuid.UUID
    ) -> uuid.UUID | None:
        await _bump_version(session, organization_id)
        return await original(session, computed, organization_id)

    monkeypatch.setattr(service, "_duplicate_of", another_writer_first)
    response = await client.patch(
        f"{URL}/{organization['id']}",
        json={"description": "mine"},
        headers={
            **secretariat,
            "If-Match": etag_of(organization) if if_match == "current" else "*",
        },
    )
    assert response.status_code == status, response.text
    monkeypatch.undo()
    final = await client.get(f"{URL}/{organization['id']}", headers=secretariat)
    assert final.json()["description"] is None
    assert final.json()["version"] == 1


def _racing_duplicate(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """The duplicate check finds nothing; a duplicate lands right after it."""
    competitors: list[uuid.UUID] = []
    original = service._duplicate_of

    async def racing(
        session: AsyncSession, computed: dict[str, str], organization_id: uuid.UUID
    ) -> uuid.UUID | None:
        if not competitors:
            competitors.append(await _insert_competitor(session, computed))
            return None
        return await original(session, computed, organization_id)

    monkeypatch.setattr(service, "_duplicate_of", racing)
    return competitors


async def test_a_create_that_loses_to_a_duplicate_names_the_winner(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    competitors = _racing_duplicate(monkeypatch)
    response = await client.post(
        URL, json={"name": "Twice"}, headers={**secretariat, "Idempotency-Key": "twice"}
    )
    assert response.status_code == 409, response.text
    assert response.json()["type"] == "/problems/duplicate-organization"
    assert response.json()["existing_id"] == str(competitors[0])
    assert await _count(app) == 0  # the request's transaction, competitor included, rolled back
    monkeypatch.undo()
    again = await client.post(
        URL, json={"name": "Twice"}, headers={**secretariat, "Idempotency-Key": "twice"}
    )
    assert again.status_code == 201  # the failed request released its key


async def test_a_rename_that_loses_to_a_duplicate_is_409_not_500(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    create: Create,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    organization = await create("Before")
    competitors = _racing_duplicate(monkeypatch)
    response = await client.patch(
        f"{URL}/{organization['id']}",
        json={"name": "After"},
        headers={**secretariat, "If-Match": etag_of(organization)},
    )
    assert response.status_code == 409, response.text
    assert response.json()["existing_id"] == str(competitors[0])


async def test_a_delete_that_meets_a_new_reference_is_409(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    create: Create,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reference committed after the count (by a writer that did not lock): the foreign key
    decides, inside the write's savepoint, and the answer names what refers to it."""
    headquarters = await create("Headquarters")
    original = service.REFERENCES.counts
    calls: list[int] = []

    async def branch_lands_after_the_count(
        session: AsyncSession, organization_id: uuid.UUID
    ) -> dict[str, int]:
        counted = await original(session, organization_id)
        if not calls:
            calls.append(1)
            branch = await _insert_competitor(session, service.keys("A branch", None, None))
            await session.execute(
                update(Organization)
                .where(column_of(Organization.id) == branch)
                .values(parent_id=organization_id)
                .execution_options(synchronize_session=False)
            )
        return counted

    monkeypatch.setattr(service.REFERENCES, "counts", branch_lands_after_the_count)
    response = await client.delete(
        f"{URL}/{headquarters['id']}", headers={**secretariat, "If-Match": "*"}
    )
    assert response.status_code == 409, response.text
    assert response.json()["type"] == "/problems/organization-referenced"
    assert response.json()["references"] == {"branches": 1}


# --- Rules that read other rows, under real concurrency ------------------------------------------


def _pause_after(monkeypatch: pytest.MonkeyPatch, name: str) -> Paused:
    """Make `service.<name>` stop, once it has done its work (taken its locks), until released."""
    return pause_after(monkeypatch, service, name)


_still_waiting = still_waiting


def _patch(
    client: httpx.AsyncClient, headers: dict[str, str], organization_id: str, body: dict[str, Any]
) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        client.patch(f"{URL}/{organization_id}", json=body, headers={**headers, "If-Match": "*"})
    )


def _branch(
    client: httpx.AsyncClient, headers: dict[str, str], parent_id: str
) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        client.post(URL, json={"name": "Branch", "parent_id": parent_id}, headers=headers)
    )


@dataclass(frozen=True)
class Race:
    """A write that holds the headquarters (paused once `holds` has taken its lock) and one that
    needs it meanwhile: the second waits for the first to commit, then is answered by what the
    first did."""

    first: str
    holds: str
    second: str
    first_status: int
    second_status: int
    second_problem: dict[str, Any]


def _request(
    client: httpx.AsyncClient, headers: dict[str, str], action: str, headquarters_id: str
) -> asyncio.Task[httpx.Response]:
    if action == "branch":
        return _branch(client, headers, headquarters_id)
    if action == "archive":
        return _patch(client, headers, headquarters_id, {"archived": True})
    return asyncio.create_task(
        client.delete(f"{URL}/{headquarters_id}", headers={**headers, "If-Match": "*"})
    )


RACES = {
    # The branch came first: archiving may follow it.
    "archiving waits for a branch being created": Race(
        "branch", "lock_referenced", "archive", 201, 200, {}
    ),
    "a branch waits for an archive, then is refused": Race(
        "archive",
        "get_for_update",
        "branch",
        200,
        409,
        {"type": "/problems/organization-archived"},
    ),
    "deleting waits for a branch being created, then is refused": Race(
        "branch", "lock_referenced", "delete", 201, 409, {"references": {"branches": 1}}
    ),
    "a branch of a headquarters being deleted is 422": Race(
        "delete",
        "get_for_update",
        "branch",
        204,
        422,
        {"errors": [{"detail": "No organization has this id", "pointer": "/parent_id"}]},
    ),
}


@pytest.mark.parametrize("name", sorted(RACES))
async def test_a_write_that_needs_a_held_headquarters_waits_for_it(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    create: Create,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    race = RACES[name]
    headquarters = await create("Headquarters")
    reached, release = _pause_after(monkeypatch, race.holds)
    first = _request(client, secretariat, race.first, headquarters["id"])
    await reached.wait()  # the first write holds the headquarters
    second = _request(client, secretariat, race.second, headquarters["id"])
    assert await _still_waiting(second)
    release.set()
    assert (await first).status_code == race.first_status
    answer = await second
    assert answer.status_code == race.second_status, answer.text
    body = answer.json() if answer.content else {}
    assert {key: body.get(key) for key in race.second_problem} == race.second_problem


async def test_two_headquarters_changes_cannot_make_a_cycle(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    create: Create,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A under B and B under A at the same time. Each change waits (a little) for the other to
    hold its own row before going on: the way two such changes would deadlock. Changes of
    headquarters are serialized first, so the second never gets that far: it waits for the
    first to commit, then sees its change and is refused with a clear 422."""
    a, b = await create("A"), await create("B")
    holding = 0
    both_hold = asyncio.Event()
    original = getattr(service, "get_for_update")  # noqa: B009 (patched below)

    async def meet(*args: Any, **kwargs: Any) -> Any:
        nonlocal holding
        row = await original(*args, **kwargs)
        holding += 1
        if holding == 2:
            both_hold.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both_hold.wait(), 0.5)
        return row

    monkeypatch.setattr(service, "get_for_update", meet)
    first, second = await asyncio.gather(
        _patch(client, secretariat, a["id"], {"parent_id": b["id"]}),
        _patch(client, secretariat, b["id"], {"parent_id": a["id"]}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 422]
    refused = first if first.status_code == 422 else second
    assert refused.json()["errors"][0]["pointer"] == "/parent_id"
    parents = {
        item["id"]: item["parent_id"]
        for item in (await client.get(URL, headers=secretariat)).json()["items"]
    }
    assert not (parents[a["id"]] == b["id"] and parents[b["id"]] == a["id"])
