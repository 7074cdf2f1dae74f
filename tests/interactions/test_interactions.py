"""Liaison interactions: record, read, correct, delete, and their rules (design §2)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import PUBLIC_BASE_URL
from tests.registry import Make, archive, etag_of, merge_patch, pointers

URL = "/v1/interactions"


async def _patch(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    interaction: dict[str, Any],
    body: dict[str, Any],
    if_match: str | None = "*",
) -> httpx.Response:
    return await merge_patch(client, headers, f"{URL}/{interaction['id']}", body, if_match)


async def test_a_meeting_with_two_organizations_is_recorded(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, agreement: Make
) -> None:
    first, second = await organization("Alpha"), await organization("Beta")
    linked = await agreement()
    body = {
        "occurred_on": "2026-11-02",
        "channel": "meeting",
        "subject": "Fruit fly surveillance",
        "summary": "Discussed joint trapping.",
        "organization_ids": [first["id"], second["id"]],
        "ippc_participants": ["Secretary", "Standards officer"],
        "location": "Rome",
        "strategic_objectives": ["2020-2030.A"],
        "follow_up": "Draft a memorandum.",
        "agreement_id": linked["id"],
        "visibility": "public",
    }
    response = await client.post(URL, json=body, headers=secretariat)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {key: created[key] for key in body} == body
    assert created["version"] == 1
    assert response.headers["location"] == f"{PUBLIC_BASE_URL}{URL}/{created['id']}"
    assert response.headers["etag"] == etag_of(created)
    read = await client.get(f"{URL}/{created['id']}", headers=secretariat)
    assert read.json() == created
    cached = await client.get(
        f"{URL}/{created['id']}", headers={**secretariat, "If-None-Match": etag_of(created)}
    )
    assert cached.status_code == 304


async def test_internal_is_the_default_and_few_fields_are_required(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make
) -> None:
    response = await client.post(URL, json={"summary": "x"}, headers=secretariat)
    assert sorted(pointers(response)) == [
        "/channel",
        "/occurred_on",
        "/organization_ids",
        "/subject",
    ]
    met = await organization("Met")
    minimal = await client.post(
        URL,
        json={
            "occurred_on": "2026-11-02",
            "channel": "call",
            "subject": "Call",
            "organization_ids": [met["id"]],
        },
        headers=secretariat,
    )
    assert minimal.status_code == 201
    assert minimal.json()["visibility"] == "internal"
    assert minimal.json()["agreement_id"] is None


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"organization_ids": []}, "/organization_ids"),
        ({"channel": "telepathy"}, "/channel"),
        ({"visibility": "secret"}, "/visibility"),
        ({"occurred_on": "2026-11-02T10:00:00Z"}, "/occurred_on"),
        ({"subject": "\u200b"}, "/subject"),
        ({"subject": "s" * 501}, "/subject"),
        ({"ippc_participants": ["Secretary", "Secretary"]}, "/ippc_participants"),
        ({"ippc_participants": [" "]}, "/ippc_participants/0"),
        ({"location": "l" * 301}, "/location"),
        ({"agreement_id": "nope"}, "/agreement_id"),
        ({"version": 3}, "/version"),
    ],
)
async def test_bad_fields_are_refused(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    body: dict[str, Any],
    pointer: str,
) -> None:
    met = await organization("Met")
    base = {
        "occurred_on": "2026-11-02",
        "channel": "meeting",
        "subject": "S",
        "organization_ids": [met["id"]],
    }
    assert pointers(await client.post(URL, json={**base, **body}, headers=secretariat)) == [pointer]


async def test_every_invalid_reference_is_named_in_one_422(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make
) -> None:
    valid, archived = await organization("Valid"), await organization("Archived")
    await archive(client, secretariat, archived)
    body = {
        "occurred_on": "2026-11-02",
        "channel": "meeting",
        "subject": "S",
        "organization_ids": [str(uuid.uuid4()), valid["id"], archived["id"]],
        "strategic_objectives": ["2012-2019.D", "2012-2019.E"],
        "agreement_id": str(uuid.uuid4()),
    }
    response = await client.post(URL, json=body, headers=secretariat)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"detail": "No agreement has this id", "pointer": "/agreement_id"},
        {"detail": "No organization has this id", "pointer": "/organization_ids/0"},
        {
            "detail": "This organization is archived: it takes no new links",
            "pointer": "/organization_ids/2",
        },
        {"detail": "No strategic objective has this code", "pointer": "/strategic_objectives/1"},
    ]


async def test_corrections_are_merge_patches_that_need_if_match(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, interaction: Make
) -> None:
    met, other = await organization("Met"), await organization("Other")
    made = await interaction(organization_ids=[met["id"]], location="Rome", summary="s")
    assert (await _patch(client, secretariat, made, {"location": None}, None)).status_code == 428
    response = await _patch(
        client,
        secretariat,
        made,
        {"location": None, "organization_ids": [other["id"], met["id"]], "channel": "visit"},
        etag_of(made),
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["location"] is None
    assert changed["summary"] == "s"
    assert changed["organization_ids"] == [other["id"], met["id"]]
    assert changed["version"] == 2
    stale = await _patch(client, secretariat, made, {"summary": "t"}, etag_of(made))
    assert stale.status_code == 412
    same = await _patch(client, secretariat, changed, {"channel": "visit"})
    assert same.json()["version"] == 2
    for field in ("subject", "organization_ids", "visibility", "ippc_participants"):
        assert pointers(await _patch(client, secretariat, made, {field: None})) == [f"/{field}"]


async def test_a_public_interaction_stays_public_and_is_not_deleted(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, interaction: Make
) -> None:
    met = await organization("Met")
    made = await interaction(organization_ids=[met["id"]])
    published = await _patch(client, secretariat, made, {"visibility": "public"})
    assert published.status_code == 200
    refused = await client.delete(f"{URL}/{made['id']}", headers={**secretariat, "If-Match": "*"})
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/interaction-published"
    hidden = await _patch(client, secretariat, made, {"visibility": "internal"})
    assert hidden.status_code == 409
    assert hidden.json()["type"] == "/problems/interaction-published"
    corrected = await _patch(client, secretariat, made, {"subject": "Corrected"})
    assert corrected.status_code == 200
    assert corrected.json()["visibility"] == "public"


async def test_an_internal_interaction_is_deleted(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, interaction: Make
) -> None:
    met = await organization("Met")
    made = await interaction(organization_ids=[met["id"]], strategic_objectives=["2020-2030.B"])
    path = f"{URL}/{made['id']}"
    assert (await client.delete(path, headers=secretariat)).status_code == 428
    stale = await client.delete(path, headers={**secretariat, "If-Match": '"0-0"'})
    assert stale.status_code == 412
    deleted = await client.delete(path, headers={**secretariat, "If-Match": etag_of(made)})
    assert deleted.status_code == 204
    assert (await client.get(path, headers=secretariat)).status_code == 404
    read = await client.get(f"/v1/organizations/{met['id']}", headers=secretariat)
    assert read.json()["reference_counts"]["interactions"] == 0
    gone = await client.delete(
        f"/v1/organizations/{met['id']}", headers={**secretariat, "If-Match": "*"}
    )
    assert gone.status_code == 204


async def test_a_linked_agreement_is_not_deleted(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    interaction: Make,
    agreement: Make,
) -> None:
    met = await organization("Met")
    linked = await agreement()
    made = await interaction(organization_ids=[met["id"]], agreement_id=linked["id"])
    path = f"/v1/agreements/{linked['id']}"
    refused = await client.delete(path, headers={**secretariat, "If-Match": "*"})
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/agreement-referenced"
    assert refused.json()["references"] == {"interactions": 1}
    await _patch(client, secretariat, made, {"agreement_id": None})
    assert (await client.delete(path, headers={**secretariat, "If-Match": "*"})).status_code == 204


async def test_every_change_is_audited(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    organization: Make,
    interaction: Make,
) -> None:
    met, other = await organization("Met"), await organization("Other")
    made = await interaction(organization_ids=[met["id"]])
    await _patch(client, secretariat, made, {"organization_ids": [met["id"], other["id"]]})
    await client.delete(f"{URL}/{made['id']}", headers={**secretariat, "If-Match": "*"})
    response = await client.get(
        "/v1/audit-events",
        params={"resource_type": "interaction", "resource_id": made["id"]},
        headers=bureau,
    )
    events = response.json()["items"]
    assert [event["action"] for event in events] == ["create", "update", "delete"]
    assert events[1]["changes"] == {
        "organization_ids": {"before": [met["id"]], "after": [met["id"], other["id"]]}
    }
    assert events[2]["changes"]["subject"] == {"before": "A meeting", "after": None}


async def test_the_bureau_and_integrations_read_and_change_nothing(
    client: httpx.AsyncClient,
    bureau: dict[str, str],
    integration: dict[str, str],
    organization: Make,
    interaction: Make,
) -> None:
    met = await organization("Met")
    made = await interaction(organization_ids=[met["id"]])
    for headers in (bureau, integration):
        assert (await client.get(f"{URL}/{made['id']}", headers=headers)).status_code == 200
        assert (await client.get(URL, headers=headers)).status_code == 200
        assert (await _patch(client, headers, made, {"subject": "No"})).status_code == 403
        deleted = await client.delete(f"{URL}/{made['id']}", headers={**headers, "If-Match": "*"})
        assert deleted.status_code == 403
    assert (await client.get(URL)).status_code == 401
