"""Interactions under concurrency: the organizations met and the agreement linked are held
while an interaction is written (on PostgreSQL by row locks, on SQLite by whole-database write
transactions), so that an archive or a delete and the interaction apply one after the other."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.agreements import service as agreements
from app.interactions import service
from app.organizations import service as organizations
from tests.registry import Make, pause_after, still_waiting

URL = "/v1/interactions"


@dataclass(frozen=True)
class Race:
    """The interaction goes `first` or second; the other write is `write` on the `target`
    (an organization met or the agreement linked). Each request's status, and the problem
    the loser gets."""

    first: bool
    target: str
    write: str
    interaction_status: int
    write_status: int
    problem: dict[str, Any]


ARCHIVED = "This organization is archived: it takes no new links"
RACES = {
    "archiving waits for an interaction being recorded": Race(
        True, "organization", "archive", 201, 200, {}
    ),
    "an interaction waits for the archive, then is refused": Race(
        False,
        "organization",
        "archive",
        422,
        200,
        {"errors": [{"detail": ARCHIVED, "pointer": "/organization_ids/0"}]},
    ),
    "deleting an organization waits for an interaction, then is refused": Race(
        True, "organization", "delete", 201, 409, {"references": {"interactions": 1}}
    ),
    "an interaction waits for the organization's delete, then is refused": Race(
        False,
        "organization",
        "delete",
        422,
        204,
        {"errors": [{"detail": "No organization has this id", "pointer": "/organization_ids/0"}]},
    ),
    "deleting an agreement waits for an interaction linking it, then is refused": Race(
        True, "agreement", "delete", 201, 409, {"references": {"interactions": 1}}
    ),
    "an interaction waits for the agreement's delete, then is refused": Race(
        False,
        "agreement",
        "delete",
        422,
        204,
        {"errors": [{"detail": "No agreement has this id", "pointer": "/agreement_id"}]},
    ),
}


@pytest.mark.parametrize("name", sorted(RACES))
async def test_what_an_interaction_refers_to_is_held_while_it_is_written(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    agreement: Make,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    race = RACES[name]
    met, linked = await organization("Met"), await agreement()
    target = met if race.target == "organization" else linked
    target_path = f"/v1/{race.target}s/{target['id']}"

    def record() -> asyncio.Task[httpx.Response]:
        body = {
            "occurred_on": "2026-11-02",
            "channel": "meeting",
            "subject": "Racing",
            "organization_ids": [met["id"]],
            "agreement_id": linked["id"],
        }
        return asyncio.create_task(client.post(URL, json=body, headers=secretariat))

    def other() -> asyncio.Task[httpx.Response]:
        headers = {**secretariat, "If-Match": "*"}
        if race.write == "archive":
            return asyncio.create_task(
                client.patch(target_path, json={"archived": True}, headers=headers)
            )
        return asyncio.create_task(client.delete(target_path, headers=headers))

    if race.first:
        reached, release = pause_after(monkeypatch, service, "check_references")
    else:
        owner = organizations if race.target == "organization" else agreements
        reached, release = pause_after(monkeypatch, owner, "get_for_update")
    first = record() if race.first else other()
    await reached.wait()
    second = other() if race.first else record()
    assert await still_waiting(second)
    release.set()
    recorded, written = (await first, await second) if race.first else (await second, await first)
    assert recorded.status_code == race.interaction_status, recorded.text
    assert written.status_code == race.write_status, written.text
    loser = written if race.first else recorded
    body = loser.json() if loser.content else {}
    assert {key: body.get(key) for key in race.problem} == race.problem
