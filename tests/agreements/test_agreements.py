"""Agreements: create as a draft, read, merge-patch, delete, and their rules (design §2, §3)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.models import Agreement
from tests.conftest import PUBLIC_BASE_URL
from tests.registry import Make, archive, etag_of, merge_patch, pointers, set_columns

URL = "/v1/agreements"

FINANCED_MOU: dict[str, Any] = {
    "title": "Memorandum of understanding on pest surveillance",
    "purpose": "Joint surveillance of fruit flies.",
    "public_summary": "Surveillance of fruit flies in the region.",
    "level": "partnership",
    "instrument": "memorandum_of_understanding",
    "scope_of_work": "Trapping, diagnostics, shared reports.",
    "start_date": "2027-01-01",
    "end_date": "2029-12-31",
    "shares_risks": False,
    "shares_resources": True,
    "shares_responsibilities": True,
    "financing": {"amount": "125000.50", "currency": "USD", "direction": "to_ippc"},
    "legal_arrangement": None,
    "strategic_objectives": ["2020-2030.A", "2020-2030.C"],
}


async def _patch(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    agreement: dict[str, Any],
    body: dict[str, Any],
    if_match: str | None = "*",
) -> httpx.Response:
    return await merge_patch(client, headers, f"{URL}/{agreement['id']}", body, if_match)


async def test_create_answers_201_as_a_draft_with_location_and_etag(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make
) -> None:
    first, second = await organization("Alpha", category="nppo"), await organization("Beta")
    body = {**FINANCED_MOU, "partner_ids": [first["id"], second["id"]]}
    response = await client.post(URL, json=body, headers=secretariat)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {key: created[key] for key in body} == body
    assert created["status"] == "draft"
    assert created["signed_on"] is None
    assert created["required_approvals"] == ["bureau", "cpm"]
    assert created["version"] == 1
    assert response.headers["location"] == f"{PUBLIC_BASE_URL}{URL}/{created['id']}"
    assert response.headers["etag"] == etag_of(created)
    read = await client.get(f"{URL}/{created['id']}", headers=secretariat)
    assert read.json() == created
    again = await client.get(
        f"{URL}/{created['id']}", headers={**secretariat, "If-None-Match": etag_of(created)}
    )
    assert again.status_code == 304


async def test_only_title_level_and_instrument_are_required(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    response = await client.post(URL, json={"purpose": "x"}, headers=secretariat)
    assert sorted(pointers(response)) == ["/instrument", "/level", "/title"]
    minimal = await client.post(
        URL,
        json={"title": "Minimal", "level": "partnership", "instrument": "informal_arrangement"},
        headers=secretariat,
    )
    assert minimal.status_code == 201
    shown = minimal.json()
    assert shown["partner_ids"] == []
    assert shown["strategic_objectives"] == []
    assert shown["financing"] is None
    assert shown["shares_risks"] is False


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"status": "approved"}, "/status"),
        ({"required_approvals": ["bureau"]}, "/required_approvals"),
        ({"signed_on": "2027-01-01"}, "/signed_on"),
        ({"title": "   "}, "/title"),
        ({"title": "x" * 501}, "/title"),
        ({"level": "alliance"}, "/level"),
        ({"start_date": "2027-01-01T00:00:00"}, "/start_date"),
        ({"start_date": 0}, "/start_date"),
        ({"shares_risks": "yes"}, "/shares_risks"),
        ({"legal_arrangement": ""}, "/legal_arrangement"),
        ({"purpose": "x" * 10_001}, "/purpose"),
        ({"strategic_objectives": ["2020-2030.A", "2020-2030.A"]}, "/strategic_objectives"),
        ({"strategic_objectives": ["A"]}, "/strategic_objectives/0"),
    ],
)
async def test_bad_fields_are_refused(
    client: httpx.AsyncClient, secretariat: dict[str, str], body: dict[str, Any], pointer: str
) -> None:
    base = {"title": "T", "level": "cooperation", "instrument": "cooperation_agreement"}
    response = await client.post(URL, json={**base, **body}, headers=secretariat)
    assert pointers(response) == [pointer]


@pytest.mark.parametrize(
    ("financing", "pointer"),
    [
        ({"amount": 125000.5, "currency": "USD", "direction": "to_ippc"}, "/financing/amount"),
        ({"amount": "0", "currency": "USD", "direction": "to_ippc"}, "/financing/amount"),
        ({"amount": "-5", "currency": "USD", "direction": "to_ippc"}, "/financing/amount"),
        ({"amount": "1.00001", "currency": "USD", "direction": "to_ippc"}, "/financing/amount"),
        ({"amount": "1e3", "currency": "USD", "direction": "to_ippc"}, "/financing/amount"),
        ({"amount": "100", "currency": "usd", "direction": "to_ippc"}, "/financing/currency"),
        ({"amount": "100", "currency": "XXX", "direction": "to_ippc"}, "/financing/currency"),
        ({"amount": "100", "currency": "USD", "direction": "sideways"}, "/financing/direction"),
        ({"amount": "100", "currency": "USD"}, "/financing/direction"),
    ],
)
async def test_financing_is_an_exact_positive_amount_with_currency_and_direction(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    financing: dict[str, Any],
    pointer: str,
) -> None:
    base = {"title": "T", "level": "partnership", "instrument": "informal_arrangement"}
    response = await client.post(URL, json={**base, "financing": financing}, headers=secretariat)
    assert pointers(response) == [pointer]


async def test_amounts_are_kept_exactly(client: httpx.AsyncClient, agreement: Make) -> None:
    for given, shown in [
        ("99999999999999.9999", "99999999999999.9999"),
        ("0.0001", "0.0001"),
        ("12", "12.00"),
        ("12.5", "12.50"),
    ]:
        made = await agreement(
            financing={"amount": given, "currency": "KWD", "direction": "in_kind"}
        )
        assert made["financing"]["amount"] == shown


async def test_end_date_is_not_before_start_date(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    base = {"title": "T", "level": "partnership", "instrument": "informal_arrangement"}
    body = {**base, "start_date": "2027-02-01", "end_date": "2027-01-31"}
    assert pointers(await client.post(URL, json=body, headers=secretariat)) == ["/end_date"]
    same_day = await client.post(URL, json={**body, "end_date": "2027-02-01"}, headers=secretariat)
    assert same_day.status_code == 201
    made = await agreement(start_date="2027-01-01")
    late = await _patch(client, secretariat, made, {"end_date": "2026-12-31"})
    assert pointers(late) == ["/end_date"]


async def test_every_invalid_reference_is_named_in_one_422(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make
) -> None:
    valid, archived = await organization("Valid"), await organization("Archived")
    await archive(client, secretariat, archived)
    body = {
        "title": "T",
        "level": "partnership",
        "instrument": "informal_arrangement",
        "partner_ids": [valid["id"], str(uuid.uuid4()), archived["id"]],
        "strategic_objectives": ["2020-2030.A", "2020-2030.Z", "1999-2000.A"],
        "end_date": "2020-01-01",
        "start_date": "2021-01-01",
    }
    response = await client.post(URL, json=body, headers=secretariat)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"detail": "Must not be before start_date", "pointer": "/end_date"},
        {"detail": "No organization has this id", "pointer": "/partner_ids/1"},
        {
            "detail": "This organization is archived: it takes no new links",
            "pointer": "/partner_ids/2",
        },
        {"detail": "No strategic objective has this code", "pointer": "/strategic_objectives/1"},
        {"detail": "No strategic objective has this code", "pointer": "/strategic_objectives/2"},
    ]
    assert str(uuid.UUID(body["partner_ids"][1])) not in response.text  # nothing echoed


async def test_more_invalid_references_than_a_problem_lists_are_counted(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    """Seventy-one invalid references (50 partners, 20 objectives, the dates): the problem
    lists the first 50 and says, as every validation problem does, how many it leaves out."""
    body = {
        "title": "T",
        "level": "partnership",
        "instrument": "informal_arrangement",
        "partner_ids": [str(uuid.uuid4()) for _ in range(50)],
        "strategic_objectives": [f"{1900 + year}-{1901 + year}.A" for year in range(20)],
        "start_date": "2021-01-01",
        "end_date": "2020-01-01",
    }
    response = await client.post(URL, json=body, headers=secretariat)
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == 50
    assert problem["errors_omitted"] == 21
    assert problem["detail"] == (
        "71 invalid values; errors lists the first 50, errors_omitted counts the other 21."
    )
    dates_only = {**body, "partner_ids": [], "strategic_objectives": []}
    refused = await client.post(URL, json=dates_only, headers=secretariat)
    assert refused.json()["detail"] == "1 invalid value; see errors."


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"status": "approved"}, "/status"),
        ({"required_approvals": ["bureau"]}, "/required_approvals"),
        ({"signed_on": "2027-01-01"}, "/signed_on"),
        ({"version": 9}, "/version"),
    ],
)
async def test_a_patch_cannot_set_what_is_read_only(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    agreement: Make,
    body: dict[str, Any],
    pointer: str,
) -> None:
    made = await agreement()
    assert pointers(await _patch(client, secretariat, made, body)) == [pointer]
    unchanged = (await client.get(f"{URL}/{made['id']}", headers=secretariat)).json()
    assert unchanged == made


async def test_a_patch_names_each_new_invalid_reference(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, agreement: Make
) -> None:
    """A patch is checked like a create: one 422, a pointer per new invalid reference."""
    partner = await organization("Partner")
    made = await agreement(partner_ids=[partner["id"]], strategic_objectives=["2020-2030.A"])
    body = {
        "partner_ids": [partner["id"], str(uuid.uuid4())],
        "strategic_objectives": ["2020-2030.A", "2020-2030.Z", "1999-2000.A"],
    }
    assert pointers(await _patch(client, secretariat, made, body)) == [
        "/partner_ids/1",
        "/strategic_objectives/1",
        "/strategic_objectives/2",
    ]


async def test_a_partner_archived_after_it_was_linked_stays_linked(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, agreement: Make
) -> None:
    partner, other = await organization("Partner"), await organization("Other")
    made = await agreement(partner_ids=[partner["id"]])
    await archive(client, secretariat, partner)
    renamed = await _patch(client, secretariat, made, {"title": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    added = await _patch(client, secretariat, made, {"partner_ids": [partner["id"], other["id"]]})
    assert added.status_code == 200, added.text
    await archive(client, secretariat, other)
    moved = await _patch(client, secretariat, made, {"partner_ids": [other["id"]]})
    assert moved.status_code == 200  # kept, not newly linked
    readded = await _patch(client, secretariat, made, {"partner_ids": [other["id"], partner["id"]]})
    assert pointers(readded) == ["/partner_ids/1"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ["bureau"]),
        ({"level": "cooperation"}, ["bureau", "cpm"]),
        ({"instrument": "letter_of_intent"}, ["bureau", "cpm"]),
        (
            {"financing": {"amount": "10", "currency": "EUR", "direction": "in_kind"}},
            ["bureau", "cpm"],
        ),
        ({"legal_arrangement": "Host country agreement"}, ["bureau", "cpm"]),
        ({"shares_risks": True, "shares_resources": True}, ["bureau"]),
    ],
)
async def test_required_approvals_follow_design_section_3(
    agreement: Make, fields: dict[str, Any], expected: list[str]
) -> None:
    assert (await agreement(**fields))["required_approvals"] == expected


async def test_required_approvals_follow_every_change_they_depend_on(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    assert made["required_approvals"] == ["bureau"]

    async def approvals_after(body: dict[str, Any]) -> list[str]:
        response = await _patch(client, secretariat, made, body)
        assert response.status_code == 200, response.text
        shown: list[str] = response.json()["required_approvals"]
        return shown

    assert await approvals_after({"level": "cooperation"}) == ["bureau", "cpm"]
    assert await approvals_after({"level": "partnership"}) == ["bureau"]
    assert await approvals_after({"instrument": "partnership_agreement"}) == ["bureau", "cpm"]
    assert await approvals_after({"instrument": "informal_arrangement"}) == ["bureau"]
    financing = {"amount": "5", "currency": "CHF", "direction": "from_ippc"}
    assert await approvals_after({"financing": financing}) == ["bureau", "cpm"]
    assert await approvals_after({"financing": None}) == ["bureau"]
    assert await approvals_after({"legal_arrangement": "MoU annex"}) == ["bureau", "cpm"]
    assert await approvals_after({"legal_arrangement": None}) == ["bureau"]
    url = f"{URL}/{made['id']}/due-diligence"
    assessment = {"undue_influence_assessment": "None found.", "mitigation": "Review yearly."}
    high = await client.put(url, json={**assessment, "risk_level": "high"}, headers=secretariat)
    assert high.status_code == 201, high.text
    read = await client.get(f"{URL}/{made['id']}", headers=secretariat)
    assert read.json()["required_approvals"] == ["bureau", "cpm"]
    assert await approvals_after({"title": "Still high risk"}) == ["bureau", "cpm"]
    low = await client.put(url, json={**assessment, "risk_level": "low"}, headers=secretariat)
    assert low.status_code == 200
    read = await client.get(f"{URL}/{made['id']}", headers=secretariat)
    assert read.json()["required_approvals"] == ["bureau"]


async def test_patch_needs_if_match_and_refuses_a_stale_one(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    missing = await _patch(client, secretariat, made, {"title": "New"}, if_match=None)
    assert missing.status_code == 428
    first = await _patch(client, secretariat, made, {"title": "New"}, if_match=etag_of(made))
    assert first.status_code == 200
    assert first.headers["etag"] == etag_of(first.json())
    stale = await _patch(client, secretariat, made, {"title": "Newer"}, if_match=etag_of(made))
    assert stale.status_code == 412


async def test_merge_patch_sets_clears_and_merges_the_financing(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement(
        purpose="Why",
        financing={"amount": "100", "currency": "USD", "direction": "to_ippc"},
        strategic_objectives=["2020-2030.A"],
    )
    response = await _patch(
        client,
        secretariat,
        made,
        {
            "purpose": None,
            "financing": {"amount": "250.75"},
            "strategic_objectives": ["2020-2030.B"],
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["purpose"] is None
    assert changed["financing"] == {"amount": "250.75", "currency": "USD", "direction": "to_ippc"}
    assert changed["strategic_objectives"] == ["2020-2030.B"]
    assert changed["version"] == 2
    cleared = await _patch(client, secretariat, changed, {"financing": None})
    assert cleared.json()["financing"] is None


async def test_a_partial_financing_on_an_agreement_without_one_is_refused(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    response = await _patch(client, secretariat, made, {"financing": {"amount": "5"}})
    assert pointers(response) == ["/financing/currency", "/financing/direction"]
    member = await _patch(client, secretariat, made, {"financing": {"amount": None}})
    assert pointers(member) == ["/financing/amount"]


@pytest.mark.parametrize("field", ["title", "level", "instrument", "partner_ids", "shares_risks"])
async def test_a_patch_cannot_clear_what_is_never_null(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make, field: str
) -> None:
    made = await agreement()
    assert pointers(await _patch(client, secretariat, made, {field: None})) == [f"/{field}"]


async def test_a_patch_that_changes_nothing_keeps_the_version(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement(financing={"amount": "10.5", "currency": "USD", "direction": "to_ippc"})
    response = await _patch(
        client, secretariat, made, {"title": made["title"], "financing": {"amount": "10.50"}}
    )
    assert response.status_code == 200
    assert response.json()["version"] == 1


async def test_only_drafts_change_or_go(
    app: FastAPI, client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make
) -> None:
    made = await agreement()
    await set_columns(app, Agreement, made["id"], status="submitted", version=2)
    read = (await client.get(f"{URL}/{made['id']}", headers=secretariat)).json()
    changed = await _patch(client, secretariat, read, {"title": "Late"}, if_match=etag_of(read))
    assert changed.status_code == 409
    assert changed.json()["type"] == "/problems/agreement-not-editable"
    assert changed.json()["current_status"] == "submitted"
    deleted = await client.delete(
        f"{URL}/{made['id']}", headers={**secretariat, "If-Match": etag_of(read)}
    )
    assert deleted.status_code == 409
    assert deleted.json()["type"] == "/problems/agreement-not-editable"
    assessed = await client.put(
        f"{URL}/{made['id']}/due-diligence",
        json={"risk_level": "low", "undue_influence_assessment": "None."},
        headers=secretariat,
    )
    assert assessed.status_code == 409


async def test_delete_needs_if_match_and_takes_the_due_diligence_along(
    client: httpx.AsyncClient, secretariat: dict[str, str], agreement: Make, organization: Make
) -> None:
    partner = await organization("Partner")
    made = await agreement(partner_ids=[partner["id"]], strategic_objectives=["2020-2030.A"])
    path = f"{URL}/{made['id']}"
    dd = await client.put(
        f"{path}/due-diligence",
        json={"risk_level": "low", "undue_influence_assessment": "None."},
        headers=secretariat,
    )
    assert dd.status_code == 201
    current = (await client.get(path, headers=secretariat)).json()
    assert (await client.delete(path, headers=secretariat)).status_code == 428
    stale = await client.delete(path, headers={**secretariat, "If-Match": etag_of(made)})
    assert stale.status_code == 412
    deleted = await client.delete(path, headers={**secretariat, "If-Match": etag_of(current)})
    assert deleted.status_code == 204
    assert (await client.get(path, headers=secretariat)).status_code == 404
    assert (await client.get(f"{path}/due-diligence", headers=secretariat)).status_code == 404
    counts = await client.get(f"/v1/organizations/{partner['id']}", headers=secretariat)
    assert counts.json()["reference_counts"]["agreements"] == 0


async def test_a_draft_that_carries_a_decision_is_not_deleted(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    organization: Make,
    agreement: Make,
) -> None:
    """A draft the Bureau returned carries its decision (registered in `REFERENCES` by its
    column): it cannot be deleted, only withdrawn."""
    partner = await organization("Partner")
    made = await agreement(partner_ids=[partner["id"]], strategic_objectives=["2020-2030.A"])
    path = f"{URL}/{made['id']}"
    assessed = await client.put(
        f"{path}/due-diligence",
        json={"risk_level": "low", "undue_influence_assessment": "None"},
        headers=secretariat,
    )
    assert assessed.status_code == 201
    assert (await client.post(f"{path}/submit", headers=secretariat)).status_code == 200
    returned = await client.post(
        f"{path}/decisions",
        json={
            "governing_body": "bureau",
            "outcome": "returned",
            "rationale": "Clarify the scope of work.",
            "meeting_reference": "Bureau, June 2026",
        },
        headers=bureau,
    )
    assert returned.json()["agreement_status"] == "draft"
    response = await client.delete(path, headers={**secretariat, "If-Match": "*"})
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/agreement-referenced"
    assert response.json()["references"] == {"decisions": 1}
    assert (await client.post(f"{path}/withdraw", headers=secretariat)).status_code == 200


async def test_unknown_ids_are_404(client: httpx.AsyncClient, secretariat: dict[str, str]) -> None:
    path = f"{URL}/{uuid.uuid4()}"
    assert (await client.get(path, headers=secretariat)).status_code == 404
    patch = await client.patch(path, json={}, headers={**secretariat, "If-Match": "*"})
    assert patch.status_code == 404
    assert (await client.delete(path, headers={**secretariat, "If-Match": "*"})).status_code == 404
    assert (await client.get(f"{URL}/nope", headers=secretariat)).status_code == 422


async def test_every_change_is_audited(
    client: httpx.AsyncClient, secretariat: dict[str, str], bureau: dict[str, str], agreement: Make
) -> None:
    made = await agreement(financing={"amount": "7.5", "currency": "USD", "direction": "to_ippc"})
    await _patch(client, secretariat, made, {"title": "Renamed", "financing": None})
    await client.delete(f"{URL}/{made['id']}", headers={**secretariat, "If-Match": "*"})
    response = await client.get(
        "/v1/audit-events",
        params={"resource_type": "agreement", "resource_id": made["id"]},
        headers=bureau,
    )
    events = response.json()["items"]
    assert [event["action"] for event in events] == ["create", "update", "delete"]
    assert events[0]["changes"]["title"] == {"before": None, "after": "An agreement"}
    assert events[0]["changes"]["financing_amount"] == {"before": None, "after": "7.50"}
    assert events[1]["changes"]["title"] == {"before": "An agreement", "after": "Renamed"}
    assert events[1]["changes"]["financing_currency"] == {"before": "USD", "after": None}
    assert events[1]["changes"]["required_approvals"] == {
        "before": ["bureau", "cpm"],
        "after": ["bureau"],
    }
    assert "title_key" not in events[0]["changes"]


async def test_the_bureau_and_integrations_read_and_change_nothing(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    integration: dict[str, str],
    agreement: Make,
) -> None:
    made = await agreement()
    for headers in (bureau, integration):
        assert (await client.get(f"{URL}/{made['id']}", headers=headers)).status_code == 200
        assert (await client.get(URL, headers=headers)).status_code == 200
        refused = await _patch(client, headers, made, {"title": "No"})
        assert refused.status_code == 403
        body = {"title": "No", "level": "partnership", "instrument": "informal_arrangement"}
        assert (await client.post(URL, json=body, headers=headers)).status_code == 403
    anonymous = await client.get(f"{URL}/{made['id']}")
    assert anonymous.status_code == 401


async def test_an_organization_shows_and_keeps_its_agreements(
    client: httpx.AsyncClient, secretariat: dict[str, str], organization: Make, agreement: Make
) -> None:
    partner = await organization("Partner")
    await agreement("One", partner_ids=[partner["id"]])
    await agreement("Two", partner_ids=[partner["id"]])
    path = f"/v1/organizations/{partner['id']}"
    read = await client.get(path, headers=secretariat)
    assert read.json()["reference_counts"]["agreements"] == 2
    refused = await client.delete(path, headers={**secretariat, "If-Match": "*"})
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/organization-referenced"
    assert refused.json()["references"] == {"agreements": 2}
