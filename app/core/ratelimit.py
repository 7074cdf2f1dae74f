"""Rate limits (OWASP API4): who may send how many requests, counted by the `limits` library.

Four policies, each a fixed window of the `limits` library in one storage: the process's memory
by default, or Redis when `IPPC_RATE_LIMIT_STORAGE` names one, so that every instance counts
against the same budgets.

A count is what the library's `FixedWindowRateLimiter.hit` does, under the same key: one `incr`
of the storage, which starts the window at the first request. The strategy would then read the
count back and the window's end (`get_window_stats`): three calls to the storage, each making
the key again. The limiter uses the count the `incr` answered and asks only for the window's
end: two calls (two round trips to Redis instead of three), and the key made once. Every
request pays this, a health probe included (measured in docs/performance.md).

- `anonymous`: requests without a valid token (failed validations included), per caller
  address;
- `client`: requests with a valid token, per client (the token's subject when it names none);
- `failed-auth-client` and `failed-auth-address`: token requests whose client authentication
  failed, per client id given and per caller address.

Every request but CORS preflights is counted once, against one budget, the health probes and
the edge's early refusals included (so that every answer the contract lists carries the
fields), and before anything else reads it: the edge (`core/edge.py`) counts each request as it
arrives. A request with a bearer token to a path whose routes check tokens is counted against
its client when the token is valid (`Identify`: the access layer's validator, which remembers
the tokens it verified), else against its address; so is every other request. A spent budget
is refused before the request's body is read or parsed: no caller can make the service work
past its budget, whatever it sends.

What each count decided is kept on the request (`DECISIONS_KEY` in the ASGI scope's state) and
the edge writes it into every response as the IETF `RateLimit-Policy` and `RateLimit` fields
(draft-ietf-httpapi-ratelimit-headers: `"anonymous";q=120;w=60` and `"anonymous";r=42;t=17`).
A spent budget is a 429 problem (`/problems/too-many-requests`) with `Retry-After`.

A storage that fails (Redis down, or going away) allows the request: the first failure of an
outage is logged as an error, the storage is left alone for `STORAGE_RETRY_SECONDS`, then tried
again, and its return is logged. Short socket timeouts and no retries bound what one request
waits. Rate limiting must never turn into the outage itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from redis.asyncio import ConnectionPool
from starlette.types import Scope

from app.core.config import Settings
from app.core.errors import TOO_MANY_REQUESTS, DomainError

logger = logging.getLogger("app.ratelimit")

# Keys of the ASGI scope's state (`request.state`): the decisions taken for this request, the
# caller's address as the edge resolved it, and the mark of a request left to the access layer.
DECISIONS_KEY = "rate_limit_decisions"
ADDRESS_KEY = "rate_limit_address"

# A storage that failed is not asked again for this long: requests are allowed meanwhile.
STORAGE_RETRY_SECONDS = 5.0
# What one call to Redis may wait, to connect and for an answer; no retries.
STORAGE_TIMEOUT_SECONDS = 0.25

# Keys longer than this (a made-up client id of a kilobyte) are stored as their digest.
MAX_KEY_LENGTH = 64

# The largest quota and window a limit may have, so that the RateLimit fields and Retry-After
# have the bounds the contract states (`MAX_FIELD_LENGTH`): a billion requests, a year.
MAX_QUOTA = 1_000_000_000
MAX_WINDOW_SECONDS = 366 * 24 * 3600


ANONYMOUS = "anonymous"
CLIENT = "client"
FAILED_AUTH_CLIENT = "failed-auth-client"
FAILED_AUTH_ADDRESS = "failed-auth-address"
POLICY_NAMES = (ANONYMOUS, CLIENT, FAILED_AUTH_CLIENT, FAILED_AUTH_ADDRESS)

# The longest `RateLimit-Policy` or `RateLimit` value: every policy at once, each with the
# largest quota (or requests left) and window (or seconds left), as `header_values` writes them.
_LONGEST_ITEM = len(f'"{max(POLICY_NAMES, key=len)}";q={MAX_QUOTA};w={MAX_WINDOW_SECONDS}')
MAX_FIELD_LENGTH = len(POLICY_NAMES) * _LONGEST_ITEM + (len(POLICY_NAMES) - 1) * len(", ")


def parse_limit(text: str) -> RateLimitItem:
    """One limit in the `limits` notation (`120/minute`, `10 per 30 seconds`); ValueError else."""
    try:
        item = parse(text)
    except ValueError as error:
        raise ValueError(
            f"{text!r} is not a rate limit: write it as 120/minute or 10 per 30 seconds"
        ) from error
    if item.amount < 1:
        raise ValueError(f"{text!r} allows no request at all")
    if item.amount > MAX_QUOTA or item.get_expiry() > MAX_WINDOW_SECONDS:
        raise ValueError(
            f"{text!r} is beyond the largest limit: at most {MAX_QUOTA} requests, "
            "in a window of at most a year"
        )
    return item


class Policy:
    """A named quota: `quota` requests every `window` seconds."""

    __slots__ = ("header_item", "item", "name", "quota", "window")

    def __init__(self, name: str, item: RateLimitItem) -> None:
        self.name = name
        self.item = item
        self.quota = item.amount
        self.window = item.get_expiry()
        # This policy as a member of `RateLimit-Policy` (a structured-field list item).
        self.header_item = f'"{name}";q={self.quota};w={self.window}'


@dataclass(slots=True)
class Decision:
    """What one count said: allowed or not, the quota left and the seconds until it is whole."""

    policy: Policy
    allowed: bool
    remaining: int
    reset: int

    @property
    def header_item(self) -> str:
        """This decision as a member of `RateLimit`."""
        return f'"{self.policy.name}";r={self.remaining};t={self.reset}'

    @property
    def retry_after(self) -> int:
        return max(1, self.reset)


def header_values(decisions: Iterable[Decision]) -> tuple[bytes, bytes]:
    """The `RateLimit-Policy` and `RateLimit` values of a response."""
    listed = list(decisions)
    if len(listed) == 1:  # the common case
        only = listed[0]
        return only.policy.header_item.encode("ascii"), only.header_item.encode("ascii")
    policy = ", ".join(decision.policy.header_item for decision in listed)
    current = ", ".join(decision.header_item for decision in listed)
    return policy.encode("ascii"), current.encode("ascii")


class RateLimited(DomainError):
    """A budget is spent: 429 with `Retry-After` (the edge adds the RateLimit fields)."""

    kind = TOO_MANY_REQUESTS

    def __init__(self, decision: Decision) -> None:
        super().__init__(
            f"The {decision.policy.name} rate limit allows {decision.policy.quota} requests "
            f"every {decision.policy.window} seconds: retry in {decision.retry_after} seconds.",
            headers={"Retry-After": str(decision.retry_after)},
        )


# --- The caller's address --------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """IP addresses and CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`); ValueError on anything
    else."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _address(text: str) -> Address | None:
    """An address as it may appear in `X-Forwarded-For`, or None when it is not one."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _key_of(address: Address) -> str:
    """The budget an address counts against: itself, or for IPv6 its /64, which one
    subscriber usually holds whole (counting each address would give them 2^64 budgets)."""
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


@dataclass(frozen=True)
class Addresses:
    """The caller's address: the peer's, or behind trusted proxies, the right-most address of
    `X-Forwarded-For` that is not itself a trusted proxy's."""

    trusted: tuple[Network, ...] = ()

    def _is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def of(self, scope: Scope, forwarded_for: Sequence[bytes] = ()) -> str:
        client = scope.get("client")
        peer = client[0] if client else ""
        if not self.trusted and ":" not in peer:  # the common case: an IPv4 peer, no proxies
            return peer or "unknown"
        address = _address(peer)
        if address is None:
            return peer or "unknown"
        if forwarded_for and self._is_trusted(address):
            # Each hop appends the address it received the request from: walk back from the
            # last, past the trusted proxies. An entry that is not an address ends the walk,
            # and the request counts against the last address found (a trusted proxy's).
            entries = b",".join(forwarded_for).decode("latin-1").split(",")
            for entry in reversed(entries):
                hop = _address(entry)
                if hop is None:
                    break
                address = hop
                if not self._is_trusted(address):
                    break
        return _key_of(address)


# --- The limiter -----------------------------------------------------------------------------


def _storage(settings: Settings) -> tuple[Storage, ConnectionPool | None]:
    """The configured storage, and the Redis connections it uses (closed with the app)."""
    if settings.rate_limit_storage is None:
        return MemoryStorage(), None
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    url = settings.rate_limit_storage.get_secret_value()
    pool = ConnectionPool.from_url(
        url,
        socket_timeout=STORAGE_TIMEOUT_SECONDS,
        socket_connect_timeout=STORAGE_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
    )
    options: dict[str, Any] = {"connection_pool": pool}
    storage = RedisStorage(
        "async+" + url,
        wrap_exceptions=True,
        implementation="redispy",
        key_prefix=settings.rate_limit_key_prefix,
        **options,
    )
    return storage, pool


def _stored_key(key: str) -> str:
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class RateLimits:
    """The application's limiter: its policies, its storage, and how it finds the caller's
    address. One per application (`app.state.rate_limits`), None when limits are off."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.policies = {
            ANONYMOUS: Policy(ANONYMOUS, parse_limit(settings.rate_limit_anonymous)),
            CLIENT: Policy(CLIENT, parse_limit(settings.rate_limit_client)),
            FAILED_AUTH_CLIENT: Policy(
                FAILED_AUTH_CLIENT, parse_limit(settings.rate_limit_token_failures)
            ),
            FAILED_AUTH_ADDRESS: Policy(
                FAILED_AUTH_ADDRESS, parse_limit(settings.rate_limit_token_failures)
            ),
        }
        self.addresses = Addresses(parse_networks(settings.trusted_proxies))
        self._pool: ConnectionPool | None = None
        if storage is None:
            storage, self._pool = _storage(settings)
        self.storage = storage
        # Redis tells a window's end in whole seconds, rounded to the nearest (its `TTL`): the
        # end may be up to half a second later than said, and a `Retry-After` made from it one
        # second short. Half a second more is never short (memory tells the end exactly).
        self._end_slack = 0.5 if isinstance(storage, RedisStorage) else 0.0
        self._down_until = 0.0
        self._outage = False

    async def close(self) -> None:
        """Close the storage's connections (Redis); memory has none."""
        if self._pool is not None:
            await self._pool.disconnect()

    def _failed(self, error: Exception) -> None:
        self._down_until = time.monotonic() + STORAGE_RETRY_SECONDS
        if not self._outage:
            self._outage = True
            logger.error(
                "the rate-limit storage failed (%s): requests are allowed without limits until "
                "it answers again; it is tried again every %s s",
                type(error).__name__,
                STORAGE_RETRY_SECONDS,
            )

    def _answered(self) -> None:
        if self._outage:
            self._outage = False
            logger.warning("the rate-limit storage answers again: limits apply again")

    async def _ask(self, policy: Policy, key: str, *, hit: bool) -> Decision | None:
        if self._down_until and time.monotonic() < self._down_until:
            return None
        # The key `FixedWindowRateLimiter` would use for this policy and caller.
        stored = policy.item.key_for(policy.name, _stored_key(key))
        try:
            if hit:
                count = await self.storage.incr(stored, policy.window)
            else:
                count = await self.storage.get(stored)
            ends_at = await self.storage.get_expiry(stored)
        except Exception as error:  # any failure of the storage allows the request
            self._failed(error)
            return None
        self._answered()
        remaining = max(0, policy.quota - count)
        # A count is allowed up to the quota; a peek, while some of it is left.
        allowed = count <= policy.quota if hit else remaining > 0
        reset = max(0, math.ceil(ends_at + self._end_slack - time.time()))
        return Decision(policy, allowed, remaining, min(reset, policy.window))

    async def hit(self, policy_name: str, key: str) -> Decision | None:
        """Count one request against `key`'s budget of the policy; None when the storage
        failed (the request is allowed)."""
        return await self._ask(self.policies[policy_name], key, hit=True)

    async def peek(self, policy_name: str, key: str) -> Decision | None:
        """What is left of `key`'s budget, counting nothing (allowed: some is left)."""
        return await self._ask(self.policies[policy_name], key, hit=False)


# --- What the edge and the access layer call ------------------------------------------------


# The client a bearer token speaks for (its `client_id`, or its subject when it names none), or
# None when the token is not valid: given the request's scope and the token.
Identify = Callable[[Scope, str], Awaitable[str | None]]


def decisions_of(state: dict[str, Any]) -> dict[str, Decision]:
    decisions: dict[str, Decision] | None = state.get(DECISIONS_KEY)
    if decisions is None:
        decisions = state[DECISIONS_KEY] = {}
    return decisions


async def count(
    limits: RateLimits, state: dict[str, Any], policy_name: str, key: str
) -> Decision | None:
    """Count the request against `key`'s budget and keep the decision for its headers."""
    decision = await limits.hit(policy_name, key)
    if decision is not None:
        decisions_of(state)[policy_name] = decision
    return decision


class TokenFailures:
    """The budgets of failed client authentications at the token endpoint, for one request:
    its client id's and its address's. Both are checked before the secret is, so that a
    spent budget stops the guessing even of the right secret, until its window ends."""

    def __init__(self, limits: RateLimits | None, state: dict[str, Any]) -> None:
        self.limits = limits
        self.state = state

    @classmethod
    def of(cls, scope: Scope) -> TokenFailures:
        state: dict[str, Any] = scope.get("state", {})
        limits: RateLimits | None = getattr(scope["app"].state, "rate_limits", None)
        return cls(limits if ADDRESS_KEY in state else None, state)

    def _budgets(self, client_id: str) -> list[tuple[str, str]]:
        return [(FAILED_AUTH_CLIENT, client_id), (FAILED_AUTH_ADDRESS, self.state[ADDRESS_KEY])]

    async def check(self, client_id: str) -> None:
        """RateLimited when either budget is spent."""
        if self.limits is None:
            return
        refused: list[Decision] = []
        for policy_name, key in self._budgets(client_id):
            decision = await self.limits.peek(policy_name, key)
            if decision is not None:
                decisions_of(self.state)[policy_name] = decision
                if not decision.allowed:
                    refused.append(decision)
        if refused:
            raise RateLimited(max(refused, key=lambda decision: decision.reset))

    async def failed(self, client_id: str) -> None:
        """Count a failed authentication against both budgets."""
        if self.limits is None:
            return
        for policy_name, key in self._budgets(client_id):
            decision = await self.limits.hit(policy_name, key)
            if decision is not None:
                decisions_of(self.state)[policy_name] = decision
