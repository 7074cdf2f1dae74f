"""Tokens made by the tests themselves: valid ones with chosen claims, and forgeries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from app.auth.keys import ensure_signing_key, private_key_of
from app.core.config import Settings
from app.core.db import Database


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWT, unchecked."""
    header, payload, _ = token.split(".")
    return _decode_part(header), _decode_part(payload)


def _decode_part(part: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


async def embedded_key(app: FastAPI) -> tuple[str, ECKey]:
    """The embedded issuer's current signing key (made if needed): (kid, private key)."""
    database: Database = app.state.database
    settings: Settings = app.state.settings
    async with database.session(write=True) as session:
        row = await ensure_signing_key(session, settings)
        await session.commit()
    return row.kid, private_key_of(row, settings.key_secret)


def valid_claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    client = str(uuid.uuid4())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": client,
        "aud": settings.audience,
        "exp": now + 300,
        "iat": now,
        "nbf": now,
        "jti": uuid.uuid4().hex,
        "client_id": client,
        "scope": "registry:read audit:read",
        "role": "integration",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(
    claims: dict[str, Any],
    key: ECKey | RSAKey,
    *,
    kid: str,
    alg: str = "ES256",
    typ: str | None = "at+jwt",
    **header: Any,
) -> str:
    values: dict[str, Any] = {"alg": alg, "kid": kid, **header}
    if typ is not None:
        values["typ"] = typ
    return jwt.encode(values, claims, key, algorithms=[alg], default_type=None)


def unsigned(claims: dict[str, Any], *, kid: str) -> str:
    """`alg: none`: no signature at all."""
    return f"{b64url_json({'alg': 'none', 'typ': 'at+jwt', 'kid': kid})}.{b64url_json(claims)}."


def hmac_signed(claims: dict[str, Any], secret: bytes, *, kid: str) -> str:
    """HS256 with a chosen secret (the classic: the issuer's public key used as the secret)."""
    signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'at+jwt', 'kid': kid})}."
    signing_input += b64url_json(claims)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
