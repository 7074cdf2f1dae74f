"""The identity provider's keys (external mode): its JWKS, fetched with httpx and cached.

- The set is fetched on first need and kept; it is fetched again when it is older than
  `max_age_seconds` (so that withdrawn keys stop being accepted) or when a token names a `kid`
  the cached set lacks (the provider has rotated its keys).
- Fetches are rate-limited: at most one every `min_refetch_seconds`, whatever the number of
  tokens with unknown `kid`s, so that a flood of forged tokens cannot turn into a flood of
  requests to the provider. Concurrent misses wait for one fetch.
- A failed fetch keeps the keys already known; tokens signed by unknown keys are refused.
- Keys without a `kid`, keys for encryption (`use: enc`) and key types other than RSA and EC
  are ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

from app.auth.tokens import PublicKey

logger = logging.getLogger("app.auth")

MAX_JWKS_BYTES = 256 * 1024


def parse_jwks(document: Any) -> dict[str, PublicKey]:
    keys: dict[str, PublicKey] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("a JWKS is an object with a `keys` list")
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ("RSA", "EC"):
            continue
        public = {name: value for name, value in entry.items() if name not in ("d", "p", "q")}
        try:
            key = JWKRegistry.import_key(public)
        except (JoseError, ValueError, TypeError):
            logger.warning("ignoring a JWKS key that cannot be read", extra={"kid": kid})
            continue
        if isinstance(key, ECKey | RSAKey):
            keys[kid] = key
    return keys


class RemoteJWKS:
    """A JWKS URL's keys, cached, refetched on unknown `kid` at most every few seconds."""

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        min_refetch_seconds: float = 30.0,
        max_age_seconds: float = 3600.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.transport = transport
        self.min_refetch_seconds = min_refetch_seconds
        self.max_age_seconds = max_age_seconds
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    def _stale(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self.max_age_seconds

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refetch_seconds

    async def key_for(self, kid: str) -> PublicKey | None:
        now = self.clock()
        key = self._keys.get(kid)
        if key is not None and not self._stale(now):
            return key
        async with self._lock:
            now = self.clock()
            key = self._keys.get(kid)
            if (key is None or self._stale(now)) and self._may_fetch(now):
                await self._fetch(now)
                key = self._keys.get(kid)
        return key

    async def _fetch(self, now: float) -> None:
        self._attempted_at = now
        self.fetches += 1
        try:
            async with httpx.AsyncClient(
                transport=self.transport, timeout=self.timeout_seconds, follow_redirects=False
            ) as http:
                response = await http.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise ValueError("the JWKS is too large")
            self._keys = parse_jwks(response.json())
            self._fetched_at = now
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("cannot fetch the identity provider's JWKS: %s", error)
