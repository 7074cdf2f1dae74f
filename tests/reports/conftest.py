"""A small registry built through the API whose reports are known by hand.

Organizations: `nppo` (nppo, public), `ngo` (ngo, private), `firm` (private_company, private),
`bare` (no category, no sector).

Interactions (date, channel, organizations, objectives, visibility):
- `i2023`: 2023-12-31, correspondence, nppo, [C], public
- `i2024a`: 2024-03-01, meeting, nppo + ngo, [A], public
- `i2024b`: 2024-07-10, call, firm, [A, B], internal
- `i2025`: 2025-01-15, meeting, bare, [], internal

Agreements (status: the date that dates it):
- `bureau_only`: active (an informal partnership, the Bureau's approval is enough): 2024-05-01;
  partners nppo + ngo, objective A
- `with_cpm`: approved (a memorandum: the CPM's approval): 2024-11-20 (the Bureau's, before:
  2024-02-01); partner firm, objective B
- `in_review`: cpm_review: the Bureau's approval, 2023-06-01; partner firm, objective C
- `rejected`: the Bureau's rejection, 2024-08-08; partner ngo, objective A
- `draft`: created today; partner bare, no objective
- `submitted`, `withdrawn`: today; partner nppo, objective A
(The objectives are of the 2020-2030 framework.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.decisions.conftest import ASSESSMENT
from tests.registry import (
    Make,
    agreement,
    bureau,
    integration,
    interaction,
    organization,
    secretariat,
)

__all__ = ["agreement", "bureau", "integration", "interaction", "organization", "secretariat"]

A, B, C = "2020-2030.A", "2020-2030.B", "2020-2030.C"
TODAY = datetime.now(UTC).date()

Decide = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def decide(client: httpx.AsyncClient, bureau: dict[str, str]) -> Decide:
    """Record a decision on an agreement and return it."""

    async def make(
        agreement_id: str, body: str, outcome: str, decided_on: str, **fields: Any
    ) -> dict[str, Any]:
        decision = {
            "governing_body": body,
            "outcome": outcome,
            "rationale": "Weighed.",
            "meeting_reference": f"{body} {decided_on}",
            "decided_on": decided_on,
            **fields,
        }
        response = await client.post(
            f"/v1/agreements/{agreement_id}/decisions", json=decision, headers=bureau
        )
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made

    return make


@pytest.fixture
def transition(client: httpx.AsyncClient, secretariat: dict[str, str]) -> Callable[..., Any]:
    async def move(agreement_id: str, action: str, body: dict[str, Any] | None = None) -> None:
        response = await client.post(
            f"/v1/agreements/{agreement_id}/{action}", json=body or {}, headers=secretariat
        )
        assert response.status_code == 200, response.text

    return move


@pytest.fixture
def submitted_draft(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    agreement: Make,
    transition: Callable[..., Any],
) -> Make:
    """An agreement with its partners and objectives, assessed and submitted."""

    async def make(title: str, **fields: Any) -> dict[str, Any]:
        made = await agreement(title, **fields)
        put = await client.put(
            f"/v1/agreements/{made['id']}/due-diligence", json=ASSESSMENT, headers=secretariat
        )
        assert put.status_code == 201, put.text
        await transition(made["id"], "submit")
        return made

    return make


@pytest.fixture
async def dataset(
    organization: Make,
    interaction: Make,
    agreement: Make,
    submitted_draft: Make,
    decide: Decide,
    transition: Callable[..., Any],
) -> dict[str, Any]:
    made: dict[str, Any] = {}
    nppo = await organization("Plant Protection Service", category="nppo", sector="public")
    ngo = await organization("Friends of Plants", category="ngo", sector="private")
    firm = await organization("Seeds Ltd", category="private_company", sector="private")
    bare = await organization("Somebody")
    made.update(nppo=nppo, ngo=ngo, firm=firm, bare=bare)

    async def met(
        name: str, on: str, channel: str, orgs: list[Any], objectives: list[str], **f: Any
    ) -> None:
        made[name] = await interaction(
            name,
            [org["id"] for org in orgs],
            occurred_on=on,
            channel=channel,
            strategic_objectives=objectives,
            **f,
        )

    await met("i2023", "2023-12-31", "correspondence", [nppo], [C], visibility="public")
    await met("i2024a", "2024-03-01", "meeting", [nppo, ngo], [A], visibility="public")
    await met("i2024b", "2024-07-10", "call", [firm], [A, B])
    await met("i2025", "2025-01-15", "meeting", [bare], [])

    def partners(*orgs: dict[str, Any]) -> list[str]:
        return [org["id"] for org in orgs]

    bureau_only = await submitted_draft(
        "Bureau only", partner_ids=partners(nppo, ngo), strategic_objectives=[A]
    )
    await decide(bureau_only["id"], "bureau", "approved", "2024-05-01")
    await transition(bureau_only["id"], "activate", {"signed_on": "2024-06-01"})

    memorandum = {"instrument": "memorandum_of_understanding"}
    with_cpm = await submitted_draft(
        "With CPM", partner_ids=partners(firm), strategic_objectives=[B], **memorandum
    )
    await decide(with_cpm["id"], "bureau", "approved", "2024-02-01")
    made["cpm_approval"] = await decide(with_cpm["id"], "cpm", "approved", "2024-11-20")

    in_review = await submitted_draft(
        "In review", partner_ids=partners(firm), strategic_objectives=[C], **memorandum
    )
    await decide(in_review["id"], "bureau", "approved", "2023-06-01")

    rejected = await submitted_draft(
        "Rejected", partner_ids=partners(ngo), strategic_objectives=[A]
    )
    await decide(rejected["id"], "bureau", "rejected", "2024-08-08")

    draft = await agreement("Draft", partner_ids=partners(bare))
    submitted = await submitted_draft(
        "Submitted", partner_ids=partners(nppo), strategic_objectives=[A]
    )
    withdrawn = await submitted_draft(
        "Withdrawn", partner_ids=partners(nppo), strategic_objectives=[A]
    )
    await transition(withdrawn["id"], "withdraw")
    made.update(
        bureau_only=bureau_only,
        with_cpm=with_cpm,
        in_review=in_review,
        rejected=rejected,
        draft=draft,
        submitted=submitted,
        withdrawn=withdrawn,
    )
    return made
