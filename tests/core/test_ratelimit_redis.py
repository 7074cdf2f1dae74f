"""Rate limits in a real Redis (`IPPC_RATE_LIMIT_STORAGE`): counted there, one budget for every
instance, and a Redis that cannot be reached, or goes away, or hangs, allows the requests with one
error logged, never a 500 and never a wait.

The Redis is `IPPC_TEST_REDIS_URL` (default redis://127.0.0.1:6379/0; `.ci/run` starts one). Each
test counts under a key prefix of its own and removes its keys. Outside CI a machine without a
Redis skips these tests, saying why; in CI they fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio
from fastapi import FastAPI
from redis.exceptions import RedisError

from app.core import ratelimit
from app.main import create_app
from tests.conftest import free_port, register_client
from tests.core.test_ratelimit import (
    PUBLIC,
    assert_too_many,
    clients_of,
    limited_settings,
    remaining,
)

REDIS_URL = os.environ.get("IPPC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the test Redis; its keys are removed after."""
    client = redis.asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        message = f"no Redis answers at {REDIS_URL} ({type(error).__name__})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must run these tests (.ci/run starts Redis)")
        pytest.skip(message + "; .ci/run starts one")
    name = f"ippc-test-{uuid.uuid4().hex}"
    try:
        yield name
    finally:
        keys = [key async for key in client.scan_iter(match=f"{name}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def stored_keys(prefix: str) -> list[bytes]:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        return [key async for key in client.scan_iter(match=f"{prefix}:*")]
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def instance(database_url: str, **overrides: Any) -> AsyncIterator[FastAPI]:
    app = create_app(limited_settings(database_url, **overrides))
    try:
        yield app
    finally:
        await app.state.rate_limits.close()
        await app.state.database.dispose()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def at(self, level: int) -> list[logging.LogRecord]:
        return [record for record in self.records if record.levelno == level]


@pytest.fixture
def logged() -> Iterator[Records]:
    """What the rate limits log (the application replaces the root's handlers: listen here)."""
    handler = Records()
    limiter_logger = logging.getLogger("app.ratelimit")
    limiter_logger.addHandler(handler)
    try:
        yield handler
    finally:
        limiter_logger.removeHandler(handler)


async def test_redis_counts_and_refuses(database_url: str, prefix: str) -> None:
    async with (
        instance(database_url, rate_limit_storage=REDIS_URL, rate_limit_key_prefix=prefix) as app,
        clients_of(app) as caller,
    ):
        http = await caller("192.0.2.1")
        for left in (2, 1, 0):
            response = await http.get(PUBLIC)
            assert response.status_code == 200
            assert response.headers["ratelimit-policy"] == '"anonymous";q=3;w=60'
            assert remaining(response, "anonymous") == left
        assert_too_many(await http.get(PUBLIC), "anonymous")
        assert (await (await caller("192.0.2.2")).get(PUBLIC)).status_code == 200
    assert len(await stored_keys(prefix)) == 2  # one budget per address, in Redis


async def test_instances_share_one_budget(database_url: str, prefix: str) -> None:
    """Two instances of the service on one Redis: the quota is the deployment's, not each
    process's."""
    shared = {"rate_limit_storage": REDIS_URL, "rate_limit_key_prefix": prefix}
    async with (
        instance(database_url, **shared) as first,
        instance(database_url, **shared) as second,
        clients_of(first) as first_caller,
        clients_of(second) as second_caller,
    ):
        one, other = await first_caller("192.0.2.9"), await second_caller("192.0.2.9")
        assert remaining(await one.get(PUBLIC), "anonymous") == 2
        assert remaining(await other.get(PUBLIC), "anonymous") == 1
        assert remaining(await one.get(PUBLIC), "anonymous") == 0
        assert_too_many(await other.get(PUBLIC), "anonymous")
        assert_too_many(await one.get(PUBLIC), "anonymous")


async def test_failed_token_requests_are_counted_across_instances(
    database_url: str, prefix: str
) -> None:
    shared = {
        "rate_limit_storage": REDIS_URL,
        "rate_limit_key_prefix": prefix,
        "rate_limit_anonymous": "100/minute",
    }
    data = {"grant_type": "client_credentials"}
    async with (
        instance(database_url, **shared) as first,
        instance(database_url, **shared) as second,
        clients_of(first) as first_caller,
        clients_of(second) as second_caller,
    ):
        client_id, secret = await register_client(first, "secretariat")
        for caller in (first_caller, second_caller):
            guess = await (await caller(f"203.0.113.{uuid.uuid4().int % 200}")).post(
                "/oauth/token", data=data, auth=(client_id, "wrong")
            )
            assert guess.status_code == 401
        right = await (await first_caller("198.51.100.1")).post(
            "/oauth/token", data=data, auth=(client_id, secret)
        )
        assert_too_many(right, "failed-auth-client")


async def test_an_unreachable_redis_allows_requests_and_logs_once(
    database_url: str, logged: Records
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    async with instance(database_url, rate_limit_storage=closed) as app, clients_of(app) as caller:
        http = await caller()
        for _ in range(6):
            response = await http.get(PUBLIC)
            assert response.status_code == 200
            assert "ratelimit" not in response.headers
    errors = logged.at(logging.ERROR)
    assert len(errors) == 1
    assert "allowed" in errors[0].getMessage()


class Relay:
    """A TCP relay to the test Redis that can be stopped and started again on its port: a
    Redis that goes away, and comes back. `hang=True`: it takes connections and never
    answers (a Redis that hangs)."""

    def __init__(self, *, hang: bool = False) -> None:
        self.port = free_port()
        self.hang = hang
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()
        self.writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        if self.hang:
            await reader.read()  # until the client gives up
            writer.close()
            return
        target = redis.asyncio.connection.parse_url(REDIS_URL)
        upstream_reader, upstream_writer = await asyncio.open_connection(
            target.get("host", "127.0.0.1"), target.get("port", 6379)
        )
        self.writers.add(upstream_writer)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def test_a_redis_that_goes_away_allows_requests_until_it_returns(
    database_url: str, prefix: str, logged: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "STORAGE_RETRY_SECONDS", 0.0)  # try it again at once
    relay = Relay()
    await relay.start()
    async with (
        instance(database_url, rate_limit_storage=relay.url, rate_limit_key_prefix=prefix) as app,
        clients_of(app) as caller,
    ):
        http = await caller()
        assert remaining(await http.get(PUBLIC), "anonymous") == 2
        await relay.stop()
        for _ in range(5):
            response = await http.get(PUBLIC)
            assert response.status_code == 200
            assert "ratelimit" not in response.headers
        assert len(logged.at(logging.ERROR)) == 1
        await relay.start()
        back = await http.get(PUBLIC)
        assert remaining(back, "anonymous") == 1  # the budget kept in Redis, as it was
        assert len(logged.at(logging.WARNING)) == 1
        assert remaining(await http.get(PUBLIC), "anonymous") == 0
        assert_too_many(await http.get(PUBLIC), "anonymous")
    await relay.stop()


async def test_a_redis_that_hangs_costs_a_request_no_more_than_the_timeout(
    database_url: str, logged: Records
) -> None:
    relay = Relay(hang=True)
    await relay.start()
    async with (
        instance(database_url, rate_limit_storage=relay.url) as app,
        clients_of(app) as caller,
    ):
        http = await caller()
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = await http.get(PUBLIC)
        assert first.status_code == 200
        assert loop.time() - started < 1 + ratelimit.STORAGE_TIMEOUT_SECONDS
        # While the storage rests, requests do not wait on it at all.
        started = loop.time()
        for _ in range(5):
            assert (await http.get(PUBLIC)).status_code == 200
        assert loop.time() - started < ratelimit.STORAGE_TIMEOUT_SECONDS
    assert len(logged.at(logging.ERROR)) == 1
    await relay.stop()


async def test_the_window_left_is_never_told_short(prefix: str) -> None:
    """Redis tells a window's end in whole seconds: 0.6 s into a window of 10, about 9.4 s are
    left, and the fields must say 10 (a client that waits 9 would be refused again)."""
    settings = limited_settings(
        "sqlite:///unused.db",
        rate_limit_storage=REDIS_URL,
        rate_limit_key_prefix=prefix,
        rate_limit_anonymous="5 per 10 seconds",
    )
    limits = ratelimit.RateLimits(settings)
    try:
        assert await limits.hit(ratelimit.ANONYMOUS, "192.0.2.1") is not None
        await asyncio.sleep(0.6)
        decision = await limits.hit(ratelimit.ANONYMOUS, "192.0.2.1")
        assert decision is not None
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
            left_ms = await client.pttl(keys[0])
        finally:
            await client.aclose()
        assert 8_000 < left_ms < 9_500
        assert decision.reset >= left_ms / 1000
        assert decision.reset <= 10
    finally:
        await limits.close()
