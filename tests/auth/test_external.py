"""External mode: tokens from an identity provider, checked against its JWKS (served here by the
test itself through an httpx transport), with the documented claims policy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import ECKey, OctKey, RSAKey
from pydantic import ValidationError

from app.auth.dependencies import build_validator
from app.auth.jwks import RemoteJWKS, parse_jwks
from app.auth.scopes import Principal
from app.auth.tokens import EXTERNAL_POLICY, TokenValidator
from app.core.config import AuthMode, Environment, Settings
from app.main import create_app
from tests.auth.forge import bearer, hmac_signed, sign
from tests.conftest import make_settings

ISSUER = "https://login.idp.example/realms/ippc"
AUDIENCE = "api://ippc-partnerships"
JWKS_URL = "https://login.idp.example/realms/ippc/certs"


@dataclass
class IdentityProvider:
    """Keys and a JWKS endpoint, as an identity provider would have them."""

    keys: dict[str, RSAKey | ECKey] = field(default_factory=dict)
    requests: int = 0
    failing: bool = False

    def add(self, kid: str, key: RSAKey | ECKey) -> None:
        self.keys[kid] = key

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        self.requests += 1
        if self.failing:
            return httpx.Response(503)
        document = {
            "keys": [
                {**key.as_dict(private=False), "kid": kid, "use": "sig"}
                for kid, key in self.keys.items()
            ]
        }
        return httpx.Response(200, json=document)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def token(
        self,
        kid: str,
        *,
        alg: str = "RS256",
        typ: str | None = "JWT",
        nulls: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        """A token with the usual claims and `claims`; a claim given as None is left out, unless
        it is named in `nulls` (then it is sent as JSON null)."""
        now = int(time.time())
        values = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now, **claims}
        return sign(
            {name: value for name, value in values.items() if value is not None or name in nulls},
            self.keys[kid],
            kid=kid,
            alg=alg,
            typ=typ,
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp() -> IdentityProvider:
    provider = IdentityProvider()
    provider.add("rsa-1", RSAKey.generate_key(2048))
    return provider


@pytest.fixture
def clock() -> Clock:
    return Clock()


def external_settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        auth_mode=AuthMode.external,
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=JWKS_URL,
    )


@pytest.fixture
async def external(
    database_url: str, idp: IdentityProvider, clock: Clock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, RemoteJWKS]]:
    settings = external_settings(database_url)
    app = create_app(settings)
    jwks = RemoteJWKS(JWKS_URL, transport=idp.transport(), clock=clock)
    app.state.token_validator = TokenValidator(
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway_seconds=settings.clock_leeway_seconds,
        keys=jwks,
        policy=EXTERNAL_POLICY,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield app, http, jwks
    await app.state.database.dispose()


External = tuple[FastAPI, httpx.AsyncClient, RemoteJWKS]


@pytest.mark.parametrize(
    ("claims", "typ", "expected"),
    [
        pytest.param(
            {"sub": "svc-1", "azp": "reporting", "scope": "registry:read profile email"},
            "JWT",
            {"subject": "svc-1", "client_id": "reporting", "role": None},
            id="scope-string-azp",
        ),
        pytest.param(
            {"sub": "0oa1", "cid": "0oa1", "scp": ["registry:read", "audit:read"]},
            None,
            {"subject": "0oa1", "client_id": "0oa1", "role": None},
            id="scp-list-cid-untyped",
        ),
        pytest.param(
            {"sub": "sp-9", "appid": "app-9", "scp": "registry:read", "role": "integration"},
            "JWT",
            {"subject": "sp-9", "client_id": "app-9", "role": "integration"},
            id="scp-string-appid-role",
        ),
        pytest.param(
            {"client_id": "c-2", "scope": "registry:read", "jti": "j"},
            "at+jwt",
            {"subject": "c-2", "client_id": "c-2", "role": None},
            id="rfc9068-without-sub",
        ),
    ],
)
async def test_tokens_shaped_like_common_providers_are_accepted(
    claims: dict[str, Any],
    typ: str | None,
    expected: dict[str, Any],
    idp: IdentityProvider,
    external: External,
) -> None:
    _, http, _ = external
    response = await http.get("/v1/me", headers=bearer(idp.token("rsa-1", typ=typ, **claims)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert {name: body[name] for name in expected} == expected
    assert "registry:read" in body["scopes"]
    assert "profile" not in body["scopes"]


async def test_other_token_types_are_refused(idp: IdentityProvider, external: External) -> None:
    _, http, _ = external
    for typ in ("id+jwt", "logout+jwt", "dpop+jwt"):
        token = idp.token("rsa-1", typ=typ, sub="x", scope="registry:read")
        assert (await http.get("/v1/me", headers=bearer(token))).status_code == 401


async def test_the_role_claim_caps_the_scopes(idp: IdentityProvider, external: External) -> None:
    _, http, _ = external
    token = idp.token("rsa-1", sub="b", role="bureau", scope="registry:read registry:write")
    response = await http.get("/v1/me", headers=bearer(token))
    assert response.json()["scopes"] == ["registry:read"]


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"iss": "https://login.idp.example/realms/other"}, id="wrong-issuer"),
        pytest.param({"aud": "account"}, id="wrong-audience"),
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
        pytest.param({"sub": None}, id="no-subject-nor-client"),
        pytest.param({"exp": None}, id="no-expiry"),
    ],
)
async def test_provider_tokens_with_bad_claims_are_refused(
    claims: dict[str, Any], idp: IdentityProvider, external: External
) -> None:
    _, http, _ = external
    values: dict[str, Any] = {"sub": "svc", "scope": "registry:read", **claims}
    response = await http.get("/v1/me", headers=bearer(idp.token("rsa-1", **values)))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def _assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


WRITER: dict[str, Any] = {"role": "secretariat", "scope": "registry:read registry:write"}


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"sub": "s" * 256}, id="subject-of-256"),
        pytest.param({"sub": "svc", "client_id": "c" * 256}, id="client-id-of-256"),
        pytest.param({"sub": None, "azp": "c" * 256}, id="client-of-256-as-subject"),
        pytest.param({"sub": "svc-\u00e9"}, id="subject-not-ascii"),
        pytest.param({"sub": "svc\nforged log line"}, id="subject-control-character"),
        pytest.param({"sub": "svc\u0000"}, id="subject-nul"),
        pytest.param({"sub": "svc", "azp": "\t"}, id="client-id-control-character"),
    ],
)
async def test_subjects_and_clients_beyond_255_printable_ascii_are_refused(
    claims: dict[str, Any], idp: IdentityProvider, external: External
) -> None:
    """A write records the subject and client in the audit trail (255 characters at most):
    such a token is a 401, never a 500."""
    _, http, _ = external
    token = idp.token("rsa-1", **{**WRITER, **claims})
    response = await http.post(
        "/v1/organizations", json={"name": "Oversized"}, headers=bearer(token)
    )
    _assert_invalid_token(response)


async def test_a_subject_and_client_of_255_characters_may_write(
    idp: IdentityProvider, external: External
) -> None:
    _, http, _ = external
    subject, client_id = "s" * 255, "~ c" + "c" * 252
    token = idp.token("rsa-1", sub=subject, client_id=client_id, **WRITER)
    response = await http.post(
        "/v1/organizations", json={"name": "At the limit"}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    events = await http.get(
        "/v1/audit-events",
        params={"actor": subject},
        headers=bearer(idp.token("rsa-1", sub="a", role="integration", scope="audit:read")),
    )
    (event,) = events.json()["items"]
    assert event["actor"] == {"subject": subject, "client_id": client_id}


@pytest.mark.parametrize(
    "role",
    [
        pytest.param("admin", id="another-word"),
        pytest.param("Secretariat", id="another-case"),
        pytest.param(["integration"], id="a-list"),
        pytest.param(123, id="a-number"),
        pytest.param("", id="empty"),
        pytest.param(None, id="null"),
        pytest.param({"name": "bureau"}, id="an-object"),
    ],
)
async def test_a_role_claim_naming_no_role_of_this_service_is_refused(
    role: Any, idp: IdentityProvider, external: External
) -> None:
    """Fail closed: an unknown role never falls back to the scopes alone."""
    _, http, _ = external
    token = idp.token("rsa-1", sub="svc", scope="registry:read", role=role, nulls=("role",))
    _assert_invalid_token(await http.get("/v1/me", headers=bearer(token)))


async def test_without_a_role_claim_the_scopes_alone_decide(
    idp: IdentityProvider, external: External
) -> None:
    _, http, _ = external
    token = idp.token("rsa-1", sub="svc", scope="registry:read registry:write")
    response = await http.get("/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["role"] is None
    assert response.json()["scopes"] == ["registry:read", "registry:write"]


async def test_a_key_of_another_type_under_a_kid_is_refused(
    idp: IdentityProvider, external: External
) -> None:
    """The header says ES256 and names the RSA key: the key type does not fit the kid."""
    _, http, _ = external
    impostor = IdentityProvider(keys={"rsa-1": ECKey.generate_key("P-256")})
    token = impostor.token("rsa-1", alg="ES256", sub="svc", scope="registry:read")
    assert (await http.get("/v1/me", headers=bearer(token))).status_code == 401
    public_pem = idp.keys["rsa-1"].as_pem(private=False)
    forged = hmac_signed({"iss": ISSUER, "aud": AUDIENCE, "sub": "x"}, public_pem, kid="rsa-1")
    assert (await http.get("/v1/me", headers=bearer(forged))).status_code == 401


async def test_key_rotation_is_followed_and_refetches_are_rate_limited(
    idp: IdentityProvider, external: External, clock: Clock
) -> None:
    _, http, jwks = external
    old = idp.token("rsa-1", sub="svc", scope="registry:read")
    assert (await http.get("/v1/me", headers=bearer(old))).status_code == 200
    assert idp.requests == 1
    assert (await http.get("/v1/me", headers=bearer(old))).status_code == 200
    assert idp.requests == 1  # cached

    # The provider rotates: a new key appears, the old one is withdrawn.
    idp.add("ec-2", ECKey.generate_key("P-256"))
    del idp.keys["rsa-1"]
    new = idp.token("ec-2", alg="ES256", sub="svc", scope="registry:read")
    clock.now += 5
    # Within the refetch interval an unknown kid does not reach the provider.
    assert (await http.get("/v1/me", headers=bearer(new))).status_code == 401
    assert idp.requests == 1
    clock.now += jwks.min_refetch_seconds
    assert (await http.get("/v1/me", headers=bearer(new))).status_code == 200
    assert idp.requests == 2
    # The withdrawn key is no longer accepted.
    assert (await http.get("/v1/me", headers=bearer(old))).status_code == 401


async def test_concurrent_unknown_kids_make_one_fetch(
    idp: IdentityProvider, external: External
) -> None:
    _, http, _ = external
    tokens = [
        idp.token("rsa-1", sub="svc", scope="registry:read"),
        *(IdentityProvider(keys={f"k{n}": idp.keys["rsa-1"]}).token(f"k{n}") for n in range(5)),
    ]
    responses = await asyncio.gather(*(http.get("/v1/me", headers=bearer(t)) for t in tokens))
    assert [response.status_code for response in responses] == [200, 401, 401, 401, 401, 401]
    assert idp.requests == 1


async def test_concurrent_validations_of_a_new_kid_wait_for_one_fetch(
    idp: IdentityProvider, clock: Clock
) -> None:
    """The provider has rotated; its JWKS answers only once every validation is waiting. One
    fetch serves them all, and each is accepted (none is refused for arriving during it)."""
    size = 8
    everyone_waits = asyncio.Event()
    paused = False

    async def provider(request: httpx.Request) -> httpx.Response:
        if paused:
            await everyone_waits.wait()
        return idp.handle(request)

    jwks = RemoteJWKS(JWKS_URL, transport=httpx.MockTransport(provider), clock=clock)
    validator = TokenValidator(
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway_seconds=30,
        keys=jwks,
        policy=EXTERNAL_POLICY,
    )
    await validator.validate(idp.token("rsa-1", sub="svc", scope="registry:read"))
    assert idp.requests == 1

    idp.add("ec-2", ECKey.generate_key("P-256"))
    clock.now += jwks.min_refetch_seconds
    paused = True
    arrived = 0

    async def validate(token: str) -> Principal:
        nonlocal arrived
        arrived += 1
        if arrived == size:
            everyone_waits.set()
        return await validator.validate(token)

    tokens = [
        idp.token("ec-2", alg="ES256", sub=f"svc-{n}", scope="registry:read") for n in range(size)
    ]
    principals = await asyncio.wait_for(asyncio.gather(*(validate(t) for t in tokens)), timeout=30)
    assert [principal.subject for principal in principals] == [f"svc-{n}" for n in range(size)]
    assert idp.requests == 2
    assert jwks.fetches == 2


async def test_stale_keys_are_refreshed_and_kept_when_the_provider_fails(
    idp: IdentityProvider, external: External, clock: Clock
) -> None:
    _, http, jwks = external
    token = idp.token("rsa-1", sub="svc", scope="registry:read")
    assert (await http.get("/v1/me", headers=bearer(token))).status_code == 200
    clock.now += jwks.max_age_seconds
    idp.failing = True
    assert (await http.get("/v1/me", headers=bearer(token))).status_code == 200
    assert idp.requests == 2
    idp.failing = False
    clock.now += jwks.min_refetch_seconds
    del idp.keys["rsa-1"]
    assert (await http.get("/v1/me", headers=bearer(token))).status_code == 401
    assert idp.requests == 3


async def test_the_configured_validator_reads_the_jwks_url(
    database_url: str, idp: IdentityProvider
) -> None:
    settings = external_settings(database_url)
    app = create_app(settings)
    app.state.token_validator = build_validator(
        settings, app.state.database, jwks_transport=idp.transport()
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            token = idp.token("rsa-1", sub="svc", scope="registry:read audit:read")
            response = await http.get("/v1/me", headers=bearer(token))
    finally:
        await app.state.database.dispose()
    assert response.status_code == 200
    assert response.json()["scopes"] == ["audit:read", "registry:read"]
    assert idp.requests == 1


def test_the_jwks_parser_keeps_signing_keys_with_kids_only() -> None:
    rsa = RSAKey.generate_key(2048).as_dict(private=False)
    ec = ECKey.generate_key("P-256").as_dict(private=False)
    oct_key = OctKey.generate_key(256).as_dict()
    keys = parse_jwks(
        {
            "keys": [
                {**rsa, "kid": "sig"},
                {**rsa, "kid": "enc", "use": "enc"},
                {**ec},
                {**oct_key, "kid": "hmac"},
                {"kty": "RSA", "kid": "broken", "n": "??"},
                "not a key",
            ]
        }
    )
    assert set(keys) == {"sig"}
    with pytest.raises(ValueError, match="keys"):
        parse_jwks({"nokeys": []})


def test_embedded_mode_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="IPPC_AUTH_MODE=embedded is refused"):
        Settings(environment=Environment.production, auth_mode=AuthMode.embedded)
    allowed = Settings(
        environment=Environment.production, auth_mode=AuthMode.external, jwks_url=JWKS_URL
    )
    assert allowed.auth_mode is AuthMode.external
    with pytest.raises(ValidationError, match="IPPC_JWKS_URL"):
        Settings(auth_mode=AuthMode.external)
