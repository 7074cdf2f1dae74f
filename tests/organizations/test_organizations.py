"""Organizations: create, read, merge-patch, archive, delete, and their rules (design §2)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import PUBLIC_BASE_URL
from tests.organizations.conftest import Create, etag_of

URL = "/v1/organizations"


async def test_create_answers_201_with_location_and_etag(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    body = {
        "name": "Comité Régional de Protection des Végétaux",
        "acronym": "CPV",
        "category": "rppo",
        "sector": "public",
        "geographic_scope": "regional",
        "website": "https://www.example.org",
        "description": "Regional plant protection organization.",
    }
    response = await client.post(URL, json=body, headers=secretariat)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {key: created[key] for key in body} == body
    assert created["archived"] is False
    assert created["version"] == 1
    assert created["country"] is None
    assert response.headers["location"] == f"{PUBLIC_BASE_URL}{URL}/{created['id']}"
    assert response.headers["etag"] == etag_of(created)
    assert created["reference_counts"]["branches"] == 0
    assert not any(created["reference_counts"].values())
    assert created["created_at"].endswith("Z") or created["created_at"].endswith("+00:00")


async def test_only_the_secretariat_registers(
    client: httpx.AsyncClient, bureau: dict[str, str]
) -> None:
    response = await client.post(URL, json={"name": "X"}, headers=bureau)
    assert response.status_code == 403


async def test_name_is_required_and_unknown_fields_refused(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    response = await client.post(URL, json={"acronym": "X", "colour": "red"}, headers=secretariat)
    assert response.status_code == 422
    pointers = {error["pointer"] for error in response.json()["errors"]}
    assert pointers == {"/name", "/colour"}
    blank = await client.post(URL, json={"name": "   "}, headers=secretariat)
    assert blank.status_code == 422


async def test_national_needs_a_country(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    response = await client.post(
        URL, json={"name": "NPPO", "geographic_scope": "national"}, headers=secretariat
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"detail": "Required when geographic_scope is national", "pointer": "/country"}
    ]


async def test_country_must_be_iso_3166(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    for country in ("XX", "ke", "KEN"):
        response = await client.post(
            URL, json={"name": "NPPO", "country": country}, headers=secretariat
        )
        assert response.status_code == 422, country
        assert response.json()["errors"][0]["pointer"] == "/country"


async def test_website_must_be_http(client: httpx.AsyncClient, secretariat: dict[str, str]) -> None:
    response = await client.post(
        URL, json={"name": "N", "website": "javascript:alert(1)"}, headers=secretariat
    )
    assert response.status_code == 422


async def test_duplicates_are_refused_naming_the_existing_one(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    first = await create("Servicio Nacional de Sanidad Agraria", country="PE")
    response = await client.post(
        URL,
        json={"name": "  servicio nacional de  SANIDAD agrária", "country": "PE"},
        headers=secretariat,
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/duplicate-organization"
    assert problem["existing_id"] == first["id"]
    # The same name elsewhere is another organization.
    await create("Servicio Nacional de Sanidad Agraria", country="BO")


async def test_duplicates_without_a_country(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    first = await create("Global Plant Health Alliance")
    response = await client.post(
        URL, json={"name": "GLOBAL PLANT HEALTH ALLIANCE"}, headers=secretariat
    )
    assert response.status_code == 409
    assert response.json()["existing_id"] == first["id"]


async def test_read_shows_reference_counts_and_etag(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    headquarters = await create("Headquarters")
    await create("Branch", parent_id=headquarters["id"])
    response = await client.get(f"{URL}/{headquarters['id']}", headers=secretariat)
    assert response.status_code == 200
    assert response.json()["reference_counts"]["branches"] == 1
    etag = response.headers["etag"]
    again = await client.get(
        f"{URL}/{headquarters['id']}", headers={**secretariat, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.headers["etag"] == etag


async def test_unknown_id_is_404(client: httpx.AsyncClient, secretariat: dict[str, str]) -> None:
    response = await client.get(f"{URL}/{uuid.uuid4()}", headers=secretariat)
    assert response.status_code == 404
    malformed = await client.get(f"{URL}/not-a-uuid", headers=secretariat)
    assert malformed.status_code == 422


async def _patch(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    organization: dict[str, Any],
    body: dict[str, Any],
    if_match: str | None = None,
) -> httpx.Response:
    extra = {"Content-Type": "application/merge-patch+json"}
    if if_match is not None:
        extra["If-Match"] = if_match
    return await client.patch(
        f"{URL}/{organization['id']}", json=body, headers={**headers, **extra}
    )


_etag = etag_of


async def test_patch_needs_if_match(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Org")
    response = await _patch(client, secretariat, organization, {"acronym": "O"})
    assert response.status_code == 428
    assert response.json()["type"] == "/problems/precondition-required"


async def test_patch_with_stale_if_match_is_412(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Org")
    first = await _patch(client, secretariat, organization, {"acronym": "O"}, _etag(organization))
    assert first.status_code == 200
    stale = await _patch(client, secretariat, organization, {"acronym": "P"}, _etag(organization))
    assert stale.status_code == 412
    weak = await _patch(
        client, secretariat, organization, {"acronym": "P"}, "W/" + first.headers["etag"]
    )
    assert weak.status_code == 412


async def test_merge_patch_sets_and_clears(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Org", acronym="ORG", description="text", country="KE")
    response = await _patch(
        client,
        secretariat,
        organization,
        {"acronym": None, "description": "new", "sector": "private"},
        _etag(organization),
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["acronym"] is None
    assert changed["description"] == "new"
    assert changed["sector"] == "private"
    assert changed["country"] == "KE"
    assert changed["version"] == 2
    assert response.headers["etag"] == _etag(changed)
    assert changed["updated_at"] > organization["updated_at"]


async def test_patch_star_matches_any_version(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Org")
    response = await _patch(client, secretariat, organization, {"acronym": "X"}, "*")
    assert response.status_code == 200


async def test_patch_cannot_clear_the_name(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Org")
    response = await _patch(client, secretariat, organization, {"name": None}, "*")
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/name"


async def test_patch_keeps_the_national_rule(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("NPPO", geographic_scope="national", country="KE")
    response = await _patch(client, secretariat, organization, {"country": None}, "*")
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/country"


async def test_patch_that_changes_nothing_keeps_the_version(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Org", acronym="O")
    response = await _patch(client, secretariat, organization, {"acronym": "O"}, "*")
    assert response.status_code == 200
    assert response.json()["version"] == 1


async def test_patch_into_a_duplicate_is_409(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    first = await create("Alpha")
    second = await create("Beta")
    response = await _patch(client, secretariat, second, {"name": "ALPHA"}, "*")
    assert response.status_code == 409
    assert response.json()["existing_id"] == first["id"]


async def test_archive_hides_from_lists_and_takes_no_new_links(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Old body")
    archived = await _patch(client, secretariat, organization, {"archived": True}, "*")
    assert archived.json()["archived"] is True

    def names(response: httpx.Response) -> list[str]:
        return [item["name"] for item in response.json()["items"]]

    assert names(await client.get(URL, headers=secretariat)) == []
    assert names(await client.get(URL, params={"archived": "true"}, headers=secretariat)) == [
        "Old body"
    ]
    assert names(await client.get(URL, params={"archived": "all"}, headers=secretariat)) == [
        "Old body"
    ]
    branch = await client.post(
        URL, json={"name": "Branch", "parent_id": organization["id"]}, headers=secretariat
    )
    assert branch.status_code == 409
    assert branch.json()["type"] == "/problems/organization-archived"
    restored = await _patch(client, secretariat, organization, {"archived": False}, "*")
    assert restored.json()["archived"] is False
    assert names(await client.get(URL, headers=secretariat)) == ["Old body"]


async def test_headquarters_must_exist_and_not_make_cycles(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    missing = await client.post(
        URL, json={"name": "B", "parent_id": str(uuid.uuid4())}, headers=secretariat
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["pointer"] == "/parent_id"
    top = await create("Top")
    middle = await create("Middle", parent_id=top["id"])
    cycle = await _patch(client, secretariat, top, {"parent_id": middle["id"]}, "*")
    assert cycle.status_code == 422
    itself = await _patch(client, secretariat, top, {"parent_id": top["id"]}, "*")
    assert itself.status_code == 422


async def test_delete_needs_if_match_and_removes(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    organization = await create("Gone")
    path = f"{URL}/{organization['id']}"
    assert (await client.delete(path, headers=secretariat)).status_code == 428
    stale = await client.delete(path, headers={**secretariat, "If-Match": '"0-0"'})
    assert stale.status_code == 412
    deleted = await client.delete(path, headers={**secretariat, "If-Match": _etag(organization)})
    assert deleted.status_code == 204
    assert (await client.get(path, headers=secretariat)).status_code == 404


async def test_a_referenced_organization_cannot_be_deleted(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    headquarters = await create("HQ")
    await create("Branch office", parent_id=headquarters["id"])
    response = await client.delete(
        f"{URL}/{headquarters['id']}", headers={**secretariat, "If-Match": "*"}
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/organization-referenced"
    assert problem["references"] == {"branches": 1}


async def test_every_change_is_audited(
    client: httpx.AsyncClient, secretariat: dict[str, str], bureau: dict[str, str], create: Create
) -> None:
    organization = await create("Audited", acronym="A")
    await _patch(client, secretariat, organization, {"acronym": "B"}, "*")
    await client.delete(f"{URL}/{organization['id']}", headers={**secretariat, "If-Match": "*"})
    response = await client.get(
        "/v1/audit-events",
        params={"resource_type": "organization", "resource_id": organization["id"]},
        headers=bureau,
    )
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    assert [event["action"] for event in events] == ["create", "update", "delete"]
    assert events[0]["changes"]["name"] == {"before": None, "after": "Audited"}
    assert events[1]["changes"] == {"acronym": {"before": "A", "after": "B"}}
    assert events[2]["changes"]["name"] == {"before": "Audited", "after": None}
    assert all(event["actor"]["subject"] for event in events)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("\ufb01" * 151, "\ufb01" * 151),  # the ligature: 151 characters, 302 once normalized
        ("\u00df" * 300, "\u1e9e" * 300),  # sharp s, small and capital: case folding doubles it
        ("\ufdfa" * 300, "\ufdfa" * 300),  # one character that decomposes into eighteen
    ],
)
async def test_names_that_grow_when_normalized_are_stored_and_compared(
    client: httpx.AsyncClient, secretariat: dict[str, str], first: str, second: str
) -> None:
    created = await client.post(URL, json={"name": first}, headers=secretariat)
    assert created.status_code == 201, created.text
    again = await client.post(URL, json={"name": second}, headers=secretariat)
    assert again.status_code == 409, again.text
    assert again.json()["existing_id"] == created.json()["id"]


async def test_the_acronym_of_the_longest_name_is_found(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    await create("\u00c9" * 300, acronym="ZZTOPACRONYM")
    found = await client.get(URL, params={"q": "zztopacronym"}, headers=secretariat)
    assert [item["acronym"] for item in found.json()["items"]] == ["ZZTOPACRONYM"]


async def test_the_etag_follows_what_refers_to_the_organization(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create
) -> None:
    headquarters = await create("Headquarters")
    before = await client.get(f"{URL}/{headquarters['id']}", headers=secretariat)
    await create("Branch", parent_id=headquarters["id"])
    after = await client.get(
        f"{URL}/{headquarters['id']}",
        headers={**secretariat, "If-None-Match": before.headers["etag"]},
    )
    assert after.status_code == 200  # not 304: the body shows one branch more
    assert after.json()["reference_counts"]["branches"] == 1
    assert after.json()["version"] == before.json()["version"]
    assert after.headers["etag"] != before.headers["etag"]
    stale = await _patch(
        client, secretariat, headquarters, {"acronym": "HQ"}, before.headers["etag"]
    )
    assert stale.status_code == 412
    current = await _patch(
        client, secretariat, headquarters, {"acronym": "HQ"}, after.headers["etag"]
    )
    assert current.status_code == 200
    assert current.json()["reference_counts"]["branches"] == 1


@pytest.mark.parametrize("field", ["name", "archived"])
async def test_a_patch_cannot_clear_what_is_required(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create, field: str
) -> None:
    organization = await create("Org")
    response = await _patch(client, secretariat, organization, {field: None}, _etag(organization))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == f"/{field}"


@pytest.mark.parametrize("hidden", ["\u200b", "\u00ad", "\u2060", "\ufeff", "\u034f"])
async def test_an_invisible_character_does_not_make_a_new_organization(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create, hidden: str
) -> None:
    """What looks the same is the same: a name with a zero-width space, a soft hyphen or a
    joiner inside is the name without it."""
    existing = await create("Straße Pflanzenschutz")
    again = await client.post(
        URL, json={"name": f"Stra{hidden}ße Pflanzen{hidden}schutz"}, headers=secretariat
    )
    assert again.status_code == 409, again.text
    assert again.json()["existing_id"] == existing["id"]
    found = await client.get(URL, params={"q": f"pflanzen{hidden}schutz"}, headers=secretariat)
    assert [item["id"] for item in found.json()["items"]] == [existing["id"]]


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "1"])
async def test_archived_is_a_json_boolean(
    client: httpx.AsyncClient, secretariat: dict[str, str], create: Create, value: object
) -> None:
    organization = await create("Org")
    response = await _patch(client, secretariat, organization, {"archived": value}, "*")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/archived"


async def test_thousands_of_unknown_fields_are_one_error(
    client: httpx.AsyncClient, secretariat: dict[str, str]
) -> None:
    body = {"name": "Org", **{f"f{index}": 0 for index in range(90_000)}}  # under 1 MB
    response = await client.post(URL, json=body, headers=secretariat)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["pointer"] == ""
    assert error["detail"].startswith("90000 unknown fields")
    assert "f1" not in response.text  # nothing echoed
    few = await client.post(URL, json={"name": "Org", "colour": "red"}, headers=secretariat)
    assert few.json()["errors"] == [
        {"detail": "Extra inputs are not permitted", "pointer": "/colour"}
    ]
