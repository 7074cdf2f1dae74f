"""The change feed never skips an event: ids are taken in commit order, so the ids a follower can
see at any moment are a prefix of the final sequence (no gap that a later commit fills).

On PostgreSQL a sequence alone does not give this (its values commit out of order); the advisory
lock that the audit trail's writer takes does. On SQLite writers are serialized by BEGIN
IMMEDIATE."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import text

from app.audit import service
from app.core.db import Database
from tests.audit.conftest import SECRETARIAT, record, record_committed


async def _visible_ids(database: Database) -> list[int]:
    """What a follower reading the table right now sees (a connection of its own)."""
    async with database.session(write=False) as session:
        rows = await session.execute(text("SELECT id FROM audit_event ORDER BY id"))
        return [int(value) for value in rows.scalars()]


def _gaps_later_filled(snapshots: list[list[int]], final: list[int]) -> list[list[int]]:
    """The snapshots that are not a prefix of the final sequence."""
    return [seen for seen in snapshots if seen != final[: len(seen)]]


async def _record_in(session_database: Database, resource_id: str) -> int:
    event = await record_committed(session_database, resource_id=resource_id)
    assert event.id is not None
    return event.id


async def test_a_second_writer_takes_its_id_after_the_first_commits(database: Database) -> None:
    snapshots: list[list[int]] = []
    async with database.session(write=True) as first_session:
        first = await record(
            first_session,
            SECRETARIAT,
            action="update",
            resource_type="organization",
            resource_id="first",
            changes={"name": {"before": "A", "after": "B"}},
        )
        second_writer = asyncio.create_task(_record_in(database, "second"))
        await asyncio.sleep(0.3)
        assert not second_writer.done(), "the second writer did not wait for the first"
        snapshots.append(await _visible_ids(database))
        await first_session.commit()
    second_id = await second_writer
    snapshots.append(await _visible_ids(database))
    assert first.id is not None
    assert first.id < second_id
    final = await _visible_ids(database)
    assert final == [first.id, second_id]
    assert snapshots == [[], final]


@pytest.mark.postgres_only
async def test_without_the_lock_a_follower_would_see_a_gap_later_filled(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hazard the lock removes, shown by switching the lock off: the detector detects."""

    def no_lock(_session: object) -> None:
        return None

    monkeypatch.setattr(service, "_allocate_ids_in_commit_order", no_lock)
    async with database.session(write=True) as slow:
        await record(
            slow,
            SECRETARIAT,
            action="update",
            resource_type="organization",
            resource_id="slow",
            changes={"name": {"before": "A", "after": "B"}},
        )
        await _record_in(database, "fast")  # takes the next id and commits first
        snapshots = [await _visible_ids(database)]
        await slow.commit()
    final = await _visible_ids(database)
    assert _gaps_later_filled(snapshots, final) == [[final[1]]]


@pytest.mark.postgres_only
async def test_concurrent_writers_committing_out_of_start_order_leave_no_gap(
    database: Database,
) -> None:
    writers = 8
    go = asyncio.Event()
    started: list[int] = []
    committed: list[tuple[int, int]] = []  # (writer, event id), in the order commits returned
    snapshots: list[list[int]] = []
    rng = random.Random(4)

    async def writer(number: int, begun: asyncio.Event) -> None:
        async with database.session(write=True) as session:
            await session.execute(text("SELECT pg_current_xact_id()"))  # the transaction starts
            started.append(number)
            begun.set()
            await go.wait()
            # The last to start is the first to write: commit order is not start order.
            await asyncio.sleep((writers - 1 - number) * 0.005)
            event = await record(
                session,
                SECRETARIAT,
                action="update",
                resource_type="organization",
                resource_id=f"writer-{number}",
                changes={"n": {"before": None, "after": number}},
            )
            # Other work before the commit, longer than the stagger: without the lock, commits
            # would come in another order than the ids.
            await asyncio.sleep(rng.uniform(0, 0.05))
            await session.commit()
            assert event.id is not None
            committed.append((number, event.id))

    async def follower() -> None:
        while len(committed) < writers:
            snapshots.append(await _visible_ids(database))
            await asyncio.sleep(0.002)

    tasks = []
    for number in range(writers):
        begun = asyncio.Event()
        tasks.append(asyncio.create_task(writer(number, begun)))
        await begun.wait()
    watching = asyncio.create_task(follower())
    go.set()
    await asyncio.gather(*tasks)
    await watching

    final = await _visible_ids(database)
    assert len(snapshots) > writers  # the follower watched the whole time
    assert _gaps_later_filled(snapshots, final) == []
    assert [event_id for _, event_id in committed] == final  # ids rise in commit order
    assert started == list(range(writers))
    assert [number for number, _ in committed] != started  # the scenario did reorder
