"""`GET /v1/audit-events` and `/{id}`: access, filters, paging, and resuming the change feed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth.scopes import Principal, Role, Scope
from app.core.db import Database
from app.models.audit import AuditEvent
from tests.audit.conftest import INTEGRATION, SECRETARIAT, record_committed
from tests.auth.forge import bearer, embedded_key, sign, valid_claims

HeadersFor = Callable[[str], dict[str, str]]
ORG_1 = "8d0d7c9e-6f5e-4a4c-9d1e-000000000001"
ORG_2 = "8d0d7c9e-6f5e-4a4c-9d1e-000000000002"
AGREEMENT = "5b1f3a2e-0000-4000-8000-00000000000a"
BUREAU = Principal(
    subject="bureau-member-3",
    client_id="bureau-member-3",
    role=Role.bureau,
    scopes=frozenset({Scope.registry_read, Scope.decisions_write, Scope.audit_read}),
)


@pytest.fixture
def app_database(app: FastAPI) -> Database:
    database: Database = app.state.database
    return database


@pytest.fixture
async def trail(app_database: Database) -> list[AuditEvent]:
    """Five events: two organizations, an agreement, three actors."""
    return [
        await record_committed(
            app_database,
            SECRETARIAT,
            action="create",
            resource_id=ORG_1,
            changes={"name": {"before": None, "after": "FAO"}},
        ),
        await record_committed(app_database, INTEGRATION, action="update", resource_id=ORG_1),
        await record_committed(app_database, SECRETARIAT, action="create", resource_id=ORG_2),
        await record_committed(
            app_database,
            BUREAU,
            action="approve",
            resource_type="agreement",
            resource_id=AGREEMENT,
        ),
        await record_committed(app_database, SECRETARIAT, action="delete", resource_id=ORG_2),
    ]


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[int]:
    """The ids of the events listed, leaving out the registrations of the test's own OAuth
    clients (made by the token fixture, and audited like any change)."""
    response = await client.get("/v1/audit-events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return [item["id"] for item in items if item["resource_type"] != "oauth_client"]


# --- Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/audit-events", "/v1/audit-events/1"])
async def test_no_token_is_401(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/audit-events", "/v1/audit-events/1"])
async def test_a_token_without_audit_read_is_403(
    app: FastAPI, client: httpx.AsyncClient, trail: list[AuditEvent], path: str
) -> None:
    kid, key = await embedded_key(app)
    token = sign(valid_claims(app.state.settings, scope="registry:read"), key, kid=kid)
    response = await client.get(path, headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"
    assert 'scope="audit:read"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("role", ["secretariat", "bureau", "integration"])
async def test_every_role_reads_the_trail(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent], role: str
) -> None:
    assert await _ids(client, auth_headers(role)) == [event.id for event in trail]


# --- What an event says ---------------------------------------------------------------------------


async def test_an_event_shows_its_actor_and_changes(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    response = await client.get(f"/v1/audit-events/{trail[0].id}", headers=auth_headers("bureau"))
    assert response.status_code == 200
    body = response.json()
    occurred_at = body.pop("occurred_at")
    assert occurred_at.endswith(("Z", "+00:00"))
    assert body == {
        "id": trail[0].id,
        "actor": {"subject": "alice@secretariat.example", "client_id": "secretariat-front-end"},
        "action": "create",
        "resource_type": "organization",
        "resource_id": ORG_1,
        "changes": {"name": {"before": None, "after": "FAO"}},
        "note": None,
    }


async def test_the_client_id_is_null_where_it_is_the_subject(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    response = await client.get(f"/v1/audit-events/{trail[1].id}", headers=auth_headers("bureau"))
    assert response.json()["actor"] == {"subject": INTEGRATION.subject, "client_id": None}


async def test_an_event_has_a_fixed_etag(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    path = f"/v1/audit-events/{trail[0].id}"
    first = await client.get(path, headers=auth_headers("bureau"))
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    again = await client.get(path, headers={**auth_headers("bureau"), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = await client.get(
        f"/v1/audit-events/{trail[1].id}", headers={**auth_headers("bureau"), "If-None-Match": etag}
    )
    assert other.status_code == 200


async def test_an_unknown_event_is_404(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    response = await client.get("/v1/audit-events/999999", headers=auth_headers("bureau"))
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


@pytest.mark.parametrize("event_id", ["0", "2147483648", "abc"])
async def test_an_id_out_of_range_is_422(
    client: httpx.AsyncClient, auth_headers: HeadersFor, event_id: str
) -> None:
    response = await client.get(f"/v1/audit-events/{event_id}", headers=auth_headers("bureau"))
    assert response.status_code == 422


# --- Filters --------------------------------------------------------------------------------------


async def test_filter_by_resource_type_repeated(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    headers = auth_headers("bureau")
    everything = [event.id for event in trail]
    assert await _ids(client, headers, resource_type="agreement") == [trail[3].id]
    assert await _ids(client, headers, resource_type=["agreement", "organization"]) == everything
    assert await _ids(client, headers, resource_type="interaction") == []


async def test_filter_by_resource_id(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    headers = auth_headers("bureau")
    assert await _ids(client, headers, resource_id=ORG_2) == [trail[2].id, trail[4].id]
    history = await _ids(client, headers, resource_type="organization", resource_id=ORG_1)
    assert history == [trail[0].id, trail[1].id]


async def test_filter_by_actor(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    headers = auth_headers("bureau")
    by_alice = await _ids(client, headers, actor="alice@secretariat.example")
    assert by_alice == [trail[0].id, trail[2].id, trail[4].id]
    assert await _ids(client, headers, actor=BUREAU.subject) == [trail[3].id]
    assert (
        await _ids(client, headers, actor="secretariat-front-end") == []
    )  # a client, not a subject


async def test_filter_by_time_range_inclusive(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    headers = auth_headers("bureau")
    first, middle, last = trail[0].occurred_at, trail[2].occurred_at, trail[4].occurred_at
    assert first < middle < last
    exactly = await _ids(
        client, headers, occurred_at_from=middle.isoformat(), occurred_at_to=middle.isoformat()
    )
    assert exactly == [trail[2].id]
    assert await _ids(client, headers, occurred_at_from=middle.isoformat()) == [
        event.id for event in trail[2:]
    ]
    assert await _ids(client, headers, occurred_at_to=middle.isoformat()) == [
        event.id for event in trail[:3]
    ]
    # The same instant written in another zone.
    shifted = middle.astimezone(timezone(timedelta(hours=-5)))
    assert await _ids(
        client, headers, occurred_at_from=shifted.isoformat(), occurred_at_to=shifted.isoformat()
    ) == [trail[2].id]


async def test_time_ranges_at_the_ends_of_the_calendar(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    """Times that fall beyond year 1 or 9999 once in UTC are clamped, not errors."""
    headers = auth_headers("bureau")
    everything = [event.id for event in trail]
    latest, earliest = "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"
    assert await _ids(client, headers, occurred_at_to=latest) == everything
    assert await _ids(client, headers, occurred_at_from=latest) == []
    assert await _ids(client, headers, occurred_at_from=earliest) == everything
    assert await _ids(client, headers, occurred_at_to=earliest) == []


async def test_a_range_that_ends_before_it_starts_is_empty(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    start, end = trail[3].occurred_at.isoformat(), trail[1].occurred_at.isoformat()
    headers = auth_headers("bureau")
    assert await _ids(client, headers, occurred_at_from=start, occurred_at_to=end) == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"occurred_at_from": "2026-12-01T10:00:00"}, "occurred_at_from"),  # no zone
        ({"occurred_at_from": "2026-12-01"}, "occurred_at_from"),  # a date alone
        ({"occurred_at_to": "0.5"}, "occurred_at_to"),  # a Unix time
        ({"after_id": "-1"}, "after_id"),
        ({"after_id": "2147483648"}, "after_id"),
        ({"resource_type": "x" * 65}, "resource_type"),
        ({"resource_id": "a\x00b"}, "resource_id"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyIiLDEwMDAwMDAwMDAwMF0"}, "cursor"),  # ["", 100000000000]: beyond any id
        ({"cursor": "WyIiLHRydWVd"}, "cursor"),  # ["", true]
    ],
)
async def test_invalid_parameters_are_422(
    client: httpx.AsyncClient,
    auth_headers: HeadersFor,
    params: dict[str, str],
    parameter: str,
) -> None:
    response = await client.get("/v1/audit-events", params=params, headers=auth_headers("bureau"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error.get("parameter") for error in response.json()["errors"]] == [parameter]


# --- Paging and following the feed ----------------------------------------------------------------


async def test_pages_follow_the_cursor_in_id_order(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    headers = auth_headers("integration")
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2, "resource_type": "organization"}
    pages = 0
    while True:
        response = await client.get("/v1/audit-events", params=params, headers=headers)
        assert response.status_code == 200
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            assert "link" not in response.headers
            break
        link = response.headers["link"]
        assert link.endswith('>; rel="next"')
        assert "resource_type=organization" in link
        params["cursor"] = page["next_cursor"]
    assert pages == 2
    assert seen == [event.id for event in trail if event.resource_type == "organization"]


async def test_a_follower_resumes_after_the_last_event_it_processed(
    client: httpx.AsyncClient,
    auth_headers: HeadersFor,
    app_database: Database,
    trail: list[AuditEvent],
) -> None:
    headers = auth_headers("integration")
    caught_up = await client.get("/v1/audit-events", params={"limit": 200}, headers=headers)
    assert caught_up.json()["next_cursor"] is None  # the last page: no cursor to keep
    last_processed = caught_up.json()["items"][-1]["id"]

    assert await _ids(client, headers, after_id=last_processed) == []  # nothing new yet
    newer = [
        await record_committed(app_database, resource_id=ORG_1, action="archive"),
        await record_committed(app_database, resource_id=ORG_1, action="unarchive"),
    ]
    assert await _ids(client, headers, after_id=last_processed) == [event.id for event in newer]
    assert await _ids(client, headers, after_id=0) == [event.id for event in [*trail, *newer]]


async def test_after_id_and_cursor_page_together(
    client: httpx.AsyncClient, auth_headers: HeadersFor, trail: list[AuditEvent]
) -> None:
    headers = auth_headers("integration")
    params: dict[str, Any] = {"after_id": trail[0].id, "limit": 3}
    first = (await client.get("/v1/audit-events", params=params, headers=headers)).json()
    assert [item["id"] for item in first["items"]] == [event.id for event in trail[1:4]]
    params["cursor"] = first["next_cursor"]
    second = (await client.get("/v1/audit-events", params=params, headers=headers)).json()
    assert [item["id"] for item in second["items"]] == [trail[4].id]
    assert second["next_cursor"] is None
