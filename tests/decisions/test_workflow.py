"""The state machine of design §3 through HTTP: every transition of the table from each status
it starts from, every refused one (409 naming the current status and the allowed actions), the
submission's requirements in one 422, and the roles."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.agreements.workflow import (
    TRANSITION_ACTIONS,
    TRANSITIONS,
    AgreementStatus,
    allowed_actions,
)
from app.models import Agreement
from tests.auth.test_matrix import access_of, operations
from tests.decisions.conftest import decision
from tests.registry import Make, etag_of, merge_patch, pointers, set_columns

URL = "/v1/agreements"

# Every explicit transition, from every status: where it leads, or None when refused.
MOVES: dict[tuple[str, str], str | None] = {
    (action, status): next(
        (str(row.target) for row in TRANSITIONS if row.action == action and status in row.sources),
        None,
    )
    for action in TRANSITION_ACTIONS
    for status in AgreementStatus
    if action != "submit"  # submitting has requirements: tested below
}


def test_the_table_is_design_section_3() -> None:
    assert TRANSITION_ACTIONS == (
        "submit",
        "withdraw",
        "activate",
        "suspend",
        "resume",
        "terminate",
        "close",
    )
    assert allowed_actions("submitted") == [
        "withdraw",
        "bureau_approved",
        "bureau_rejected",
        "bureau_returned",
    ]
    assert allowed_actions("cpm_review") == [
        "withdraw",
        "cpm_approved",
        "cpm_rejected",
        "cpm_returned",
    ]
    assert allowed_actions("active") == ["suspend", "terminate", "close"]
    for status in ("rejected", "ended", "terminated", "withdrawn"):
        assert allowed_actions(status) == []


@pytest.mark.parametrize(("action", "status"), sorted(MOVES))
async def test_each_transition_from_each_status(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    agreement: Make,
    action: str,
    status: str,
) -> None:
    made = await agreement()
    await set_columns(app, Agreement, made["id"], status=status, version=2)
    response = await client.post(
        f"{URL}/{made['id']}/{action}", json={"note": "Why"}, headers=secretariat
    )
    target = MOVES[(action, status)]
    if target is None:
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["type"] == "/problems/invalid-transition"
        assert problem["current_status"] == status
        assert problem["allowed_actions"] == allowed_actions(status)
        after = await client.get(f"{URL}/{made['id']}", headers=secretariat)
        assert after.json()["status"] == status
        assert after.json()["version"] == 2
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target
        assert response.json()["version"] == 3
        assert response.headers["etag"] == etag_of(response.json())


async def test_a_transition_is_audited_with_its_action_and_note(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    submitted: Make,
) -> None:
    made = await submitted()
    path = f"{URL}/{made['id']}/withdraw"
    response = await client.post(path, json={"note": "The partner pulled out"}, headers=secretariat)
    assert response.status_code == 200
    events = await client.get(
        "/v1/audit-events",
        params={"resource_type": "agreement", "resource_id": made["id"]},
        headers=bureau,
    )
    last = events.json()["items"][-1]
    assert last["action"] == "withdraw"
    assert last["note"] == "The partner pulled out"
    assert last["changes"]["status"] == {"before": "submitted", "after": "withdrawn"}


async def test_submission_lists_every_missing_item(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    response = await client.post(f"{URL}/{made['id']}/submit", headers=secretariat)
    assert pointers(response) == ["/partner_ids", "/strategic_objectives", "/due_diligence"]
    still = await client.get(f"{URL}/{made['id']}", headers=secretariat)
    assert still.json()["status"] == "draft"


async def test_an_excluded_sector_blocks_submission(
    client: httpx.AsyncClient, secretariat: dict[str, str], ready: Make
) -> None:
    made = await ready(
        due_diligence={
            "risk_level": "high",
            "undue_influence_assessment": "A tobacco company.",
            "mitigation": "None possible.",
            "excluded_sector": True,
        }
    )
    response = await client.post(f"{URL}/{made['id']}/submit", headers=secretariat)
    assert pointers(response) == ["/due_diligence/excluded_sector"]


async def test_a_submitted_agreement_and_its_due_diligence_are_not_edited(
    client: httpx.AsyncClient, secretariat: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    path = f"{URL}/{made['id']}"
    patched = await merge_patch(client, secretariat, path, {"title": "Late"}, etag_of(made))
    assert patched.status_code == 409
    assert patched.json()["type"] == "/problems/agreement-not-editable"
    assert patched.json()["current_status"] == "submitted"
    assessed = await client.put(
        f"{path}/due-diligence",
        json={"risk_level": "low", "undue_influence_assessment": "Changed"},
        headers=secretariat,
    )
    assert assessed.status_code == 409
    deleted = await client.delete(path, headers={**secretariat, "If-Match": "*"})
    assert deleted.status_code == 409


async def test_activation_takes_a_signing_date_not_in_the_future(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    await set_columns(app, Agreement, made["id"], status="approved", version=2)
    path = f"{URL}/{made['id']}/activate"
    future = await client.post(path, json={"signed_on": "2999-01-01"}, headers=secretariat)
    assert pointers(future) == ["/signed_on"]
    unknown = await client.post(path, json={"signed": "2026-01-01"}, headers=secretariat)
    assert pointers(unknown) == ["/signed"]
    bare = await client.post(path, headers=secretariat)
    assert bare.status_code == 200, bare.text
    assert bare.json()["signed_on"] is not None


@pytest.mark.parametrize(
    "body",
    [{"note": ""}, {"note": "x" * 2001}, {"note": 3}, {"reason": "x"}, [], "text"],
)
async def test_a_transition_body_is_checked(
    client: httpx.AsyncClient, secretariat: dict[str, str], submitted: Make, body: Any
) -> None:
    made = await submitted()
    response = await client.post(f"{URL}/{made['id']}/withdraw", json=body, headers=secretariat)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_transition_takes_an_if_match(
    client: httpx.AsyncClient, secretariat: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    path = f"{URL}/{made['id']}/withdraw"
    stale = {**secretariat, "If-Match": etag_of({**made, "version": made["version"] - 1})}
    assert (await client.post(path, headers=stale)).status_code == 412
    current = {**secretariat, "If-Match": etag_of(made)}
    assert (await client.post(path, headers=current)).status_code == 200


async def test_unknown_agreements_are_404(
    client: httpx.AsyncClient, secretariat: dict[str, str], bureau: dict[str, str]
) -> None:
    path = f"{URL}/{uuid.uuid4()}"
    assert (await client.post(f"{path}/submit", headers=secretariat)).status_code == 404
    decided = await client.post(
        f"{path}/decisions", json=decision("bureau", "approved"), headers=bureau
    )
    assert decided.status_code == 404
    assert (await client.get(f"{path}/history", headers=bureau)).status_code == 404


async def test_roles(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    integration: dict[str, str],
    submitted: Make,
) -> None:
    """A Secretariat token never records a decision; a Bureau token never moves an agreement."""
    made = await submitted()
    path = f"{URL}/{made['id']}"
    for headers in (secretariat, integration):
        refused = await client.post(
            f"{path}/decisions", json=decision("bureau", "approved"), headers=headers
        )
        assert refused.status_code == 403
    for headers in (bureau, integration):
        assert (await client.post(f"{path}/withdraw", headers=headers)).status_code == 403
    still = await client.get(path, headers=secretariat)
    assert still.json()["status"] == "submitted"


def test_each_route_declares_the_scope_of_its_table_row(app: FastAPI) -> None:
    routes = operations(app)
    for row in TRANSITIONS:
        path = (
            f"/v1/agreements/{{agreement_id}}/{row.action}"
            if row.action in TRANSITION_ACTIONS
            else "/v1/agreements/{agreement_id}/decisions"
        )
        assert access_of(routes[("POST", path)]) == (False, frozenset({row.scope.value}))
