"""The two paths of design §3 end to end through HTTP: an informal partnership approved by the
Bureau alone and activated; a financed memorandum of understanding through the Bureau, then the
CPM, to `active`. Two Bureau members: one declared an interest in the partner and is refused,
the other decides."""

from __future__ import annotations

import httpx

from tests.decisions.conftest import Member, decision
from tests.registry import Make


async def test_an_informal_partnership_is_approved_by_the_bureau_alone(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    member: Member,
    organization: Make,
    ready: Make,
) -> None:
    partner = await organization("Plant Health Foundation")
    made = await ready("Informal", partner=partner)
    assert made["required_approvals"] == ["bureau"]
    path = f"/v1/agreements/{made['id']}"
    submitted = await client.post(f"{path}/submit", json={"note": "Ready"}, headers=secretariat)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["version"] == made["version"] + 2  # the due diligence, the submit

    ana_subject, ana = await member("Ana")
    ben_subject, ben = await member("Ben")
    declared = await client.post(
        "/v1/interest-declarations",
        json={"organization_id": partner["id"], "nature": "Sits on its board"},
        headers=ana,
    )
    assert declared.status_code == 201, declared.text
    assert declared.json()["member"] == ana_subject
    assert declared.json()["member_name"] == "Ana"

    refused = await client.post(
        f"{path}/decisions", json=decision("bureau", "approved"), headers=ana
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "/problems/recusal-required"
    assert refused.json()["organization_ids"] == [partner["id"]]

    approved = await client.post(
        f"{path}/decisions",
        json=decision("bureau", "approved", decided_on="2026-10-20"),
        headers=ben,
    )
    assert approved.status_code == 201, approved.text
    recorded = approved.json()
    assert recorded["agreement_status"] == "approved"
    assert recorded["recorded_by"] == ben_subject
    assert recorded["recorded_by_name"] == "Ben"
    assert recorded["recusals"] == [
        {"member": ana_subject, "member_name": "Ana", "organization_ids": [partner["id"]]}
    ]
    assert approved.headers["location"].endswith(f"/v1/decisions/{recorded['id']}")

    activated = await client.post(
        f"{path}/activate", json={"signed_on": "2026-11-02"}, headers=secretariat
    )
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"
    assert activated.json()["signed_on"] == "2026-11-02"

    history = await client.get(f"{path}/history", headers=ben)
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert [(item["kind"], item["action"]) for item in items] == [
        ("transition", "submit"),
        ("decision", "bureau_approved"),
        ("transition", "activate"),
    ]
    assert [(item["status_before"], item["status_after"]) for item in items] == [
        ("draft", "submitted"),
        ("submitted", "approved"),
        ("approved", "active"),
    ]
    assert items[0]["note"] == "Ready"
    assert items[1]["actor"]["subject"] == ben_subject
    assert items[1]["actor"]["name"] == "Ben"
    assert items[1]["decision"]["id"] == recorded["id"]
    assert items[2]["actor"]["name"] == "test secretariat"


async def test_a_financed_memorandum_goes_through_the_bureau_then_the_cpm(
    client: httpx.AsyncClient, secretariat: dict[str, str], member: Member, ready: Make
) -> None:
    made = await ready(
        "Memorandum",
        instrument="memorandum_of_understanding",
        financing={"amount": "250000", "currency": "USD", "direction": "to_ippc"},
    )
    assert made["required_approvals"] == ["bureau", "cpm"]
    path = f"/v1/agreements/{made['id']}"
    assert (await client.post(f"{path}/submit", headers=secretariat)).status_code == 200
    _subject, bureau_member = await member("Chair")

    early = await client.post(
        f"{path}/decisions", json=decision("cpm", "approved"), headers=bureau_member
    )
    assert early.status_code == 409, early.text
    assert early.json()["type"] == "/problems/invalid-transition"
    assert early.json()["current_status"] == "submitted"

    bureau = await client.post(
        f"{path}/decisions",
        json=decision("bureau", "approved", decided_on="2026-03-01"),
        headers=bureau_member,
    )
    assert bureau.status_code == 201, bureau.text
    assert bureau.json()["agreement_status"] == "cpm_review"
    cpm = await client.post(
        f"{path}/decisions",
        json=decision("cpm", "approved", decided_on="2026-04-10", participants=["CPM-21"]),
        headers=bureau_member,
    )
    assert cpm.status_code == 201, cpm.text
    assert cpm.json()["agreement_status"] == "approved"
    assert cpm.json()["decided_on"] == "2026-04-10"

    activated = await client.post(f"{path}/activate", headers=secretariat)
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"
    assert activated.json()["signed_on"] is not None
    listed = await client.get(
        "/v1/decisions", params={"agreement_id": made["id"]}, headers=secretariat
    )
    assert [item["governing_body"] for item in listed.json()["items"]] == ["cpm", "bureau"]
