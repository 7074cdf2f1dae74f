"""`ippc clients ...` and `ippc keys rotate`, run in process against the test's database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.cli import main
from app.core.config import AuthMode
from app.core.db import column_of
from app.main import create_app
from app.models.audit import AuditEvent
from app.models.auth import SigningKey
from tests.conftest import make_settings, null_pool_database


def _run(
    capsys: pytest.CaptureFixture[str], url: str, *argv: str, **overrides: object
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv), settings=make_settings(url, **overrides))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def _token_status(url: str, client_id: str, secret: str) -> tuple[int, str | None]:
    app = create_app(make_settings(url), database=null_pool_database(url))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
            if response.status_code != 200:
                return response.status_code, None
            token = response.json()["access_token"]
            me = await http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            return me.status_code, me.json()["role"]
    finally:
        await app.state.database.dispose()


async def _kids(url: str, *, retired_too: bool = False) -> list[str]:
    database = null_pool_database(url)
    try:
        async with database.session(write=False) as session:
            rows = (await session.execute(select(SigningKey))).scalars().all()
            return [row.kid for row in rows if retired_too or row.retired_at is None]
    finally:
        await database.dispose()


def test_create_list_rotate_revoke(
    capsys: pytest.CaptureFixture[str], sync_database_url: str
) -> None:
    url = sync_database_url
    code, out, err = _run(capsys, url, "clients", "create", "--role", "bureau", "--name", "Desk")
    assert code == 0
    assert "client_secret:" in out
    assert "shown this once" in err
    bureau_id = out.split("client_id:")[1].split()[0]
    bureau_secret = out.split("client_secret:")[1].split()[0]
    _, printed, _ = _run(
        capsys, url, "clients", "create", "--role", "integration", "--name", "Reporting", "--json"
    )
    assert set(json.loads(printed)) == {"client_id", "client_secret"}
    assert asyncio.run(_token_status(url, bureau_id, bureau_secret)) == (200, "bureau")

    code, listing, _ = _run(capsys, url, "clients", "list", "--json")
    rows = json.loads(listing)
    assert [(row["name"], row["role"], row["status"]) for row in rows] == [
        ("Desk", "bureau", "active"),
        ("Reporting", "integration", "active"),
    ]
    assert bureau_secret not in listing

    code, rotated, _ = _run(capsys, url, "clients", "rotate-secret", bureau_id, "--json")
    new_secret = json.loads(rotated)["client_secret"]
    assert new_secret != bureau_secret
    assert asyncio.run(_token_status(url, bureau_id, bureau_secret)) == (401, None)
    assert asyncio.run(_token_status(url, bureau_id, new_secret)) == (200, "bureau")

    assert _run(capsys, url, "clients", "revoke", bureau_id)[0] == 0
    assert asyncio.run(_token_status(url, bureau_id, new_secret)) == (401, None)
    code, listing, _ = _run(capsys, url, "clients", "list")
    assert f"{bureau_id}  bureau       revoked" in listing
    code, _, err = _run(capsys, url, "clients", "rotate-secret", bureau_id)
    assert code == 1
    assert "revoked" in err


def test_unknown_clients_are_reported(
    capsys: pytest.CaptureFixture[str], sync_database_url: str
) -> None:
    for action in ("revoke", "rotate-secret"):
        code, _, err = _run(capsys, sync_database_url, "clients", action, "not-a-client")
        assert code == 1
        assert "No client has the id" in err


def test_keys_rotate_makes_the_signing_key(
    capsys: pytest.CaptureFixture[str], sync_database_url: str
) -> None:
    code, first, _ = _run(capsys, sync_database_url, "keys", "rotate")
    assert code == 0
    assert asyncio.run(_kids(sync_database_url)) == [first.strip()]
    code, second, _ = _run(capsys, sync_database_url, "keys", "rotate")
    assert asyncio.run(_kids(sync_database_url)) == [second.strip()]
    assert first != second


def test_keys_rotate_withdraw_previous_leaves_only_the_new_key(
    capsys: pytest.CaptureFixture[str], sync_database_url: str
) -> None:
    url = sync_database_url
    _, first, _ = _run(capsys, url, "keys", "rotate")
    _, second, err = _run(capsys, url, "keys", "rotate")
    assert "stays published" in err
    assert sorted(asyncio.run(_kids(url, retired_too=True))) == sorted(
        [first.strip(), second.strip()]
    )
    code, third, err = _run(capsys, url, "keys", "rotate", "--withdraw-previous")
    assert code == 0
    assert "every previous key is withdrawn" in err
    assert asyncio.run(_kids(url, retired_too=True)) == [third.strip()]


def test_the_commands_migrate_an_empty_database_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    code, out, _ = _run(capsys, url, "clients", "create", "--role", "secretariat", "--name", "S")
    assert code == 0
    assert "client_id:" in out


def test_the_commands_refuse_external_mode(
    capsys: pytest.CaptureFixture[str], sync_database_url: str
) -> None:
    code, _, err = _run(
        capsys,
        sync_database_url,
        "clients",
        "list",
        auth_mode=AuthMode.external,
        jwks_url="https://idp.example/jwks",
    )
    assert code == 1
    assert "IPPC_AUTH_MODE=external" in err


def test_role_choices_are_enforced(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["clients", "create", "--role", "admin", "--name", "x"])


def test_client_changes_are_audited_without_secrets(
    capsys: pytest.CaptureFixture[str], sync_database_url: str
) -> None:
    url = sync_database_url
    create = ("clients", "create", "--role", "integration", "--name", "IRSS", "--json")
    _, out, _ = _run(capsys, url, *create)
    credentials = json.loads(out)
    client_id, secret = credentials["client_id"], credentials["client_secret"]
    _, rotated, _ = _run(capsys, url, "clients", "rotate-secret", client_id, "--json")
    _run(capsys, url, "clients", "revoke", client_id)
    events = asyncio.run(_audit_events(url, client_id))
    assert [event.action for event in events] == ["create", "rotate_secret", "revoke"]
    assert all(event.actor_subject.startswith("operator:") for event in events)
    assert events[0].changes["role"] == {"before": None, "after": "integration"}
    # The secret's digest changed: the trail says so, without the digest.
    assert events[0].changes["secret_hash"] == {"before": None, "after": "[redacted]"}
    assert events[1].changes == {"secret_hash": {"before": "[redacted]", "after": "[redacted]"}}
    assert events[2].changes["revoked"] == {"before": False, "after": True}
    assert events[2].changes["revoked_at"]["before"] is None
    recorded = json.dumps([event.changes for event in events])
    assert secret not in recorded
    assert json.loads(rotated)["client_secret"] not in recorded
    assert "sha256$" not in recorded


async def _audit_events(url: str, client_id: str) -> list[AuditEvent]:
    database = null_pool_database(url)
    try:
        async with database.session(write=False) as session:
            statement = (
                select(AuditEvent)
                .where(column_of(AuditEvent.resource_id) == client_id)
                .order_by(column_of(AuditEvent.id))
            )
            return list((await session.execute(statement)).scalars().all())
    finally:
        await database.dispose()
