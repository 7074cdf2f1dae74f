"""Access tokens: signing them (embedded mode) and validating them (both modes, one path).

A token is a JWT access token (RFC 9068) signed with an asymmetric key. Validation, whatever the
mode, goes through `TokenValidator.validate`; the modes differ only in where the public keys come
from (`KeySource`: the database, or the identity provider's JWKS URL) and in the claims policy.

Checks, in order, each failure a 401 `invalid_token`:
1. The token is a compact JWS of bounded length whose header names an algorithm on the pinned
   list (never `none`, never an HMAC algorithm) and a `kid`.
2. The `kid` names a known key whose type fits the algorithm (an RSA algorithm needs an RSA key,
   ES256 a P-256 key; a key that declares `alg` or `use` must agree).
3. The signature verifies with that key alone.
4. The `typ` header is accepted by the policy.
5. `iss` and `aud` equal the configured issuer and audience (`aud` may be a list holding it);
   `exp` is required and not past; `nbf` not in the future and `iat` not in the future, each
   with `clock_leeway_seconds` (L) of tolerance: accepted while now < exp + L, nbf - L <= now
   and iat - L <= now (now in whole seconds).
6. The subject and client are 1 to 255 printable ASCII characters; a `role` claim, if present,
   names a role of this service.

Claims policy (see docs/auth.md):
- `typ`: embedded tokens must say `at+jwt` (RFC 9068). External tokens may say `at+jwt`,
  `application/at+jwt` or `JWT`, or nothing: several identity providers mint access tokens
  without RFC 9068's type. Any other type (an ID token's `id+jwt`, a logout token...) is refused.
- Scopes: the `scope` claim (a space-separated string, RFC 9068) and the `scp` claim (a list, or a
  space-separated string) are both read; names this service does not define are ignored.
- Role: the `role` claim. A role caps the scopes: a token never grants a scope its role lacks,
  whatever the identity provider put in it. It fails closed: a `role` claim that is present but
  is not exactly the name of a role of this service (another word, a list, a number, null, an
  empty string) refuses the token. Without a `role` claim, the scopes alone decide.
- Client: `client_id` (RFC 9068), else `azp`, `appid` or `cid`. Subject: `sub`, else the client.
  Each must be 1 to 255 printable ASCII characters (OpenID Connect's limit for `sub`), or the
  token is refused.
- Embedded tokens must carry `sub`, `client_id`, `iat` and `jti` as RFC 9068 requires; external
  tokens need only `iss`, `aud` and `exp` besides a subject or client.
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from joserfc import jws, jwt
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import ECKey, RSAKey
from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError

from app.auth.keys import (
    SIGNING_ALGORITHM,
    private_key_of,
    public_key_from_jwk,
    published_public_keys,
    withdrawn_at,
)
from app.auth.scopes import ROLE_SCOPES, Principal, Role, Scope
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import Unauthorized, Unavailable
from app.models.auth import OAuthClient, SigningKey

REALM = "ippc"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type)
MAX_TOKEN_LENGTH = 8192
# Subjects and client ids: OpenID Connect caps `sub` at 255 ASCII characters, and the audit trail
# stores both in columns of that size. Printable ASCII only (space to tilde): no control
# characters, no NUL (which PostgreSQL cannot store), nothing an identity provider would send.
MAX_IDENTIFIER_LENGTH = 255
_IDENTIFIER = re.compile(rf"[\x20-\x7e]{{1,{MAX_IDENTIFIER_LENGTH}}}")

PublicKey = ECKey | RSAKey

_CURVES = {"ES256": "P-256", "ES384": "P-384"}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})


def bearer_challenge(**params: str) -> str:
    """A `WWW-Authenticate: Bearer` value (RFC 6750 §3)."""
    parts = [f'realm="{REALM}"'] + [f'{name}="{value}"' for name, value in params.items()]
    return "Bearer " + ", ".join(parts)


class InvalidToken(Unauthorized):
    """A token was presented but cannot be accepted (RFC 6750 `invalid_token`)."""

    def __init__(self, description: str) -> None:
        super().__init__(
            f"The access token is not valid: {description}",
            headers={
                "WWW-Authenticate": bearer_challenge(
                    error="invalid_token", error_description=description
                )
            },
        )


class KeySource(Protocol):
    """Where the public keys that verify tokens come from."""

    async def key_for(self, kid: str) -> PublicKey | None: ...


@dataclass(frozen=True)
class ClaimsPolicy:
    algorithms: frozenset[str]
    accepted_types: frozenset[str | None]
    required_claims: frozenset[str]


EMBEDDED_POLICY = ClaimsPolicy(
    algorithms=frozenset({SIGNING_ALGORITHM}),
    accepted_types=frozenset({"at+jwt", "application/at+jwt"}),
    required_claims=frozenset({"iss", "aud", "exp", "iat", "sub", "client_id", "jti"}),
)
EXTERNAL_POLICY = ClaimsPolicy(
    algorithms=frozenset({"RS256", "PS256", "ES256"}),
    accepted_types=frozenset({"at+jwt", "application/at+jwt", "jwt", None}),
    required_claims=frozenset({"iss", "aud", "exp"}),
)


def key_fits(key: PublicKey, algorithm: str) -> bool:
    """Whether `key` may verify a signature made with `algorithm`."""
    if algorithm in _RSA_ALGORITHMS:
        fits = isinstance(key, RSAKey)
    elif algorithm in _CURVES:
        fits = isinstance(key, ECKey) and key.curve_name == _CURVES[algorithm]
    else:
        fits = False
    declared_alg = key.get("alg")
    declared_use = key.get("use")
    return fits and declared_alg in (None, algorithm) and declared_use in (None, "sig")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def scopes_of(claims: dict[str, Any]) -> frozenset[Scope]:
    names = set(_strings(claims.get("scope"))) | set(_strings(claims.get("scp")))
    known = {scope.value for scope in Scope}
    return frozenset(Scope(name) for name in names if name in known)


def role_of(claims: dict[str, Any]) -> Role | None:
    """The token's role: None when it has no `role` claim; a claim that is present but names
    no role of this service (another word, a list, a number, null, "") refuses the token."""
    if "role" not in claims:
        return None
    value = claims["role"]
    if isinstance(value, str) and value in {role.value for role in Role}:
        return Role(value)
    raise InvalidToken("its role claim names no role of this service.")


def _identifier(value: str, what: str) -> str:
    if _IDENTIFIER.fullmatch(value) is None:
        raise InvalidToken(
            f"its {what} is not 1 to {MAX_IDENTIFIER_LENGTH} printable ASCII characters."
        )
    return value


def client_id_of(claims: dict[str, Any]) -> str | None:
    for name in ("client_id", "azp", "appid", "cid"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return _identifier(value, "client id")
    return None


def principal_from(claims: dict[str, Any]) -> Principal:
    client_id = client_id_of(claims)
    sub = claims.get("sub")
    subject = _identifier(sub, "subject") if isinstance(sub, str) and sub else client_id
    if not subject:
        raise InvalidToken("it names neither a subject nor a client.")
    role = role_of(claims)
    scopes = scopes_of(claims)
    if role is not None:
        scopes &= ROLE_SCOPES[role]
    return Principal(subject=subject, client_id=client_id, role=role, scopes=scopes)


def _claims_message(error: JoseError) -> str:
    if isinstance(error, ExpiredTokenError):
        return "it has expired."
    if isinstance(error, MissingClaimError):
        return f"a required claim is missing ({error.description})."
    if isinstance(error, ClaimError):
        if error.claim == "nbf":
            return "it is not valid yet."
        if error.claim == "iat":
            return "it was issued in the future."
        return f"its {error.claim} claim is not accepted."
    return "its claims are not accepted."


# Tokens a validator remembers as verified (most recently used kept), each for its lifetime.
MAX_VERIFIED_TOKENS = 10_000


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    kid: str
    expires: int  # the token's `exp`


class TokenValidator:
    """Validates bearer tokens and says who presented them.

    A token that verified is remembered, with who it names, until it expires: a client presents
    the same token many times, and nothing in it can change. What can change is checked again
    each time, without parsing or verifying anything: that it has not expired (with the same
    leeway), and that its signing key is still published (a withdrawn key stops its tokens at
    once, remembered or not). At most `MAX_VERIFIED_TOKENS` are remembered, the least recently
    used forgotten first; a token that failed is never remembered.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int,
        keys: KeySource,
        policy: ClaimsPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway_seconds = leeway_seconds
        self.keys = keys
        self.policy = policy
        self.clock = clock
        self.verifications = 0
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def validate(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            if known.expires > int(self.clock()) - self.leeway_seconds and (
                await self.keys.key_for(known.kid) is not None
            ):
                self._verified.move_to_end(token)
                return known.principal
            self._verified.pop(token, None)
        principal, kid, expires = await self._verify(token)
        self._verified[token] = _Verified(principal, kid, expires)
        if len(self._verified) > MAX_VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, str, int]:
        """Every check, from the header to the claims: (who, the key's kid, the `exp`)."""
        self.verifications += 1
        header = self._header(token)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.policy.algorithms:
            raise InvalidToken("its signing algorithm is not accepted.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise InvalidToken("it does not name its signing key (kid).")
        key = await self.keys.key_for(kid)
        if key is None:
            raise InvalidToken("its signing key is unknown.")
        if not key_fits(key, algorithm):
            raise InvalidToken("its signing key does not fit its algorithm.")
        try:
            decoded = jwt.decode(token, key, algorithms=[algorithm])
        except JoseError as error:
            raise InvalidToken("its signature does not verify.") from error
        typ = decoded.header.get("typ")
        if (typ.lower() if isinstance(typ, str) else typ) not in self.policy.accepted_types:
            raise InvalidToken("its type (typ) is not an access token's.")
        self._check_claims(decoded.claims)
        return principal_from(decoded.claims), kid, int(decoded.claims["exp"])

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidToken("it is not a signed JWT.")
        try:
            header = dict(jws.extract_compact(token.encode("ascii")).headers())
        except (JoseError, ValueError, UnicodeError) as error:
            raise InvalidToken("it is not a signed JWT.") from error
        return header

    def _check_claims(self, claims: dict[str, Any]) -> None:
        options: dict[str, Any] = {
            name: {"essential": True} for name in self.policy.required_claims
        }
        options["iss"] = {"essential": True, "value": self.issuer}
        options["aud"] = {"essential": True, "value": self.audience}
        registry = jwt.JWTClaimsRegistry(
            now=int(self.clock()), leeway=self.leeway_seconds, **options
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise InvalidToken(_claims_message(error)) from error


# How stale the embedded issuer's key snapshot may grow: the bound on the time an instance takes
# to notice that another one retired, withdrew or deleted a key.
KEY_REFRESH_SECONDS = 5.0
# At most one refresh per this many seconds is caused by tokens naming kids the snapshot lacks
# (a key just made by another instance, or forgeries): a flood of made-up kids costs one query
# a second, whatever its size.
UNKNOWN_KID_REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class _PublishedKey:
    key: PublicKey
    # When the key stops verifying (its retirement plus the publication window), as a POSIX
    # time; None while it is the current key.
    until: float | None


@dataclass(frozen=True)
class _KeySnapshot:
    keys: dict[str, _PublishedKey]
    # When the query that read it began (monotonic): everything committed before is in it.
    taken_at: float


class DatabaseKeys:
    """The embedded issuer's published keys: one snapshot of the whole set, kept in memory.

    - A warm validator answers from the snapshot without a query. Each key carries the time at
      which its publication window ends, and stops verifying then, to the second, whatever the
      snapshot's age.
    - The snapshot is read again when it is `refresh_seconds` old (`KEY_REFRESH_SECONDS`): a key
      another instance retired, withdrew or deleted is noticed within that time.
    - A `kid` the snapshot lacks makes the request wait for a snapshot read after it arrived (a
      key just made by another instance is found), but such reads happen at most once every
      `unknown_kid_refresh_seconds` (`UNKNOWN_KID_REFRESH_SECONDS`): a request comes in line for
      the next one rather than being refused, and a flood of made-up kids costs one query per
      interval. It waits without holding the lock, so valid tokens never wait behind it.
    - Refreshes are single-flight: concurrent requests wait for one read. A read that fails
      answers 503 to the requests that waited for it; the snapshot already held is kept.
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        refresh_seconds: float = KEY_REFRESH_SECONDS,
        unknown_kid_refresh_seconds: float = UNKNOWN_KID_REFRESH_SECONDS,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`clock` (POSIX time) ends publication windows; `monotonic` times the refreshes, so
        that a step of the system clock neither freezes nor floods them."""
        if not 0 < unknown_kid_refresh_seconds <= refresh_seconds:
            raise ValueError("unknown kids refresh at most as often as stale snapshots")
        self.database = database
        self.settings = settings
        self.refresh_seconds = refresh_seconds
        self.unknown_kid_refresh_seconds = unknown_kid_refresh_seconds
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.refreshes = 0
        self._snapshot: _KeySnapshot | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> PublicKey | None:
        arrived = self.monotonic()
        snapshot = self._snapshot
        if snapshot is None or arrived - snapshot.taken_at >= self.refresh_seconds:
            # Stale: any snapshot younger than the bound will do, one being read now included.
            fresh_after = math.nextafter(arrived - self.refresh_seconds, math.inf)
            snapshot = await self._snapshot_since(fresh_after, arrived)
        published = snapshot.keys.get(kid)
        if published is None:
            # An unknown kid: only a snapshot read after this request arrived can have it.
            snapshot = await self._snapshot_since(arrived, arrived)
            published = snapshot.keys.get(kid)
        if published is None or (published.until is not None and self.clock() >= published.until):
            return None
        return published.key

    async def _snapshot_since(self, since: float, arrived: float) -> _KeySnapshot:
        """A snapshot read at or after `since`: the one held, the one another request is reading,
        or a new one, read no sooner than `unknown_kid_refresh_seconds` after the previous
        attempt. A read that failed after the request `arrived` is its 503.

        A request that must wait for that interval waits outside the lock: requests whose
        snapshot is merely stale (valid tokens) never queue behind those that name unknown
        kids (possibly a flood of forged ones)."""
        while True:
            async with self._lock:
                snapshot = self._snapshot
                if snapshot is not None and snapshot.taken_at >= since:
                    return snapshot
                if self._failed_at is not None and self._failed_at >= arrived:
                    raise _keys_unavailable()
                previous = max(
                    snapshot.taken_at if snapshot is not None else -math.inf,
                    self._failed_at if self._failed_at is not None else -math.inf,
                )
                wait = min(
                    self.unknown_kid_refresh_seconds,
                    previous + self.unknown_kid_refresh_seconds - self.monotonic(),
                )
                if wait <= 0:
                    return await self._read()
            await self.sleep(wait)

    async def _read(self) -> _KeySnapshot:
        taken_at = self.monotonic()
        now = datetime.fromtimestamp(self.clock(), UTC)
        self.refreshes += 1
        try:
            async with self.database.session(write=False) as session:
                rows = await published_public_keys(session, self.settings, now=now)
        except (SQLAlchemyError, OSError) as error:
            self._failed_at = taken_at
            raise _keys_unavailable() from error
        known = self._snapshot.keys if self._snapshot is not None else {}
        keys: dict[str, _PublishedKey] = {}
        for kid, jwk, retired_at in rows:
            # A key's material never changes under its kid: parse it once.
            key = known[kid].key if kid in known else public_key_from_jwk(jwk)
            until = withdrawn_at(retired_at, self.settings)
            keys[kid] = _PublishedKey(key, None if until is None else until.timestamp())
        self._snapshot = _KeySnapshot(keys, taken_at)
        self._failed_at = None
        return self._snapshot


def _keys_unavailable() -> Unavailable:
    return Unavailable(
        "The signing keys cannot be read from the database.", headers={"Retry-After": "5"}
    )


def sign_access_token(
    *,
    key: SigningKey,
    key_secret: SecretStr | None,
    settings: Settings,
    client: OAuthClient,
    scopes: Iterable[Scope],
    now: int | None = None,
) -> str:
    """An RFC 9068 access token for `client`, living `access_token_ttl_seconds`."""
    issued_at = int(time.time()) if now is None else now
    claims = {
        "iss": settings.issuer,
        "sub": str(client.id),
        "aud": settings.audience,
        "exp": issued_at + settings.access_token_ttl_seconds,
        "iat": issued_at,
        "nbf": issued_at,
        "jti": secrets.token_urlsafe(16),
        "client_id": str(client.id),
        "scope": " ".join(sorted(scope.value for scope in scopes)),
        "role": client.role,
    }
    header = {"alg": key.alg, "typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
    return jwt.encode(header, claims, private_key_of(key, key_secret), algorithms=[key.alg])
