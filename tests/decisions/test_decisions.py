"""Decisions (design §2, §3): where each body may decide and what it does, corrections, the
decisions list, and idempotent recording."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.decisions import service as decisions_service
from app.models import Agreement
from tests.decisions.conftest import Member, decide, decision
from tests.registry import Make, csv_rows, etag_of, pointers, set_columns

URL = "/v1/agreements"


@pytest.mark.parametrize(
    ("body", "outcome", "instrument", "status"),
    [
        ("bureau", "approved", "informal_arrangement", "approved"),
        ("bureau", "approved", "letter_of_intent", "cpm_review"),
        ("bureau", "rejected", "informal_arrangement", "rejected"),
        ("bureau", "returned", "letter_of_intent", "draft"),
    ],
)
async def test_a_bureau_decision_on_a_submitted_agreement(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    submitted: Make,
    body: str,
    outcome: str,
    instrument: str,
    status: str,
) -> None:
    made = await submitted(instrument=instrument)
    response = await decide(client, bureau, made["id"], body=body, outcome=outcome)
    assert response.status_code == 201, response.text
    assert response.json()["agreement_status"] == status
    after = (await client.get(f"{URL}/{made['id']}", headers=secretariat)).json()
    assert after["status"] == status
    assert after["version"] == made["version"] + 1


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("approved", "approved"), ("rejected", "rejected"), ("returned", "draft")],
)
async def test_a_cpm_decision_in_cpm_review(
    app: FastAPI,
    client: httpx.AsyncClient,
    bureau: dict[str, str],
    submitted: Make,
    outcome: str,
    status: str,
) -> None:
    made = await submitted(instrument="letter_of_intent")
    await set_columns(app, Agreement, made["id"], status="cpm_review", version=10)
    response = await decide(client, bureau, made["id"], body="cpm", outcome=outcome)
    assert response.status_code == 201, response.text
    assert response.json()["agreement_status"] == status


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("bureau", "draft"),
        ("bureau", "cpm_review"),
        ("bureau", "approved"),
        ("cpm", "submitted"),  # the CPM before the Bureau
        ("cpm", "draft"),
        ("cpm", "approved"),
        ("cpm", "active"),
    ],
)
async def test_a_decision_in_the_wrong_status_is_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    bureau: dict[str, str],
    agreement: Make,
    body: str,
    status: str,
) -> None:
    made = await agreement()
    await set_columns(app, Agreement, made["id"], status=status, version=2)
    response = await decide(client, bureau, made["id"], body=body)
    assert response.status_code == 409, response.text
    assert response.json()["type"] == "/problems/invalid-transition"
    assert response.json()["current_status"] == status
    listed = await client.get("/v1/decisions", headers=bureau)
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"rationale": ""}, "/rationale"),
        ({"rationale": "x" * 20_001}, "/rationale"),
        ({"meeting_reference": " "}, "/meeting_reference"),
        ({"meeting_reference": "x" * 301}, "/meeting_reference"),
        ({"governing_body": "council"}, "/governing_body"),
        ({"outcome": "deferred"}, "/outcome"),
        ({"decided_on": "2999-01-01"}, "/decided_on"),
        ({"decided_on": "01/02/2026"}, "/decided_on"),
        ({"participants": ["A", "A"]}, "/participants"),
        ({"recorded_by": "someone"}, "/recorded_by"),
        ({"recusals": []}, "/recusals"),
        ({"agreement_status": "approved"}, "/agreement_status"),
    ],
)
async def test_a_decision_is_validated(
    client: httpx.AsyncClient,
    bureau: dict[str, str],
    submitted: Make,
    change: dict[str, Any],
    pointer: str,
) -> None:
    made = await submitted()
    response = await client.post(
        f"{URL}/{made['id']}/decisions",
        json={**decision("bureau", "approved"), **change},
        headers=bureau,
    )
    assert pointers(response) == [pointer]


async def test_text_too_long_is_said_in_characters(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    response = await client.post(
        f"{URL}/{made['id']}/decisions",
        json={
            **decision("bureau", "approved"),
            "rationale": "x" * 20_001,
            "meeting_reference": "x" * 301,
        },
        headers=bureau,
    )
    assert response.status_code == 422, response.text
    assert [error["detail"] for error in response.json()["errors"]] == [
        "String should have at most 20000 characters",
        "String should have at most 300 characters",
    ]


async def test_a_decision_is_audited_on_the_agreement_and_as_itself(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    recorded = (await decide(client, bureau, made["id"])).json()
    events = await client.get(
        "/v1/audit-events",
        params={"resource_type": "agreement", "resource_id": made["id"]},
        headers=bureau,
    )
    last = events.json()["items"][-1]
    assert last["action"] == "bureau_approved"
    assert last["note"] == "CPM-8 (2013), paragraph 42"
    assert last["changes"]["status"] == {"before": "submitted", "after": "approved"}
    assert last["changes"]["last_decision_id"] == {"before": None, "after": recorded["id"]}
    own = await client.get(
        "/v1/audit-events",
        params={"resource_type": "decision", "resource_id": recorded["id"]},
        headers=bureau,
    )
    assert [event["action"] for event in own.json()["items"]] == ["create"]


async def test_a_stale_if_match_is_412(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    stale = {**bureau, "If-Match": etag_of({**made, "version": made["version"] - 1})}
    assert (await decide(client, stale, made["id"])).status_code == 412
    current = {**bureau, "If-Match": etag_of(made)}
    assert (await decide(client, current, made["id"])).status_code == 201


async def test_recording_is_idempotent(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    keyed = {**bureau, "Idempotency-Key": "decision-1"}
    first = await decide(client, keyed, made["id"])
    again = await decide(client, keyed, made["id"])
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await decide(client, keyed, made["id"], outcome="rejected")
    assert other.status_code == 422
    listed = await client.get("/v1/decisions", headers=bureau)
    assert len(listed.json()["items"]) == 1


# --- Immutability ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
async def test_a_decision_is_never_changed_nor_deleted_through_the_api(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make, method: str
) -> None:
    made = await submitted()
    recorded = (await decide(client, bureau, made["id"])).json()
    path = f"/v1/decisions/{recorded['id']}"
    response = await client.request(
        method, path, json={"rationale": "Rewritten"}, headers={**bureau, "If-Match": "*"}
    )
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(path, headers=bureau)).json() == recorded


# --- Corrections -------------------------------------------------------------------------------


async def test_a_correction_supersedes_once_and_moves_no_status(
    app: FastAPI,
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    submitted: Make,
) -> None:
    made = await submitted()
    wrong = (await decide(client, bureau, made["id"], meeting_reference="CPM-9")).json()
    activated = await client.post(f"{URL}/{made['id']}/activate", headers=secretariat)
    assert activated.status_code == 200
    corrected = await decide(
        client, bureau, made["id"], meeting_reference="CPM-8", supersedes_id=wrong["id"]
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["supersedes_id"] == wrong["id"]
    assert corrected.json()["agreement_status"] == "active"
    after = (await client.get(f"{URL}/{made['id']}", headers=secretariat)).json()
    assert after["status"] == "active"
    assert after["version"] == activated.json()["version"] + 1
    first = await client.get(f"/v1/decisions/{wrong['id']}", headers=bureau)
    assert first.json()["superseded_by_id"] == corrected.json()["id"]
    assert first.json()["meeting_reference"] == "CPM-9"

    again = await decide(client, bureau, made["id"], supersedes_id=wrong["id"])
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/decision-superseded"
    assert again.json()["superseded_by_id"] == corrected.json()["id"]
    chained = await decide(client, bureau, made["id"], supersedes_id=corrected.json()["id"])
    assert chained.status_code == 201
    history = await client.get(f"{URL}/{made['id']}/history", headers=bureau)
    assert [item["action"] for item in history.json()["items"]] == [
        "submit",
        "bureau_approved",
        "activate",
        "correction",
        "correction",
    ]


async def test_the_history_is_paged(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    """Corrections may make a history long: it is paged like every list, in commit order,
    each page's decisions with it, and a `Link` to the next page."""
    made = await submitted()
    decision = (await decide(client, bureau, made["id"])).json()
    for reference in ("CPM-8", "CPM-7", "CPM-6"):
        decision = (
            await decide(
                client,
                bureau,
                made["id"],
                meeting_reference=reference,
                supersedes_id=decision["id"],
            )
        ).json()
    path = f"{URL}/{made['id']}/history"
    whole = (await client.get(path, headers=bureau)).json()
    assert whole["next_cursor"] is None
    assert [item["action"] for item in whole["items"]] == [
        "submit",
        "bureau_approved",
        "correction",
        "correction",
        "correction",
    ]
    pages = []
    response = await client.get(path, params={"limit": 2}, headers=bureau)
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        link = response.links.get("next", {}).get("url")
        if link is None:
            assert response.json()["next_cursor"] is None
            break
        response = await client.get(link, headers=bureau)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [item for page in pages for item in page] == whole["items"]
    assert pages[2][0]["decision"]["meeting_reference"] == "CPM-6"
    for bad in ({"limit": 201}, {"limit": 0}, {"cursor": "forged"}):
        assert (await client.get(path, params=bad, headers=bureau)).status_code == 422


async def test_a_correction_keeps_the_body_outcome_and_agreement(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    other = await submitted("Other")
    earlier = (await decide(client, bureau, made["id"])).json()
    assert (await decide(client, bureau, other["id"])).status_code == 201
    changed = await decide(
        client, bureau, made["id"], body="cpm", outcome="rejected", supersedes_id=earlier["id"]
    )
    assert pointers(changed) == ["/governing_body", "/outcome"]
    elsewhere = await decide(client, bureau, other["id"], supersedes_id=earlier["id"])
    assert pointers(elsewhere) == ["/supersedes_id"]
    unknown = await decide(
        client, bureau, made["id"], supersedes_id="00000000-0000-4000-8000-000000000000"
    )
    assert pointers(unknown) == ["/supersedes_id"]


# --- The list ----------------------------------------------------------------------------------


async def test_decisions_are_filtered_and_exported(
    app: FastAPI, client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    one = await submitted("One")
    two = await submitted("Two", instrument="letter_of_intent")
    await decide(client, bureau, one["id"], outcome="rejected", decided_on="2026-01-10")
    await decide(client, bureau, two["id"], decided_on="2026-02-10")
    await decide(client, bureau, two["id"], body="cpm", decided_on="2026-03-10")

    async def outcomes(**params: Any) -> list[tuple[str, str]]:
        response = await client.get("/v1/decisions", params=params, headers=bureau)
        assert response.status_code == 200, response.text
        return [(item["governing_body"], item["outcome"]) for item in response.json()["items"]]

    assert await outcomes() == [("cpm", "approved"), ("bureau", "approved"), ("bureau", "rejected")]
    assert await outcomes(sort="decided_on") == [
        ("bureau", "rejected"),
        ("bureau", "approved"),
        ("cpm", "approved"),
    ]
    assert await outcomes(governing_body="cpm") == [("cpm", "approved")]
    assert await outcomes(outcome="rejected") == [("bureau", "rejected")]
    assert await outcomes(agreement_id=one["id"]) == [("bureau", "rejected")]
    assert await outcomes(decided_on_from="2026-02-01", decided_on_to="2026-02-28") == [
        ("bureau", "approved")
    ]
    bad = await client.get("/v1/decisions", params={"outcome": "maybe"}, headers=bureau)
    assert bad.status_code == 422
    rows = csv_rows(await client.get("/v1/decisions", params={"format": "csv"}, headers=bureau))
    assert [row["governing_body"] for row in rows] == ["cpm", "bureau", "bureau"]


async def test_a_decision_is_read_by_its_id(
    client: httpx.AsyncClient,
    bureau: dict[str, str],
    integration: dict[str, str],
    member: Member,
    submitted: Make,
) -> None:
    made = await submitted()
    subject, headers = await member("Dana")
    recorded = (await decide(client, headers, made["id"], participants=["Dana", "Eli"])).json()
    read = await client.get(f"/v1/decisions/{recorded['id']}", headers=integration)
    assert read.status_code == 200
    assert read.json() == recorded
    assert read.json()["recorded_by"] == subject
    assert read.json()["participants"] == ["Dana", "Eli"]
    cached = await client.get(
        f"/v1/decisions/{recorded['id']}",
        headers={**integration, "If-None-Match": read.headers["etag"]},
    )
    assert cached.status_code == 304
    missing = await client.get("/v1/decisions/00000000-0000-4000-8000-000000000000", headers=bureau)
    assert missing.status_code == 404


async def test_an_agreements_decisions(
    client: httpx.AsyncClient, integration: dict[str, str], bureau: dict[str, str], submitted: Make
) -> None:
    one = await submitted("One", instrument="letter_of_intent")
    two = await submitted("Two")
    await decide(client, bureau, one["id"], decided_on="2026-02-10")
    await decide(client, bureau, one["id"], body="cpm", outcome="rejected")
    await decide(client, bureau, two["id"])
    path = f"{URL}/{one['id']}/decisions"
    listed = await client.get(path, headers=integration)
    assert listed.status_code == 200, listed.text
    assert [item["governing_body"] for item in listed.json()["items"]] == ["cpm", "bureau"]
    assert {item["agreement_id"] for item in listed.json()["items"]} == {one["id"]}
    rejected = await client.get(path, params={"outcome": "rejected"}, headers=integration)
    assert [item["outcome"] for item in rejected.json()["items"]] == ["rejected"]
    foreign = await client.get(path, params={"agreement_id": two["id"]}, headers=integration)
    assert {item["agreement_id"] for item in foreign.json()["items"]} == {one["id"]}
    missing = await client.get(
        f"{URL}/00000000-0000-4000-8000-000000000000/decisions", headers=integration
    )
    assert missing.status_code == 404


async def test_an_agreement_takes_at_most_so_many_decisions(
    client: httpx.AsyncClient,
    member: Member,
    submitted: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cap bounds an agreement's decisions (its public record lists them all)."""
    monkeypatch.setattr(decisions_service, "MAX_DECISIONS", 1)
    made = await submitted()
    _subject, headers = await member("Ana")
    first = await decide(client, headers, made["id"])
    assert first.status_code == 201, first.text
    correction = await decide(client, headers, made["id"], supersedes_id=first.json()["id"])
    assert correction.status_code == 409, correction.text
    assert "as many as one agreement may take" in correction.json()["detail"]
