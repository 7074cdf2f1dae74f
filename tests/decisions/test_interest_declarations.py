"""Interest declarations and recusal (design §2): a member declares an interest in an
organization; while it is in force they cannot record a decision on an agreement it is a
partner of; every decision lists the members who had to stand aside."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.decisions import service as decisions_service
from tests.decisions.conftest import Member, decide
from tests.registry import Make, etag_of, merge_patch, pointers

URL = "/v1/interest-declarations"


async def _declare(
    client: httpx.AsyncClient, headers: dict[str, str], organization_id: str, **fields: Any
) -> httpx.Response:
    body = {"organization_id": organization_id, "nature": "Adviser to its board", **fields}
    return await client.post(URL, json=body, headers=headers)


@pytest.mark.parametrize(
    ("period", "decided_on", "recused"),
    [
        ({}, None, True),
        ({"declared_on": "2026-01-01"}, "2025-06-01", True),  # declared since: counts
        ({"declared_on": "2025-01-01", "ended_on": "2025-12-31"}, "2026-01-10", False),
        ({"declared_on": "2025-01-01", "ended_on": "2026-01-10"}, "2026-01-10", True),
    ],
)
async def test_a_member_with_an_interest_in_force_stands_aside(
    client: httpx.AsyncClient,
    member: Member,
    organization: Make,
    submitted: Make,
    period: dict[str, Any],
    decided_on: str | None,
    recused: bool,
) -> None:
    """An interest counts when it is in force at any time from the decision's date to the day
    it is recorded."""
    partner = await organization("Partner")
    made = await submitted(partner=partner)
    _subject, headers = await member("Ana")
    declared = await _declare(client, headers, partner["id"], **period)
    assert declared.status_code == 201, declared.text
    dated = {} if decided_on is None else {"decided_on": decided_on}
    response = await decide(client, headers, made["id"], **dated)
    if recused:
        assert response.status_code == 409, response.text
        assert response.json()["type"] == "/problems/recusal-required"
        assert response.json()["organization_ids"] == [partner["id"]]
    else:
        assert response.status_code == 201, response.text
        assert response.json()["recusals"] == []


async def test_an_interest_in_another_organization_is_no_bar_but_one_in_any_partner_is(
    client: httpx.AsyncClient, member: Member, organization: Make, submitted: Make
) -> None:
    first, second, elsewhere = (
        await organization("First"),
        await organization("Second"),
        await organization("Elsewhere"),
    )
    made = await submitted(partner_ids=[first["id"], second["id"]])
    _subject, ana = await member("Ana")
    assert (await _declare(client, ana, elsewhere["id"])).status_code == 201
    other = await submitted("Other", partner=elsewhere)
    assert (await _declare(client, ana, second["id"])).status_code == 201
    refused = await decide(client, ana, made["id"])
    assert refused.status_code == 409
    assert refused.json()["organization_ids"] == [second["id"]]
    assert (await decide(client, ana, other["id"])).status_code == 409
    unrelated = await submitted("Unrelated")
    assert (await decide(client, ana, unrelated["id"])).status_code == 201


async def test_the_recusals_are_kept_with_the_decision(
    client: httpx.AsyncClient, member: Member, organization: Make, submitted: Make
) -> None:
    partner = await organization("Partner")
    made = await submitted(partner=partner)
    ana_subject, ana = await member("Ana")
    _ben_subject, ben = await member("Ben")
    declared = (await _declare(client, ana, partner["id"])).json()
    recorded = await decide(client, ben, made["id"])
    assert recorded.status_code == 201
    expected = [{"member": ana_subject, "member_name": "Ana", "organization_ids": [partner["id"]]}]
    assert recorded.json()["recusals"] == expected
    ended = await merge_patch(
        client, ana, f"{URL}/{declared['id']}", {"ended_on": "2999-01-01"}, etag_of(declared)
    )
    assert ended.status_code == 200, ended.text
    read = await client.get(f"/v1/decisions/{recorded.json()['id']}", headers=ben)
    assert read.json()["recusals"] == expected


async def test_declarations_are_read_listed_and_ended_by_their_member(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    member: Member,
    organization: Make,
) -> None:
    partner = await organization("Partner")
    other = await organization("Other")
    ana_subject, ana = await member("Ana")
    _ben_subject, ben = await member("Ben")
    declared = await _declare(client, ana, partner["id"], declared_on="2026-01-05")
    assert declared.status_code == 201
    assert declared.headers["location"].endswith(f"{URL}/{declared.json()['id']}")
    assert (await _declare(client, ben, other["id"])).status_code == 201
    mine = await client.get(URL, params={"member": ana_subject}, headers=ben)
    assert [item["id"] for item in mine.json()["items"]] == [declared.json()["id"]]
    by_organization = await client.get(URL, params={"organization_id": other["id"]}, headers=ana)
    assert [item["member_name"] for item in by_organization.json()["items"]] == ["Ben"]
    path = f"{URL}/{declared.json()['id']}"
    assert (await client.get(path, headers=ben)).json() == declared.json()
    # Every holder of registry:read reads them, as every decision shows its recusals to them;
    # declaring and ending one is the members' own (decisions:write).
    assert (await client.get(path, headers=secretariat)).json() == declared.json()
    listed = await client.get(URL, params={"member": ana_subject}, headers=secretariat)
    assert [item["id"] for item in listed.json()["items"]] == [declared.json()["id"]]
    refused = await _declare(client, secretariat, other["id"])
    assert refused.status_code == 403

    by_other = await merge_patch(client, ben, path, {"ended_on": "2999-01-01"})
    assert by_other.status_code == 403
    past = await merge_patch(client, ana, path, {"ended_on": "2026-01-06"})
    assert pointers(past) == ["/ended_on"]
    cleared = await merge_patch(client, ana, path, {"ended_on": None})
    assert pointers(cleared) == ["/ended_on"]
    assert (
        await merge_patch(client, ana, path, {"ended_on": "2999-01-01"}, None)
    ).status_code == 428
    ended = await merge_patch(client, ana, path, {"ended_on": "2999-01-01"})
    assert ended.status_code == 200
    assert ended.json()["ended_on"] == "2999-01-01"
    assert ended.json()["version"] == 2
    assert (await client.delete(path, headers={**ana, "If-Match": "*"})).status_code == 405


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"organization_id": "00000000-0000-4000-8000-000000000000"}, "/organization_id"),
        ({"declared_on": "2999-01-01"}, "/declared_on"),
        ({"declared_on": "2026-02-01", "ended_on": "2026-01-01"}, "/ended_on"),
        ({"nature": ""}, "/nature"),
        ({"nature": "x" * 5001}, "/nature"),
        ({"member": "someone-else"}, "/member"),
    ],
)
async def test_a_declaration_is_validated(
    client: httpx.AsyncClient,
    bureau: dict[str, str],
    organization: Make,
    fields: dict[str, Any],
    pointer: str,
) -> None:
    partner = await organization("Partner")
    body = {"organization_id": partner["id"], "nature": "Adviser", **fields}
    response = await client.post(URL, json=body, headers=bureau)
    assert pointers(response) == [pointer]


async def test_an_organization_someone_declared_an_interest_in_is_kept(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    organization: Make,
) -> None:
    partner = await organization("Partner")
    assert (await _declare(client, bureau, partner["id"])).status_code == 201
    path = f"/v1/organizations/{partner['id']}"
    refused = await client.delete(path, headers={**secretariat, "If-Match": "*"})
    assert refused.status_code == 409
    assert refused.json()["references"] == {"interest_declarations": 1}


async def test_an_organization_takes_declarations_of_at_most_so_many_members(
    client: httpx.AsyncClient,
    member: Member,
    organization: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cap bounds a decision's recusals; a member who declared already may declare again."""
    monkeypatch.setattr(decisions_service, "MAX_DECLARING_MEMBERS", 2)
    partner = await organization("Partner")
    (_a, ana), (_b, ben), (_c, cai) = [await member(name) for name in ("Ana", "Ben", "Cai")]
    assert (await _declare(client, ana, partner["id"])).status_code == 201
    assert (await _declare(client, ben, partner["id"])).status_code == 201
    assert (await _declare(client, ana, partner["id"], nature="Donor")).status_code == 201
    refused = await _declare(client, cai, partner["id"])
    assert refused.status_code == 409, refused.text
    assert "as many as one organization may have" in refused.json()["detail"]
    other = await organization("Other")
    assert (await _declare(client, cai, other["id"])).status_code == 201
