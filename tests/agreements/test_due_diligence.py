"""Due diligence of an agreement: GET, and PUT while it is a draft (design §2)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import PUBLIC_BASE_URL
from tests.registry import Make, pointers

ASSESSMENT: dict[str, Any] = {
    "risk_level": "medium",
    "risk_categories": ["reputational", "conflict_of_interest"],
    "undue_influence_assessment": "The partner funds no standard-setting work.",
    "conflicts_of_interest": "None declared.",
    "mitigation": "Yearly review by the Bureau.",
    "excluded_sector": False,
    "assessed_by": "Legal officer",
    "assessed_on": "2026-11-30",
}


def _url(agreement: dict[str, Any]) -> str:
    return f"/v1/agreements/{agreement['id']}/due-diligence"


async def test_put_creates_then_replaces_and_raises_the_agreements_version(
    client: httpx.AsyncClient, secretariat: dict[str, str], bureau: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    assert (await client.get(_url(made), headers=secretariat)).status_code == 404
    first = await client.put(_url(made), json=ASSESSMENT, headers=secretariat)
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"{PUBLIC_BASE_URL}{_url(made)}"
    shown = first.json()
    assert {key: shown[key] for key in ASSESSMENT} == ASSESSMENT
    assert shown["agreement_id"] == made["id"]
    assert shown["version"] == 1
    read = await client.get(_url(made), headers=bureau)
    assert read.status_code == 200
    assert read.json() == shown
    assert read.headers["etag"] == first.headers["etag"]
    cached = await client.get(
        _url(made), headers={**bureau, "If-None-Match": first.headers["etag"]}
    )
    assert cached.status_code == 304
    agreement_now = (await client.get(f"/v1/agreements/{made['id']}", headers=secretariat)).json()
    assert agreement_now["version"] == 2

    second = await client.put(
        _url(made),
        json={**ASSESSMENT, "risk_level": "low", "mitigation": None},
        headers=secretariat,
    )
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2
    assert second.json()["mitigation"] is None
    agreement_now = (await client.get(f"/v1/agreements/{made['id']}", headers=secretariat)).json()
    assert agreement_now["version"] == 3

    same = await client.put(
        _url(made),
        json={**ASSESSMENT, "risk_level": "low", "mitigation": None},
        headers=secretariat,
    )
    assert same.status_code == 200
    assert same.json()["version"] == 2  # nothing changed


@pytest.mark.parametrize("risk_level", ["medium", "high"])
async def test_mitigation_is_required_for_medium_and_high_risk(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make, risk_level: str
) -> None:
    made = await agreement()
    body = {**ASSESSMENT, "risk_level": risk_level, "mitigation": None}
    assert pointers(await client.put(_url(made), json=body, headers=secretariat)) == ["/mitigation"]
    low = await client.put(_url(made), json={**body, "risk_level": "low"}, headers=secretariat)
    assert low.status_code == 201


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"undue_influence_assessment": None}, "/undue_influence_assessment"),
        ({"undue_influence_assessment": " "}, "/undue_influence_assessment"),
        ({"risk_level": "extreme"}, "/risk_level"),
        ({"risk_categories": ["legal", "legal"]}, "/risk_categories"),
        ({"risk_categories": ["gossip"]}, "/risk_categories/0"),
        ({"excluded_sector": "no"}, "/excluded_sector"),
        ({"assessed_on": "30/11/2026"}, "/assessed_on"),
        ({"verdict": "fine"}, "/verdict"),
    ],
)
async def test_bad_assessments_are_refused(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    agreement: Make,
    body: dict[str, Any],
    pointer: str,
) -> None:
    made = await agreement()
    response = await client.put(_url(made), json={**ASSESSMENT, **body}, headers=secretariat)
    assert pointers(response) == [pointer]


async def test_if_match_is_optional_but_checked(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    nothing_yet = await client.put(
        _url(made), json=ASSESSMENT, headers={**secretariat, "If-Match": "*"}
    )
    assert nothing_yet.status_code == 412
    first = await client.put(_url(made), json=ASSESSMENT, headers=secretariat)
    tag = first.headers["etag"]
    changed = {**ASSESSMENT, "assessed_by": "Someone else"}
    ok = await client.put(_url(made), json=changed, headers={**secretariat, "If-Match": tag})
    assert ok.status_code == 200
    stale = await client.put(_url(made), json=ASSESSMENT, headers={**secretariat, "If-Match": tag})
    assert stale.status_code == 412


async def test_unknown_agreement_is_404_and_only_the_secretariat_assesses(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    integration: dict[str, str],
    agreement: Make,
) -> None:
    missing = f"/v1/agreements/{uuid.uuid4()}/due-diligence"
    assert (await client.get(missing, headers=secretariat)).status_code == 404
    assert (await client.put(missing, json=ASSESSMENT, headers=secretariat)).status_code == 404
    made = await agreement()
    for headers in (bureau, integration):
        refused = await client.put(_url(made), json=ASSESSMENT, headers=headers)
        assert refused.status_code == 403
    assert (await client.get(_url(made))).status_code == 401


async def test_assessments_are_audited(
    client: httpx.AsyncClient, secretariat: dict[str, str], bureau: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    await client.put(_url(made), json=ASSESSMENT, headers=secretariat)
    await client.put(_url(made), json={**ASSESSMENT, "risk_level": "high"}, headers=secretariat)
    response = await client.get(
        "/v1/audit-events",
        params={"resource_type": "due_diligence", "resource_id": made["id"]},
        headers=bureau,
    )
    events = response.json()["items"]
    assert [event["action"] for event in events] == ["create", "update"]
    assert events[1]["changes"] == {"risk_level": {"before": "medium", "after": "high"}}
    raised = await client.get(
        "/v1/audit-events",
        params={"resource_type": "agreement", "resource_id": made["id"]},
        headers=bureau,
    )
    # The agreement's own event shows what the risk changed in it: the approvals it needs.
    assert [event["action"] for event in raised.json()["items"]] == ["create", "update"]
    assert raised.json()["items"][1]["changes"] == {
        "required_approvals": {"before": ["bureau"], "after": ["bureau", "cpm"]}
    }
