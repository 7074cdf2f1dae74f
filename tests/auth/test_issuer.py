"""The embedded issuer: the token endpoint (RFC 6749 §4.4, errors per §5.2), RFC 9068 tokens,
signing keys in the database, the JWKS and the RFC 8414 metadata."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import keys
from app.auth.keys import SigningKeyUnavailable, rotate_signing_key
from app.core.config import AuthMode
from app.core.db import Database
from app.core.errors import Conflict
from app.main import create_app
from app.models.auth import OAuthClient, SigningKey
from tests.auth.forge import bearer, unverified
from tests.conftest import TEST_OPERATOR, fetch_token, make_settings, register_client

TOKEN = "/oauth/token"
GRANT = {"grant_type": "client_credentials"}


async def _signing_keys(app: FastAPI) -> list[SigningKey]:
    database: Database = app.state.database
    async with database.session(write=False) as session:
        return list((await session.execute(select(SigningKey))).scalars().all())


async def test_client_secret_basic_gets_an_rfc9068_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await register_client(app, "bureau")
    before = int(time.time())
    response = await client.post(TOKEN, data=GRANT, auth=(client_id, secret))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == app.state.settings.access_token_ttl_seconds
    assert body["scope"] == "audit:read decisions:write registry:read"

    header, claims = unverified(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"] == (await _signing_keys(app))[0].kid
    settings = app.state.settings
    assert claims["iss"] == settings.issuer
    assert claims["aud"] == settings.audience
    assert claims["sub"] == client_id
    assert claims["client_id"] == client_id
    assert claims["role"] == "bureau"
    assert claims["scope"] == "audit:read decisions:write registry:read"
    assert before <= claims["iat"] == claims["nbf"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
    assert len(claims["jti"]) >= 16


async def test_client_secret_post_gets_a_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await register_client(app, "integration")
    response = await client.post(
        TOKEN, data={**GRANT, "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 200
    me = await client.get("/v1/me", headers=bearer(response.json()["access_token"]))
    assert me.status_code == 200
    assert me.json() == {
        "subject": client_id,
        "client_id": client_id,
        "role": "integration",
        "scopes": ["audit:read", "registry:read"],
    }


async def test_basic_credentials_are_form_encoded_before_base64(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """RFC 6749 §2.3.1: id and secret are form-encoded, then joined and base64-encoded."""
    client_id, secret = await register_client(app, "secretariat")
    encoded = base64.b64encode(f"{quote(client_id)}:{quote(secret, safe='')}".encode()).decode()
    response = await client.post(TOKEN, data=GRANT, headers={"Authorization": f"Basic {encoded}"})
    assert response.status_code == 200


async def test_each_token_is_distinct(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await register_client(app, "bureau")
    first = unverified(await fetch_token(client, client_id, secret))[1]
    second = unverified(await fetch_token(client, client_id, secret))[1]
    assert first["jti"] != second["jti"]
    assert len(await _signing_keys(app)) == 1


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("secretariat", ["audit:read", "registry:read", "registry:write"]),
        ("bureau", ["audit:read", "decisions:write", "registry:read"]),
        ("integration", ["audit:read", "registry:read"]),
    ],
)
async def test_me_answers_for_each_role(
    role: str,
    expected: list[str],
    app: FastAPI,
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
) -> None:
    response = await client.get("/v1/me", headers=auth_headers(role))
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == role
    assert body["scopes"] == expected
    assert body["subject"] == body["client_id"]


async def test_a_narrower_scope_may_be_requested(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await register_client(app, "secretariat")
    response = await client.post(
        TOKEN, data={**GRANT, "scope": "registry:read"}, auth=(client_id, secret)
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "registry:read"
    me = await client.get("/v1/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["scopes"] == ["registry:read"]


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("secretariat", "decisions:write"),
        ("bureau", "registry:write"),
        ("integration", "registry:read registry:write"),
        ("integration", "admin"),
    ],
)
async def test_a_scope_beyond_the_role_is_invalid_scope(
    role: str, scope: str, app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await register_client(app, role)
    response = await client.post(TOKEN, data={**GRANT, "scope": scope}, auth=(client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert response.headers["cache-control"] == "no-store"


async def test_a_bad_secret_is_invalid_client(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await register_client(app, "bureau")
    response = await client.post(TOKEN, data=GRANT, auth=(client_id, secret + "x"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    posted = await client.post(
        TOKEN, data={**GRANT, "client_id": client_id, "client_secret": "wrong"}
    )
    assert posted.status_code == 401
    assert posted.json()["error"] == "invalid_client"


@pytest.mark.parametrize("client_id", [str(uuid.uuid4()), "not-a-uuid", ""])
async def test_an_unknown_client_is_invalid_client(
    client_id: str, client: httpx.AsyncClient
) -> None:
    response = await client.post(TOKEN, data=GRANT, auth=(client_id, "whatever"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_no_client_authentication_is_invalid_client(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN, data=GRANT)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_a_revoked_client_gets_no_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    from app.auth.clients import revoke_client
    from app.core.tracking import set_actor

    client_id, secret = await register_client(app, "bureau")
    live_token = await fetch_token(client, client_id, secret)
    async with app.state.database.session(write=True) as session:
        set_actor(session, TEST_OPERATOR)
        await revoke_client(session, client_id)
        await session.commit()
    response = await client.post(TOKEN, data=GRANT, auth=(client_id, secret))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # The documented policy: tokens already issued live out their short lifetime.
    assert (await client.get("/v1/me", headers=bearer(live_token))).status_code == 200


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": ""}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
async def test_grant_type_errors(
    data: dict[str, str], error: str, app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await register_client(app, "bureau")
    response = await client.post(TOKEN, data=data, auth=(client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_two_authentication_methods_are_invalid_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await register_client(app, "bureau")
    response = await client.post(
        TOKEN,
        data={**GRANT, "client_id": client_id, "client_secret": secret},
        auth=(client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_repeated_parameter_is_invalid_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await register_client(app, "bureau")
    response = await client.post(
        TOKEN,
        content=b"grant_type=client_credentials&scope=registry:read&scope=audit:read",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_json_body_is_invalid_request(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await register_client(app, "bureau")
    response = await client.post(TOKEN, json=GRANT, auth=(client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_concurrent_first_tokens_make_one_signing_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Several instances (here: several requests) needing the first key create exactly one."""
    client_id, secret = await register_client(app, "bureau")
    settings = app.state.settings
    others = [create_app(settings) for _ in range(3)]
    try:
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://t")
            for other in others
        ]
        responses = await asyncio.gather(
            *(http.post(TOKEN, data=GRANT, auth=(client_id, secret)) for http in clients)
        )
        for http in clients:
            await http.aclose()
    finally:
        for other in others:
            await other.state.database.dispose()
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert len(await _signing_keys(app)) == 1
    kids = {unverified(response.json()["access_token"])[0]["kid"] for response in responses}
    assert len(kids) == 1


async def test_jwks_publishes_public_keys_only(
    app: FastAPI, client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    response = await client.get(
        "/.well-known/jwks.json", headers={"Origin": "https://anyone.example"}
    )
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    assert response.headers["access-control-allow-origin"] == "*"
    (key,) = response.json()["keys"]
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert "d" not in key
    assert key["kid"] == unverified(auth_headers("bureau")["Authorization"][7:])[0]["kid"]


async def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await register_client(app, "bureau")
    old_token = await fetch_token(client, client_id, secret)
    old_kid = unverified(old_token)[0]["kid"]
    async with app.state.database.session(write=True) as session:
        new = await rotate_signing_key(session, app.state.settings)
        await session.commit()
    new_token = await fetch_token(client, client_id, secret)
    assert unverified(new_token)[0]["kid"] == new.kid != old_kid
    published = {key["kid"] for key in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert published == {old_kid, new.kid}
    assert (await client.get("/v1/me", headers=bearer(old_token))).status_code == 200
    assert (await client.get("/v1/me", headers=bearer(new_token))).status_code == 200


async def test_keys_retired_longer_than_a_token_lifetime_are_withdrawn(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    settings = app.state.settings
    database: Database = app.state.database
    async with database.session(write=True) as session:
        first = await rotate_signing_key(session, settings)
        await session.commit()
    async with database.session(write=True) as session:
        await rotate_signing_key(session, settings)
        stored = await session.get(SigningKey, first.id)
        assert stored is not None
        assert stored.retired_at is not None
        window = settings.access_token_ttl_seconds + settings.clock_leeway_seconds
        stored.retired_at = stored.retired_at - timedelta(seconds=window + 1)
        await session.commit()
    published = {key["kid"] for key in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert first.kid not in published
    assert len(published) == 1
    async with database.session(write=True) as session:
        await rotate_signing_key(session, settings)
        await session.commit()
    assert first.kid not in {key.kid for key in await _signing_keys(app)}


async def test_metadata_names_the_configured_issuer_not_the_host(
    database_url: str,
) -> None:
    settings = make_settings(database_url, issuer="https://partnerships.ippc.example")
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as http:
            response = await http.get("/.well-known/oauth-authorization-server")
    finally:
        await app.state.database.dispose()
    assert response.status_code == 200
    assert response.json() == {
        "issuer": "https://partnerships.ippc.example",
        "token_endpoint": "https://partnerships.ippc.example/oauth/token",
        "jwks_uri": "https://partnerships.ippc.example/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["registry:read", "registry:write", "decisions:write", "audit:read"],
        "response_types_supported": [],
    }


async def test_client_secrets_are_stored_as_digests(app: FastAPI) -> None:
    client_id, secret = await register_client(app, "bureau")
    async with app.state.database.session(write=False) as session:
        stored = await session.get(OAuthClient, uuid.UUID(client_id))
    assert stored is not None
    assert secret not in stored.secret_hash
    assert stored.secret_hash.startswith("sha256$")
    assert len(secret) >= 43  # 256 bits, base64url


async def test_private_keys_are_encrypted_at_rest_with_a_key_secret(database_url: str) -> None:
    settings = make_settings(database_url, key_secret="correct horse battery staple")
    app = create_app(settings)
    try:
        client_id, secret = await register_client(app, "bureau")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            token = await fetch_token(http, client_id, secret)
            assert (await http.get("/v1/me", headers=bearer(token))).status_code == 200
        (stored,) = await _signing_keys(app)
    finally:
        await app.state.database.dispose()
    assert stored.private_key.startswith("aesgcm:v1:")
    assert "PRIVATE KEY" not in stored.private_key

    from app.auth.keys import private_key_of

    with pytest.raises(SigningKeyUnavailable):
        private_key_of(stored, SecretStr("another secret"))
    with pytest.raises(SigningKeyUnavailable):
        private_key_of(stored, None)
    assert private_key_of(stored, settings.key_secret).is_private


async def _plain_keys_then_a_secret(database_url: str) -> tuple[str, str, str, str]:
    """Keys made without a key secret: one retired by a rotation, one current. Returns a client's
    credentials, a token signed with the retired key, and the current key's kid."""
    app = create_app(make_settings(database_url))
    try:
        client_id, secret = await register_client(app, "bureau")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            old_token = await fetch_token(http, client_id, secret)
        async with app.state.database.session(write=True) as session:
            current = await rotate_signing_key(session, app.state.settings)
            await session.commit()
        stored = await _signing_keys(app)
    finally:
        await app.state.database.dispose()
    assert len(stored) == 2
    assert all(row.private_key.startswith("plain:") for row in stored)
    return client_id, secret, old_token, current.kid


def _assert_sealed_under(rows: list[SigningKey], secret: SecretStr) -> None:
    from app.auth.keys import private_key_of

    for row in rows:
        assert row.private_key.startswith("aesgcm:v1:"), row.kid
        assert "PRIVATE KEY" not in row.private_key
        assert private_key_of(row, secret).thumbprint() == row.kid
        with pytest.raises(SigningKeyUnavailable):
            private_key_of(row, None)


async def test_a_key_secret_set_later_seals_the_plain_keys_at_the_next_token(
    database_url: str,
) -> None:
    client_id, secret, old_token, current_kid = await _plain_keys_then_a_secret(database_url)
    settings = make_settings(database_url, key_secret="set after the keys were made")
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            token = await fetch_token(http, client_id, secret)
            stored = await _signing_keys(app)
            assert (await http.get("/v1/me", headers=bearer(token))).status_code == 200
            assert (await http.get("/v1/me", headers=bearer(old_token))).status_code == 200
    finally:
        await app.state.database.dispose()
    assert unverified(token)[0]["kid"] == current_kid  # the same key, sealed, not a new one
    assert len(stored) == 2
    assert settings.key_secret is not None
    _assert_sealed_under(stored, settings.key_secret)


async def test_a_rotation_with_a_key_secret_seals_the_plain_keys(database_url: str) -> None:
    client_id, secret, old_token, _ = await _plain_keys_then_a_secret(database_url)
    settings = make_settings(database_url, key_secret="set after the keys were made")
    app = create_app(settings)
    try:
        async with app.state.database.session(write=True) as session:
            new = await rotate_signing_key(session, settings)
            await session.commit()
        stored = await _signing_keys(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            token = await fetch_token(http, client_id, secret)
            assert (await http.get("/v1/me", headers=bearer(token))).status_code == 200
            assert (await http.get("/v1/me", headers=bearer(old_token))).status_code == 200
    finally:
        await app.state.database.dispose()
    assert unverified(token)[0]["kid"] == new.kid
    assert len(stored) == 3
    assert settings.key_secret is not None
    _assert_sealed_under(stored, settings.key_secret)


async def test_without_a_key_secret_keys_are_plain(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await register_client(app, "bureau")
    await fetch_token(client, client_id, secret)
    (stored,) = await _signing_keys(app)
    assert stored.private_key.startswith("plain:-----BEGIN PRIVATE KEY-----")


async def test_the_issuer_is_off_in_external_mode(database_url: str) -> None:
    settings = make_settings(
        database_url, auth_mode=AuthMode.external, jwks_url="https://idp.example/jwks"
    )
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            token = await http.post(TOKEN, data=GRANT, auth=("a", "b"))
            jwks = await http.get("/.well-known/jwks.json")
    finally:
        await app.state.database.dispose()
    assert token.status_code == 404
    assert jwks.status_code == 404


async def test_no_signing_key_is_made_before_it_is_needed(app: FastAPI) -> None:
    async with app.state.database.session(write=False) as session:
        count = (await session.execute(select(func.count()).select_from(SigningKey))).scalar_one()
    assert count == 0


@pytest.mark.postgres_only
async def test_key_creation_is_serialized_by_a_database_lock(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three instances all find no key at once; the advisory lock lets one of them make it."""
    from app.auth import keys

    database: Database = app.state.database
    settings = app.state.settings
    everyone_looked = asyncio.Barrier(3)
    looked: set[int] = set()
    original = keys.current_signing_key

    async def look_together(session: AsyncSession) -> SigningKey | None:
        found = await original(session)
        if id(session) not in looked:
            looked.add(id(session))
            await everyone_looked.wait()
        return found

    monkeypatch.setattr(keys, "current_signing_key", look_together)

    async def instance() -> str:
        async with database.session(write=True) as session:
            key = await keys.ensure_signing_key(session, settings)
            await session.commit()
            return key.kid

    kids = await asyncio.wait_for(asyncio.gather(*(instance() for _ in range(3))), timeout=30)
    assert len(set(kids)) == 1
    assert len(await _signing_keys(app)) == 1


@pytest.mark.sqlite_only
async def test_on_sqlite_keys_are_made_only_in_a_writing_session(app: FastAPI) -> None:
    """A writing session holds SQLite's write lock (BEGIN IMMEDIATE): the lock across instances."""
    from app.auth.keys import lock_signing_keys

    database: Database = app.state.database
    async with database.session(write=False) as session:
        with pytest.raises(RuntimeError, match="writing transaction"):
            await lock_signing_keys(session)
    async with database.session(write=True) as session:
        await lock_signing_keys(session)


async def test_a_rotation_that_would_publish_too_many_keys_is_refused(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JWKS stays bounded: past MAX_PUBLISHED_KEYS, wait for the oldest to be withdrawn,
    or withdraw them all."""
    monkeypatch.setattr(keys, "MAX_PUBLISHED_KEYS", 2)
    settings = app.state.settings
    database: Database = app.state.database
    for _ in range(2):
        async with database.session(write=True) as session:
            await rotate_signing_key(session, settings)
            await session.commit()
    async with database.session(write=True) as session:
        with pytest.raises(Conflict, match="published already"):
            await rotate_signing_key(session, settings)
    async with database.session(write=True) as session:
        await rotate_signing_key(session, settings, withdraw_previous=True)
        await session.commit()
    assert len((await client.get("/.well-known/jwks.json")).json()["keys"]) == 1
