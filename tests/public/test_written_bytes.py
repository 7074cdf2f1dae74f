"""The public answers carry the lists the database wrote (partners, organizations, decisions:
`core/sql.py`) as they are, without reading them: each answer must be, byte for byte, what its
response model writes, whatever the text holds."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from app.core.pagination import Page
from app.public.schemas import PublicAgreement, PublicInteraction, PublicOrganization
from tests.public.conftest import decide
from tests.registry import Make

# Text that JSON writers escape or pass differently: quotes, a backslash, a slash, guillemets,
# accents, CJK, an emoji (outside the BMP), and a line separator.
NAME = 'Réseau «phyto» "sanitaire" \\ a/b 植物保护 🌱 end\u2028'
REFERENCE = 'Bureau "2025", item 4 \\ «b» 🌱'


def _as_written(model: type[BaseModel], content: bytes) -> bytes:
    return model.model_validate_json(content).model_dump_json().encode()


async def test_public_answers_are_the_models_bytes(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    organization: Make,
    interaction: Make,
    submitted: Make,
) -> None:
    first = await organization(NAME, acronym='R"P\\', category="ngo")
    second = await organization(
        "Santé des végétaux", country="KE", geographic_scope="national", category="nppo"
    )
    plain = await submitted(
        f"Seed {NAME}", partner_ids=[second["id"], first["id"]], public_summary=NAME
    )
    decided = await decide(client, bureau, plain["id"], meeting_reference=REFERENCE)
    assert decided.json()["agreement_status"] == "approved", decided.text
    # A corrected decision: its list is read and written again (`workflow.in_force`).
    corrected = await submitted("Corrected «again»", partner_ids=[first["id"]])
    returned = await decide(client, bureau, corrected["id"], outcome="returned")
    assert returned.status_code == 201, returned.text
    again = await client.post(f"/v1/agreements/{corrected['id']}/submit", headers=secretariat)
    assert again.status_code == 200, again.text
    approval = await decide(client, bureau, corrected["id"], meeting_reference=REFERENCE)
    assert approval.status_code == 201, approval.text
    fixed = await decide(
        client,
        bureau,
        corrected["id"],
        outcome="returned",
        supersedes_id=returned.json()["id"],
        meeting_reference=NAME,
    )
    assert fixed.status_code == 201, fixed.text
    met = await interaction(
        f"Met {NAME}", organization_ids=[first["id"], second["id"]], visibility="public"
    )

    answers: list[tuple[str, type[BaseModel]]] = [
        ("/v1/public/agreements", Page[PublicAgreement]),
        ("/v1/public/agreements?sort=-approved_on&limit=1", Page[PublicAgreement]),
        (f"/v1/public/agreements/{plain['id']}", PublicAgreement),
        (f"/v1/public/agreements/{corrected['id']}", PublicAgreement),
        ("/v1/public/interactions", Page[PublicInteraction]),
        (f"/v1/public/interactions/{met['id']}", PublicInteraction),
        (f"/v1/public/organizations/{first['id']}", PublicOrganization),
    ]
    for path, model in answers:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.content == _as_written(model, response.content), path

    page: dict[str, Any] = (await client.get("/v1/public/agreements?sort=title")).json()
    shown = {item["id"]: item for item in page["items"]}
    assert [partner["name"] for partner in shown[plain["id"]]["partners"]] == [
        "Santé des végétaux",
        NAME,
    ]
    assert shown[plain["id"]]["partners"][1]["acronym"] == 'R"P\\'
    assert [item["meeting_reference"] for item in shown[plain["id"]]["decisions"]] == [REFERENCE]
    assert [item["meeting_reference"] for item in shown[corrected["id"]]["decisions"]] == [
        NAME,
        REFERENCE,
    ]
    shown_met = (await client.get(f"/v1/public/interactions/{met['id']}")).json()
    assert [item["name"] for item in shown_met["organizations"]] == [NAME, "Santé des végétaux"]
