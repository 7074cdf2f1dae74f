"""Agreements under concurrency: partners held while an agreement is written, and lost races.

On PostgreSQL the writes interleave for real and the locks decide; on SQLite writing
transactions are serialized whole, and the same outcomes follow."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import service
from app.core.db import column_of
from app.models import Agreement
from app.organizations import service as organizations
from app.registry import links
from tests.registry import Make, etag_of, pause_after, still_waiting

URL = "/v1/agreements"


def _draft(
    client: httpx.AsyncClient, headers: dict[str, str], partner_id: str
) -> asyncio.Task[httpx.Response]:
    body = {
        "title": "Racing",
        "level": "partnership",
        "instrument": "informal_arrangement",
        "partner_ids": [partner_id],
    }
    return asyncio.create_task(client.post(URL, json=body, headers=headers))


def _organization_write(
    client: httpx.AsyncClient, headers: dict[str, str], action: str, organization_id: str
) -> asyncio.Task[httpx.Response]:
    path = f"/v1/organizations/{organization_id}"
    if action == "archive":
        return asyncio.create_task(
            client.patch(path, json={"archived": True}, headers={**headers, "If-Match": "*"})
        )
    return asyncio.create_task(client.delete(path, headers={**headers, "If-Match": "*"}))


@dataclass(frozen=True)
class Race:
    """Who goes first and holds the partner (paused once it has its lock), and what each
    request then gets."""

    first: str  # "draft" or the organization's write
    organization_write: str  # "archive" or "delete"
    draft_status: int
    organization_status: int
    problem: dict[str, Any]


RACES = {
    "archiving waits for an agreement being drafted": Race("draft", "archive", 201, 200, {}),
    "a draft waits for the archive, then is refused": Race(
        "organization",
        "archive",
        422,
        200,
        {
            "errors": [
                {
                    "detail": "This organization is archived: it takes no new links",
                    "pointer": "/partner_ids/0",
                }
            ]
        },
    ),
    "deleting waits for an agreement being drafted, then is refused": Race(
        "draft", "delete", 201, 409, {"references": {"agreements": 1}}
    ),
    "a draft waits for the delete, then is refused": Race(
        "organization",
        "delete",
        422,
        204,
        {"errors": [{"detail": "No organization has this id", "pointer": "/partner_ids/0"}]},
    ),
}


@pytest.mark.parametrize("name", sorted(RACES))
async def test_a_partner_is_held_while_an_agreement_is_written(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    race = RACES[name]
    partner = await organization("Partner")
    if race.first == "draft":
        reached, release = pause_after(monkeypatch, service, "check_references")
        first = _draft(client, secretariat, partner["id"])
    else:
        reached, release = pause_after(monkeypatch, organizations, "get_for_update")
        first = _organization_write(client, secretariat, race.organization_write, partner["id"])
    await reached.wait()
    if race.first == "draft":
        second = _organization_write(client, secretariat, race.organization_write, partner["id"])
    else:
        second = _draft(client, secretariat, partner["id"])
    assert await still_waiting(second)
    release.set()
    draft, write = (first, second) if race.first == "draft" else (second, first)
    drafted, written = await draft, await write
    assert drafted.status_code == race.draft_status, drafted.text
    assert written.status_code == race.organization_status, written.text
    loser = written if race.first == "draft" else drafted
    body = loser.json() if loser.content else {}
    assert {key: body.get(key) for key in race.problem} == race.problem


async def _bump_version(session: AsyncSession, agreement_id: uuid.UUID) -> None:
    await session.execute(
        update(Agreement)
        .where(column_of(Agreement.id) == agreement_id)
        .values(version=column_of(Agreement.version) + 1)
        .execution_options(synchronize_session=False)
    )


@pytest.mark.parametrize(("if_match", "status"), [("current", 412), ("*", 409)])
async def test_a_patch_whose_version_moved_meanwhile_is_refused(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    agreement: Make,
    monkeypatch: pytest.MonkeyPatch,
    if_match: str,
    status: int,
) -> None:
    """Another writer's change lands between the service's read and its write (made on the
    request's own connection, so that this runs on SQLite too)."""
    made = await agreement()
    original = links.check_references

    async def another_writer_first(session: AsyncSession, **kwargs: Any) -> None:
        await _bump_version(session, uuid.UUID(made["id"]))
        await original(session, **kwargs)

    monkeypatch.setattr(service, "check_references", another_writer_first)
    response = await client.patch(
        f"{URL}/{made['id']}",
        json={"title": "Mine"},
        headers={
            **secretariat,
            "Content-Type": "application/merge-patch+json",
            "If-Match": etag_of(made) if if_match == "current" else "*",
        },
    )
    assert response.status_code == status, response.text
    monkeypatch.undo()
    final = await client.get(f"{URL}/{made['id']}", headers=secretariat)
    assert final.json()["title"] == "An agreement"


async def test_due_diligence_and_patch_apply_one_after_the_other(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    agreement: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A due diligence being written holds the agreement: a patch waits, then applies on top,
    and the approvals the risk requires are kept."""
    made = await agreement()
    reached, release = pause_after(monkeypatch, service, "get_for_update")
    assessment = asyncio.create_task(
        client.put(
            f"{URL}/{made['id']}/due-diligence",
            json={"risk_level": "high", "undue_influence_assessment": "x", "mitigation": "y"},
            headers=secretariat,
        )
    )
    await reached.wait()
    patch = asyncio.create_task(
        client.patch(
            f"{URL}/{made['id']}",
            json={"title": "After"},
            headers={**secretariat, "If-Match": "*"},
        )
    )
    assert await still_waiting(patch)
    release.set()
    assert (await assessment).status_code == 201
    patched = await patch
    assert patched.status_code == 200, patched.text
    assert patched.json()["required_approvals"] == ["bureau", "cpm"]
    assert patched.json()["version"] == 3
