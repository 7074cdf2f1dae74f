"""Bearer tokens on the embedded issuer's keys: what is accepted, and every way a token is refused
(each a 401 with an RFC 6750 challenge)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import ECKey, RSAKey

from app.auth.tokens import (
    EMBEDDED_POLICY,
    EXTERNAL_POLICY,
    ClaimsPolicy,
    InvalidToken,
    TokenValidator,
    key_fits,
)
from tests.auth.forge import bearer, embedded_key, hmac_signed, sign, unsigned, valid_claims

ME = "/v1/me"


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(ME, headers=bearer(token))


def _assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unauthorized"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


async def test_a_token_with_the_issuers_key_and_valid_claims_is_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The control for every forgery below: the same recipe, untampered, passes."""
    kid, key = await embedded_key(app)
    claims = valid_claims(app.state.settings)
    response = await _me(client, sign(claims, key, kid=kid))
    assert response.status_code == 200
    assert response.json()["subject"] == claims["sub"]


async def test_no_token_is_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="ippc"'
    assert response.json()["type"] == "/problems/unauthorized"


async def test_another_scheme_is_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get(ME, headers={"Authorization": "Basic YTpi"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="ippc"'


async def test_an_empty_bearer_is_401_invalid_request(client: httpx.AsyncClient) -> None:
    response = await client.get(ME, headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


async def test_a_token_in_the_query_string_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    kid, key = await embedded_key(app)
    token = sign(valid_claims(app.state.settings), key, kid=kid)
    response = await client.get(ME, params={"access_token": token})
    assert response.status_code == 401
    assert 'error="invalid_request"' in response.headers["www-authenticate"]
    both = await client.get(ME, params={"access_token": token}, headers=bearer(token))
    assert both.status_code == 401


async def test_alg_none_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    kid, _ = await embedded_key(app)
    _assert_invalid_token(await _me(client, unsigned(valid_claims(app.state.settings), kid=kid)))


@pytest.mark.parametrize("form", ["pem", "jwk"])
async def test_hs256_signed_with_the_public_key_is_refused(
    form: str, app: FastAPI, client: httpx.AsyncClient
) -> None:
    kid, key = await embedded_key(app)
    public = (
        key.as_pem(private=False)
        if form == "pem"
        else json.dumps(key.as_dict(private=False)).encode()
    )
    token = hmac_signed(valid_claims(app.state.settings), public, kid=kid)
    _assert_invalid_token(await _me(client, token))


async def test_another_key_type_under_the_kid_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    kid, _ = await embedded_key(app)
    rsa = RSAKey.generate_key(2048)
    token = sign(valid_claims(app.state.settings), rsa, kid=kid, alg="RS256")
    _assert_invalid_token(await _me(client, token))


async def test_a_key_the_issuer_does_not_have_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await embedded_key(app)
    stranger = ECKey.generate_key("P-256")
    unknown_kid = sign(valid_claims(app.state.settings), stranger, kid="stranger")
    _assert_invalid_token(await _me(client, unknown_kid))
    kid, _ = await embedded_key(app)
    wrong_key_known_kid = sign(valid_claims(app.state.settings), stranger, kid=kid)
    _assert_invalid_token(await _me(client, wrong_key_known_kid))


async def test_a_tampered_token_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    kid, key = await embedded_key(app)
    settings = app.state.settings
    token = sign(valid_claims(settings), key, kid=kid)
    header, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    _assert_invalid_token(await _me(client, f"{header}.{payload}.{flipped}"))
    other_payload = sign(valid_claims(settings, scope="registry:write"), key, kid=kid).split(".")[1]
    _assert_invalid_token(await _me(client, f"{header}.{other_payload}.{signature}"))


@pytest.mark.parametrize("token", ["abc", "a.b", "a.b.c", "....", "x" * 9000])
async def test_garbage_is_refused(token: str, client: httpx.AsyncClient) -> None:
    _assert_invalid_token(await _me(client, token))


def _now() -> int:
    return int(time.time())


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(lambda s: {"exp": _now() - s.clock_leeway_seconds - 5}, id="expired"),
        pytest.param(lambda s: {"nbf": _now() + s.clock_leeway_seconds + 60}, id="not-yet-valid"),
        pytest.param(lambda s: {"iat": _now() + s.clock_leeway_seconds + 60}, id="issued-later"),
        pytest.param(lambda s: {"iss": "https://elsewhere.example"}, id="wrong-issuer"),
        pytest.param(lambda s: {"iss": s.issuer + "/"}, id="near-issuer"),
        pytest.param(lambda s: {"aud": "another-api"}, id="wrong-audience"),
        pytest.param(lambda s: {"aud": ["another-api", "a-third"]}, id="wrong-audiences"),
        pytest.param(lambda s: {"exp": None}, id="no-expiry"),
        pytest.param(lambda s: {"aud": None}, id="no-audience"),
        pytest.param(lambda s: {"client_id": None}, id="no-client-id"),
        pytest.param(lambda s: {"exp": "tomorrow"}, id="expiry-not-a-number"),
    ],
)
async def test_claims_that_are_refused(
    overrides: Any, app: FastAPI, client: httpx.AsyncClient
) -> None:
    kid, key = await embedded_key(app)
    settings = app.state.settings
    token = sign(valid_claims(settings, **overrides(settings)), key, kid=kid)
    _assert_invalid_token(await _me(client, token))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(lambda s: {"exp": _now() - s.clock_leeway_seconds + 10}, id="just-expired"),
        pytest.param(lambda s: {"nbf": _now() + s.clock_leeway_seconds - 10}, id="nearly-valid"),
        pytest.param(lambda s: {"iat": _now() + s.clock_leeway_seconds - 10}, id="clock-ahead"),
        pytest.param(lambda s: {"aud": ["another-api", s.audience]}, id="one-of-audiences"),
    ],
)
async def test_claims_within_the_leeway_are_accepted(
    overrides: Any, app: FastAPI, client: httpx.AsyncClient
) -> None:
    kid, key = await embedded_key(app)
    settings = app.state.settings
    token = sign(valid_claims(settings, **overrides(settings)), key, kid=kid)
    assert (await _me(client, token)).status_code == 200


@pytest.mark.parametrize("typ", ["JWT", None, "id+jwt"])
async def test_embedded_tokens_must_be_typed_at_jwt(
    typ: str | None, app: FastAPI, client: httpx.AsyncClient
) -> None:
    kid, key = await embedded_key(app)
    token = sign(valid_claims(app.state.settings), key, kid=kid, typ=typ)
    _assert_invalid_token(await _me(client, token))


async def test_a_role_caps_the_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    kid, key = await embedded_key(app)
    claims = valid_claims(
        app.state.settings, role="integration", scope="registry:read registry:write unknown"
    )
    response = await _me(client, sign(claims, key, kid=kid))
    assert response.status_code == 200
    assert response.json()["scopes"] == ["registry:read"]


def test_key_fits_its_algorithm_only() -> None:
    ec = ECKey.generate_key("P-256")
    ec384 = ECKey.generate_key("P-384")
    rsa = RSAKey.generate_key(2048)
    assert key_fits(ec, "ES256")
    assert not key_fits(ec384, "ES256")
    assert not key_fits(ec, "RS256")
    assert key_fits(rsa, "RS256")
    assert not key_fits(rsa, "ES256")
    assert not key_fits(rsa, "HS256")
    declared = RSAKey.import_key(rsa.as_dict(private=False) | {"alg": "PS256"})
    assert not key_fits(declared, "RS256")
    for_encryption = RSAKey.import_key(rsa.as_dict(private=False) | {"use": "enc"})
    assert not key_fits(for_encryption, "RS256")


class StaticKeys:
    """A key source holding fixed keys."""

    def __init__(self, keys: dict[str, ECKey]) -> None:
        self.keys = keys

    async def key_for(self, kid: str) -> ECKey | None:
        return self.keys.get(kid)


EDGE_NOW = 1_800_000_000
EDGE_LEEWAY = 30


@pytest.mark.parametrize("policy", [EMBEDDED_POLICY, EXTERNAL_POLICY], ids=["embedded", "external"])
@pytest.mark.parametrize("fraction", [0.0, 0.999], ids=["on-the-second", "late-in-the-second"])
@pytest.mark.parametrize(
    ("claim", "value", "accepted"),
    [
        # RFC 7519: `exp` is the first instant at which the token is refused; the leeway
        # moves that instant later by exactly its length.
        pytest.param("exp", EDGE_NOW - EDGE_LEEWAY + 1, True, id="exp-last-accepted-second"),
        pytest.param("exp", EDGE_NOW - EDGE_LEEWAY, False, id="exp-first-refused-second"),
        pytest.param("nbf", EDGE_NOW + EDGE_LEEWAY, True, id="nbf-latest-accepted"),
        pytest.param("nbf", EDGE_NOW + EDGE_LEEWAY + 1, False, id="nbf-too-late"),
        pytest.param("iat", EDGE_NOW + EDGE_LEEWAY, True, id="iat-latest-accepted"),
        pytest.param("iat", EDGE_NOW + EDGE_LEEWAY + 1, False, id="iat-too-late"),
    ],
)
async def test_the_clock_leeway_edges(
    claim: str, value: int, accepted: bool, fraction: float, policy: ClaimsPolicy
) -> None:
    key = ECKey.generate_key("P-256")
    validator = TokenValidator(
        issuer="https://issuer.example",
        audience="ippc",
        leeway_seconds=EDGE_LEEWAY,
        keys=StaticKeys({"k": key}),
        policy=policy,
        clock=lambda: EDGE_NOW + fraction,
    )
    claims = {
        "iss": "https://issuer.example",
        "aud": "ippc",
        "sub": "svc",
        "client_id": "svc",
        "jti": "j-1",
        "iat": EDGE_NOW - 60,
        "nbf": EDGE_NOW - 60,
        "exp": EDGE_NOW + 240,
        "scope": "registry:read",
        claim: value,
    }
    token = sign(claims, key, kid="k")
    if accepted:
        assert (await validator.validate(token)).subject == "svc"
    else:
        with pytest.raises(InvalidToken):
            await validator.validate(token)
