"""The embedded issuer's signing keys: made on first need, kept in the database, rotated on demand.

Every instance reads its keys from the database, so N instances sign and verify as one issuer.
Creating the first key is serialized across instances by a database lock (a transaction advisory
lock on PostgreSQL; on SQLite, the write lock the session took with `BEGIN IMMEDIATE`): the
instance that comes second finds the key the first one made.

Algorithm: ES256 (ECDSA on P-256), pinned. The `kid` is the key's RFC 7638 thumbprint.

Private keys at rest: when `IPPC_KEY_SECRET` is set, a key's PEM is sealed with AES-256-GCM under
a key derived from the secret by HKDF-SHA256, the `kid` bound as associated data (a sealed key
cannot be moved to another row). Without a secret, keys are stored as plain PEM (development).
A key sealed under another secret, or read with none configured, fails loudly: the service
cannot sign, rather than silently making a new key.

Rotation (`ippc keys rotate`): the current key is retired and a new one made; tokens are always
signed with the current key. A retired key stays published in the JWKS, and accepted, for a token
lifetime plus the clock leeway, so that every token it signed expires before it disappears; keys
retired longer ago than that are deleted at the next rotation.

Withdrawal (`ippc keys rotate --withdraw-previous`), for a key that may have leaked: every
existing key is deleted at once, with no publication window, and a new one made. Tokens the old
keys signed stop verifying on every instance within `tokens.KEY_REFRESH_SECONDS`.

A secret configured later: keys stored in plain before `IPPC_KEY_SECRET` was set are sealed under
it, under the signing-key lock, the next time the issuer loads its key (`ensure_signing_key`, at
the next token request) and at the next rotation. There is no separate step at start-up: the
first token request after a restart comes within seconds on a live service, and an instance that
only verifies never opens a private key.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import ECKey
from pydantic import SecretStr
from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import column_of, hold_transaction_lock, utcnow
from app.core.errors import Conflict
from app.models.auth import SigningKey

SIGNING_ALGORITHM = "ES256"
SIGNING_CURVE = "P-256"

# An arbitrary constant shared by every instance: the key of the signing-key advisory lock.
SIGNING_KEY_LOCK_KEY = 7_310_411_903

_PLAIN = "plain:"
_SEALED = "aesgcm:v1:"
_HKDF_INFO = b"ippc-partnerships signing-key encryption v1"


class SigningKeyUnavailable(RuntimeError):
    """A stored private key cannot be opened (wrong or missing IPPC_KEY_SECRET)."""


def _cipher(secret: SecretStr) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret.get_secret_value().encode("utf-8")
    )
    return AESGCM(key)


def seal_private_key(pem: bytes, kid: str, secret: SecretStr | None) -> str:
    if secret is None:
        return _PLAIN + pem.decode("ascii")
    nonce = os.urandom(12)
    sealed = _cipher(secret).encrypt(nonce, pem, kid.encode("utf-8"))
    return _SEALED + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_private_key(stored: str, kid: str, secret: SecretStr | None) -> bytes:
    if stored.startswith(_PLAIN):
        return stored.removeprefix(_PLAIN).encode("ascii")
    if not stored.startswith(_SEALED):
        raise SigningKeyUnavailable(f"signing key {kid} is stored in an unknown format")
    if secret is None:
        raise SigningKeyUnavailable(
            f"signing key {kid} is encrypted: set IPPC_KEY_SECRET to the secret it was sealed with"
        )
    raw = base64.urlsafe_b64decode(stored.removeprefix(_SEALED).encode("ascii"))
    try:
        return _cipher(secret).decrypt(raw[:12], raw[12:], kid.encode("utf-8"))
    except InvalidTag as error:
        raise SigningKeyUnavailable(
            f"signing key {kid} cannot be opened with the configured IPPC_KEY_SECRET"
        ) from error


def is_sealed(row: SigningKey) -> bool:
    return row.private_key.startswith(_SEALED)


def private_key_of(row: SigningKey, secret: SecretStr | None) -> ECKey:
    return ECKey.import_key(open_private_key(row.private_key, row.kid, secret))


def public_key_from_jwk(stored: str) -> ECKey:
    return ECKey.import_key(json.loads(stored))


def public_jwk(row: SigningKey) -> dict[str, str]:
    value: dict[str, str] = json.loads(row.public_jwk)
    return value


def new_signing_key(secret: SecretStr | None, *, now: datetime | None = None) -> SigningKey:
    key = ECKey.generate_key(SIGNING_CURVE, private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": SIGNING_ALGORITHM}
    created = now or utcnow()
    return SigningKey(
        kid=kid,
        alg=SIGNING_ALGORITHM,
        public_jwk=json.dumps(public, sort_keys=True),
        private_key=seal_private_key(key.as_pem(private=True), kid, secret),
        created_at=created,
        updated_at=created,
    )


def publication_window(settings: Settings) -> timedelta:
    """How long a retired key stays published: every token it signed has expired by then."""
    return timedelta(seconds=settings.access_token_ttl_seconds + settings.clock_leeway_seconds)


def withdrawn_at(retired_at: datetime | None, settings: Settings) -> datetime | None:
    """When a key stops being published and accepted: never while it is current."""
    return None if retired_at is None else retired_at + publication_window(settings)


async def lock_signing_keys(session: AsyncSession) -> None:
    """Serialize key creation and rotation across instances, until the transaction ends."""
    await hold_transaction_lock(session, SIGNING_KEY_LOCK_KEY)


async def current_signing_key(session: AsyncSession) -> SigningKey | None:
    statement = (
        select(SigningKey)
        .where(column_of(SigningKey.retired_at).is_(None))
        .order_by(column_of(SigningKey.created_at).desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalars().first()


async def seal_plain_keys(session: AsyncSession, secret: SecretStr | None) -> int:
    """Seal under `secret` every key still stored in plain; how many were sealed.

    The caller holds the signing-key lock, so that two instances do not seal the same key twice
    (each seal is valid, but the second would overwrite the first for nothing)."""
    if secret is None:
        return 0
    statement = select(SigningKey).where(column_of(SigningKey.private_key).startswith(_PLAIN))
    rows = (await session.execute(statement)).scalars().all()
    for row in rows:
        pem = open_private_key(row.private_key, row.kid, None)
        row.private_key = seal_private_key(pem, row.kid, secret)
    if rows:
        await session.flush()
    return len(rows)


async def ensure_signing_key(session: AsyncSession, settings: Settings) -> SigningKey:
    """The key to sign with, made (once, whatever the number of instances) when there is none.

    With a key secret configured, a key found stored in plain is sealed first (with every other
    plain key), under the lock."""
    key = await current_signing_key(session)
    if key is not None and (settings.key_secret is None or is_sealed(key)):
        return key
    await lock_signing_keys(session)
    await seal_plain_keys(session, settings.key_secret)
    key = await current_signing_key(session)
    if key is None:
        key = new_signing_key(settings.key_secret)
        session.add(key)
        await session.flush()
    return key


async def rotate_signing_key(
    session: AsyncSession, settings: Settings, *, withdraw_previous: bool = False
) -> SigningKey:
    """Make a new signing key and sign with it from now on.

    Normally the current key(s) are retired, staying published for their tokens' lifetime, and
    keys no token can need any more are deleted. With `withdraw_previous` (a key may have
    leaked), every existing key is deleted at once: the tokens they signed stop verifying.
    Keys still stored in plain are sealed when a key secret is configured."""
    await lock_signing_keys(session)
    now = utcnow()
    if withdraw_previous:
        await session.execute(delete(SigningKey))
    else:
        current = column_of(SigningKey.retired_at).is_(None)
        for key in (await session.execute(select(SigningKey).where(current))).scalars().all():
            key.retired_at = now
        await session.execute(
            delete(SigningKey).where(
                column_of(SigningKey.retired_at) < now - publication_window(settings)
            )
        )
        published = len(await published_keys(session, settings))
        if published >= MAX_PUBLISHED_KEYS:
            raise Conflict(
                f"{published} signing keys are published already, at most "
                f"{MAX_PUBLISHED_KEYS}: rotate again once the oldest is withdrawn (within "
                f"{int(publication_window(settings).total_seconds())} seconds), or withdraw "
                "every previous key (--withdraw-previous)."
            )
        await seal_plain_keys(session, settings.key_secret)
    key = new_signing_key(settings.key_secret, now=now)
    session.add(key)
    await session.flush()
    return key


# The keys the JWKS publishes at most: the current one and those retired within a token's
# lifetime. A rotation that would publish more is refused (wait until the oldest is withdrawn,
# or withdraw them all): the key set, and what a validator fetches, stay small.
MAX_PUBLISHED_KEYS = 10


def _published(settings: Settings, now: datetime | None = None) -> ColumnElement[bool]:
    return or_(
        column_of(SigningKey.retired_at).is_(None),
        column_of(SigningKey.retired_at) > (now or utcnow()) - publication_window(settings),
    )


async def published_keys(session: AsyncSession, settings: Settings) -> list[SigningKey]:
    """The keys whose tokens may still be live: the current one and recently retired ones."""
    statement = (
        select(SigningKey)
        .where(_published(settings))
        .order_by(column_of(SigningKey.created_at).desc())
    )
    return list((await session.execute(statement)).scalars().all())


async def published_public_keys(
    session: AsyncSession, settings: Settings, *, now: datetime
) -> list[tuple[str, str, datetime | None]]:
    """(kid, public JWK, retired_at) of each key published at `now`, private halves unread:
    what a token validator needs."""
    statement = select(
        column_of(SigningKey.kid),
        column_of(SigningKey.public_jwk),
        column_of(SigningKey.retired_at),
    ).where(_published(settings, now))
    return [(kid, jwk, retired_at) for kid, jwk, retired_at in await session.execute(statement)]
