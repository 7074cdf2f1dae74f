"""The clients of the embedded issuer: registration, listing, revocation, secret rotation, and
authentication at the token endpoint.

Secrets are made here, 256 bits from `secrets.token_urlsafe`, shown once and stored as a SHA-256
digest compared in constant time. A slow password hash (bcrypt, scrypt, Argon2) exists to make
guessing a *human-chosen* password expensive; a 256-bit random secret cannot be guessed whatever
the hash, so a fast digest protects it as well, costs the token endpoint nothing and never blocks
the event loop. The digest is prefixed with its algorithm (`sha256$...`) so it can change later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import Role
from app.core.db import column_of, utcnow
from app.core.errors import Conflict, NotFound
from app.core.tracking import record_action
from app.models.auth import OAuthClient

SECRET_BYTES = 32
_DIGEST_PREFIX = "sha256$"
# Compared against when the client does not exist, so that both answers take the same time.
_DUMMY_DIGEST = _DIGEST_PREFIX + "0" * 64


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def digest_secret(secret: str) -> str:
    return _DIGEST_PREFIX + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(digest_secret(secret).encode(), digest.encode())


@dataclass(frozen=True)
class IssuedCredentials:
    """A client id with its secret, in clear: returned once, never stored."""

    client_id: str
    client_secret: str


def parse_client_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def create_client(session: AsyncSession, *, name: str, role: Role) -> IssuedCredentials:
    """A new client (audited like every change: who may call the service is part of the
    record; the audit trail never shows the secret)."""
    secret = new_secret()
    client = OAuthClient(name=name, role=role.value, secret_hash=digest_secret(secret))
    session.add(client)
    await session.flush()
    return IssuedCredentials(str(client.id), secret)


async def list_clients(session: AsyncSession) -> Sequence[OAuthClient]:
    statement = select(OAuthClient).order_by(
        column_of(OAuthClient.created_at), column_of(OAuthClient.id)
    )
    return (await session.execute(statement)).scalars().all()


async def _get(session: AsyncSession, client_id: str) -> OAuthClient:
    parsed = parse_client_id(client_id)
    client = await session.get(OAuthClient, parsed) if parsed else None
    if client is None:
        raise NotFound(f"No client has the id {client_id!r}.")
    return client


async def revoke_client(session: AsyncSession, client_id: str) -> OAuthClient:
    """The client gets no new token. Tokens it holds live out their (short) lifetime."""
    client = await _get(session, client_id)
    if not client.revoked:
        client.revoked = True
        client.revoked_at = utcnow()
        record_action(session, client, "revoke")
        await session.flush()
    return client


async def rotate_secret(session: AsyncSession, client_id: str) -> IssuedCredentials:
    """A new secret; the old one stops working at once."""
    client = await _get(session, client_id)
    if client.revoked:
        raise Conflict("This client is revoked: register a new one instead.")
    secret = new_secret()
    client.secret_hash = digest_secret(secret)
    record_action(session, client, "rotate_secret")
    await session.flush()
    return IssuedCredentials(str(client.id), secret)


async def authenticate_client(
    session: AsyncSession, client_id: str, client_secret: str
) -> OAuthClient | None:
    """The client these credentials prove, or None (unknown, wrong secret, or revoked)."""
    parsed = parse_client_id(client_id)
    client = await session.get(OAuthClient, parsed) if parsed else None
    matches = secret_matches(client_secret, client.secret_hash if client else _DUMMY_DIGEST)
    if client is None or not matches or client.revoked:
        return None
    return client
