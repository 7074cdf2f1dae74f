"""The workflow under concurrency: the database decides.

The first request is paused once it holds its locks; the second is started and must wait (a
row lock on PostgreSQL, the write lock on SQLite); the first is released and commits; the second
then reads what the first committed and is refused, or goes on after it. On PostgreSQL the two
run on real concurrent connections."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.agreements import service as agreements
from app.decisions import service as decisions
from tests.decisions.conftest import Member, decision
from tests.registry import Make, etag_of, pause_after, still_waiting

URL = "/v1/agreements"


def _decide(
    client: httpx.AsyncClient, headers: dict[str, str], agreement_id: str, outcome: str
) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        client.post(
            f"{URL}/{agreement_id}/decisions",
            json=decision("bureau", outcome),
            headers=headers,
        )
    )


@pytest.mark.parametrize("if_match", [None, "read before"])
async def test_of_two_racing_decisions_one_wins(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    submitted: Make,
    monkeypatch: pytest.MonkeyPatch,
    if_match: str | None,
) -> None:
    made = await submitted()
    second_headers = bureau if if_match is None else {**bureau, "If-Match": etag_of(made)}
    reached, release = pause_after(monkeypatch, decisions, "get_for_update")
    first = _decide(client, bureau, made["id"], "approved")
    await reached.wait()
    second = _decide(client, second_headers, made["id"], "rejected")
    assert await still_waiting(second)
    release.set()
    won, lost = await first, await second
    assert won.status_code == 201, won.text
    if if_match is None:
        assert lost.status_code == 409, lost.text
        assert lost.json()["type"] == "/problems/invalid-transition"
        assert lost.json()["current_status"] == "approved"
    else:
        assert lost.status_code == 412, lost.text
    after = (await client.get(f"{URL}/{made['id']}", headers=secretariat)).json()
    assert after["status"] == "approved"
    assert after["version"] == made["version"] + 1
    listed = await client.get("/v1/decisions", headers=bureau)
    assert [item["outcome"] for item in listed.json()["items"]] == ["approved"]


RACES = {
    # first: which request takes the agreement first; then what each gets.
    "a withdrawal waits for a decision, then is refused": ("decision", 201, 409, "approved"),
    "a decision waits for a withdrawal, then is refused": ("withdraw", 409, 200, "withdrawn"),
}


@pytest.mark.parametrize("name", sorted(RACES))
async def test_a_transition_racing_a_decision(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    submitted: Make,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    first_one, decision_status, withdraw_status, final = RACES[name]
    made = await submitted()

    def withdraw() -> asyncio.Task[httpx.Response]:
        return asyncio.create_task(client.post(f"{URL}/{made['id']}/withdraw", headers=secretariat))

    if first_one == "decision":
        reached, release = pause_after(monkeypatch, decisions, "get_for_update")
        first = _decide(client, bureau, made["id"], "approved")
    else:
        reached, release = pause_after(monkeypatch, agreements, "get_for_update")
        first = withdraw()
    await reached.wait()
    second = (
        withdraw() if first_one == "decision" else _decide(client, bureau, made["id"], "approved")
    )
    assert await still_waiting(second)
    release.set()
    decided, withdrawn = (
        (await first, await second)
        if first_one == "decision"
        else (
            await second,
            await first,
        )
    )
    assert decided.status_code == decision_status, decided.text
    assert withdrawn.status_code == withdraw_status, withdrawn.text
    after = (await client.get(f"{URL}/{made['id']}", headers=secretariat)).json()
    assert after["status"] == final
    assert after["version"] == made["version"] + 1


async def test_a_declaration_made_during_a_decision_waits_for_it(
    client: httpx.AsyncClient,
    member: Member,
    organization: Make,
    submitted: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The decision holds the partners (FOR SHARE) while it reads the declarations: a
    declaration by the same member waits, and commits after the decision."""
    partner = await organization("Partner")
    made = await submitted(partner=partner)
    _subject, ana = await member("Ana")
    reached, release = pause_after(monkeypatch, decisions, "_declarations")
    deciding = _decide(client, ana, made["id"], "approved")
    await reached.wait()
    declaring = _declare(client, ana, partner["id"])
    assert await still_waiting(declaring)
    release.set()
    decided, declared = await deciding, await declaring
    assert decided.status_code == 201, decided.text
    assert decided.json()["recusals"] == []
    assert declared.status_code == 201, declared.text
    events = await _audit_order(client, ana, decided.json()["id"], declared.json()["id"])
    assert events == ["decision", "interest_declaration"]


async def test_a_decision_made_during_a_declaration_waits_and_is_refused(
    client: httpx.AsyncClient,
    member: Member,
    organization: Make,
    submitted: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The declaration holds its organization (FOR NO KEY UPDATE): a decision on an agreement
    it is a partner of waits for the declaration to commit, then reads it and is refused; never
    a decision by a member whose declaration committed first."""
    partner = await organization("Partner")
    made = await submitted(partner=partner)
    _subject, ana = await member("Ana")
    reached, release = pause_after(monkeypatch, decisions, "_lock_organization")
    declaring = _declare(client, ana, partner["id"])
    await reached.wait()
    deciding = _decide(client, ana, made["id"], "approved")
    assert await still_waiting(deciding)
    release.set()
    declared, decided = await declaring, await deciding
    assert declared.status_code == 201, declared.text
    assert decided.status_code == 409, decided.text
    assert decided.json()["type"] == "/problems/recusal-required"


def _declare(
    client: httpx.AsyncClient, headers: dict[str, str], organization_id: str
) -> asyncio.Task[httpx.Response]:
    body = {"organization_id": organization_id, "nature": "Adviser"}
    return asyncio.create_task(client.post("/v1/interest-declarations", json=body, headers=headers))


async def _audit_order(
    client: httpx.AsyncClient, headers: dict[str, str], *resource_ids: str
) -> list[Any]:
    """The resource types of the creations of `resource_ids`, in commit order."""
    response = await client.get("/v1/audit-events", params={"limit": 200}, headers=headers)
    return [
        event["resource_type"]
        for event in response.json()["items"]
        if event["resource_id"] in resource_ids and event["action"] == "create"
    ]
