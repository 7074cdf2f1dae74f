"""Three `ippc serve` processes against one PostgreSQL database and one Redis: the deployment of
docs/performance.md ("Many instances"), started once for the tests of this package.

The database is made for the run (a random name on the test server, `IPPC_TEST_POSTGRES_URL`)
and starts empty: the instances migrate it themselves. So that their start-ups really meet at
the migration, the fixture holds the migration's lock (as an instance still migrating would)
while it starts the three processes, and lets it go only once all three wait on it.

The rate limits count in the test Redis (`IPPC_TEST_REDIS_URL`, default
redis://127.0.0.1:6379/0) under a key prefix of this run's own, with a small anonymous budget
(`ANONYMOUS_LIMIT`). The instances trust 127.0.0.1 as their proxy, as a deployment trusts the
proxy in front of it: every request the tests send carries an `X-Forwarded-For` address of its
own, unless a test sets one, so that only the rate limits' test spends a caller's budget.
Outside CI a machine without Redis skips these tests, saying why; in CI they fail instead.

The processes start from an empty directory (no `.env`) with none of this process's `IPPC_`
settings: nothing they share with another run but the servers. They are stopped, the database
dropped and the Redis keys removed at the end, whatever happened.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest
import redis
from redis.exceptions import RedisError

from app.auth.clients import create_client
from app.auth.scopes import Role
from app.core.migrate import MIGRATION_LOCK_KEY
from app.core.tracking import set_actor
from bench.servers import stop_process
from tests.conftest import (
    IPPC,
    POSTGRES_ADMIN_URL,
    PUBLIC_BASE_URL,
    TEST_OPERATOR,
    PostgresServer,
    clean_environment,
    free_port,
    null_pool_database,
)

REDIS_URL = os.environ.get("IPPC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
INSTANCES = 3
ANONYMOUS_LIMIT = 5
START_SECONDS = 60.0
BUREAU_MEMBERS = ("Ana Ortiz", "Ben Mwangi", "Chen Li")

# Addresses the requests come from, behind the trusted proxy: one of its own for each request
# (198.18.0.0/15 is reserved for tests of network devices).
_addresses = itertools.count()


def next_address() -> str:
    number = next(_addresses)
    return f"198.18.{number // 254 % 256}.{number % 254 + 1}"


async def _from_an_address(request: httpx.Request) -> None:
    if "x-forwarded-for" not in request.headers:
        request.headers["X-Forwarded-For"] = next_address()


def http_client() -> httpx.AsyncClient:
    """An HTTP client for the instances: real connections, each request from an address of its
    own behind the trusted proxy unless it says otherwise."""
    return httpx.AsyncClient(
        timeout=30, event_hooks={"request": [_from_an_address]}, follow_redirects=False
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_header(token: str) -> dict[str, Any]:
    """The JOSE header of a JWT (its `kid`, `alg`, `typ`)."""
    encoded = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    )
    return decoded


async def fetch_token(http: httpx.AsyncClient, base: str, credentials: dict[str, str]) -> str:
    """An access token from the token endpoint of the instance at `base`."""
    response = await http.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials["client_id"], credentials["client_secret"]),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@dataclass
class Instance:
    base: str
    process: subprocess.Popen[str]
    log_path: Path
    log_file: IO[str]

    def log(self) -> list[dict[str, Any]]:
        """The JSON lines the process wrote to stderr so far."""
        self.log_file.flush()
        entries = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
        return entries

    def tail(self, lines: int = 40) -> str:
        self.log_file.flush()
        return "\n".join(self.log_path.read_text(encoding="utf-8").splitlines()[-lines:])


@dataclass(repr=False)  # its environment holds the key secret
class Cluster:
    """The three running instances and what the tests need to drive them."""

    database_url: str
    environment: dict[str, str]
    directory: Path
    redis_prefix: str
    instances: list[Instance] = field(default_factory=list)
    # How many instances waited on the migration lock at once while the fixture held it.
    migration_waiters: int = 0
    # How many first token requests waited at once to read the signing keys (`_first_tokens`).
    key_waiters: int = 0
    # The instances that ended while starting: address -> the end of their log.
    exited: dict[str, str] = field(default_factory=dict)
    # Clients of the embedded issuer: "secretariat" or a Bureau member's name ->
    # {"client_id", "client_secret"}.
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    # Bearer headers: "secretariat" (a token from the first instance), and each Bureau member's,
    # each from the instance of the same rank.
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def bases(self) -> list[str]:
        return [instance.base for instance in self.instances]

    def ippc(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """The `ippc` command against the instances' database and settings."""
        return subprocess.run(
            [*IPPC, *arguments],
            cwd=self.directory,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    async def query(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """Rows of a statement read directly from the instances' database."""
        connection = await asyncpg.connect(self.database_url)
        try:
            rows: list[asyncpg.Record] = await connection.fetch(sql, *arguments)
            return rows
        finally:
            await connection.close()


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (RedisError, OSError) as error:
        client.close()
        message = f"no Redis answers at {REDIS_URL} ({type(error).__name__})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must run these tests (.ci/run starts Redis)")
        pytest.skip(message + "; .ci/run starts one")
    return client


def _environment(database_url: str, prefix: str) -> dict[str, str]:
    return clean_environment(
        DATABASE_URL=database_url,
        IPPC_ENVIRONMENT="test",
        # The migrations' and the requests' lines: what the migration test reads.
        IPPC_LOG_LEVEL="INFO",
        IPPC_BASE_URL=PUBLIC_BASE_URL,
        IPPC_ISSUER=PUBLIC_BASE_URL,
        IPPC_KEY_SECRET=secrets.token_hex(32),
        IPPC_DATABASE_POOL_SIZE="4",
        IPPC_DATABASE_MAX_OVERFLOW="6",
        IPPC_RATE_LIMIT_ENABLED="true",
        IPPC_RATE_LIMIT_STORAGE=REDIS_URL,
        IPPC_RATE_LIMIT_KEY_PREFIX=prefix,
        IPPC_RATE_LIMIT_ANONYMOUS=f"{ANONYMOUS_LIMIT}/minute",
        IPPC_RATE_LIMIT_CLIENT="100000/minute",
        IPPC_TRUSTED_PROXIES="127.0.0.1",
    )


def _start(cluster: Cluster, rank: int) -> Instance:
    port = free_port()
    log_path = cluster.directory / f"instance-{rank}.log"
    log_file = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [*IPPC, "serve", "--port", str(port)],
        cwd=cluster.directory,
        env=cluster.environment,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
        text=True,
    )
    return Instance(f"http://127.0.0.1:{port}", process, log_path, log_file)


def _exited(cluster: Cluster) -> Instance | None:
    return next((i for i in cluster.instances if i.process.poll() is not None), None)


async def _start_at_the_lock(cluster: Cluster) -> None:
    """Start the instances while holding the migration lock; release it once every instance
    waits on it (or one of them ended, or the time is up: the migration test then says so)."""
    holder = await asyncpg.connect(cluster.database_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
            cluster.instances = [_start(cluster, rank) for rank in range(INSTANCES)]
            deadline = time.monotonic() + START_SECONDS
            while time.monotonic() < deadline and _exited(cluster) is None:
                waiting = await holder.fetchval(
                    "SELECT count(*) FROM pg_locks JOIN pg_database ON pg_database.oid = "
                    "pg_locks.database WHERE pg_database.datname = current_database() "
                    "AND locktype = 'advisory' AND NOT granted"
                )
                cluster.migration_waiters = max(cluster.migration_waiters, waiting)
                if waiting == INSTANCES:
                    break
                await asyncio.sleep(0.05)
    finally:
        await holder.close()


async def _wait_until_ready(cluster: Cluster) -> None:
    """Wait until every instance answers /readyz; one that ends meanwhile is noted in
    `cluster.exited` (the migration test reports it, the others refuse to run)."""
    deadline = time.monotonic() + START_SECONDS
    async with http_client() as http:
        for instance in cluster.instances:
            while instance.process.poll() is None:
                try:
                    if (await http.get(f"{instance.base}/readyz", timeout=2)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"ippc serve at {instance.base} is not ready:\n{instance.tail()}")
                await asyncio.sleep(0.1)
            else:
                cluster.exited[instance.base] = instance.tail()


def _create_secretariat_client(cluster: Cluster) -> None:
    """The Secretariat's client, made as an operator makes one: `ippc clients create`."""
    made = cluster.ippc(
        "clients", "create", "--role", "secretariat", "--name", "Secretariat desk", "--json"
    )
    cluster.credentials["secretariat"] = json.loads(made.stdout)


async def _create_members(cluster: Cluster) -> None:
    """A client of its own for each Bureau member, made in this process by the function the
    command calls (each command would start a Python of its own, seconds of the machine's two
    cores)."""
    database = null_pool_database(cluster.database_url)
    try:
        async with database.session(write=True) as session:
            set_actor(session, TEST_OPERATOR)
            for name in BUREAU_MEMBERS:
                issued = await create_client(session, name=name, role=Role.bureau)
                cluster.credentials[name] = {
                    "client_id": issued.client_id,
                    "client_secret": issued.client_secret,
                }
            await session.commit()
    finally:
        await database.dispose()


async def _first_tokens(cluster: Cluster) -> None:
    """Every client's first tokens, asked for all at once through every instance, while the
    fixture holds the signing-key table locked: every request waits to read it, and once it is
    let go all find no key and race to make the first. The tests use the Secretariat's token
    from the first instance and each Bureau member's from the instance of the same rank."""
    keys = ["secretariat", *BUREAU_MEMBERS]
    asked = [(key, rank) for key in keys for rank in range(INSTANCES)]
    async with http_client() as http:
        holder = await asyncpg.connect(cluster.database_url)
        try:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("LOCK TABLE signing_key IN ACCESS EXCLUSIVE MODE")
            asking = asyncio.gather(
                *(
                    fetch_token(http, cluster.bases[rank], cluster.credentials[key])
                    for key, rank in asked
                )
            )
            try:
                deadline = time.monotonic() + START_SECONDS
                while not asking.done() and time.monotonic() < deadline:
                    waiting = await holder.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE relation = 'signing_key'::regclass "
                        "AND NOT granted"
                    )
                    cluster.key_waiters = max(cluster.key_waiters, waiting)
                    if waiting == len(asked):
                        break
                    await asyncio.sleep(0.05)
            finally:
                await transaction.rollback()
            tokens = await asking
        finally:
            await holder.close()
    issued = dict(zip(asked, tokens, strict=True))
    cluster.headers["secretariat"] = bearer(issued["secretariat", 0])
    for rank, name in enumerate(BUREAU_MEMBERS):
        cluster.headers[name] = bearer(issued[name, rank])


def _stop(instance: Instance) -> None:
    stop_process(instance.process, timeout=20)
    instance.log_file.close()


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The three instances as they started (one may have ended: `exited`), with the clients
    and first tokens when all three run."""
    store = _redis_or_skip()
    run = uuid.uuid4().hex
    server = PostgresServer(POSTGRES_ADMIN_URL)
    name = f"ippc_test_instances_{run[:12]}"
    prefix = f"ippc-test-instances-{run}"
    directory = tmp_path_factory.mktemp("instances")
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        database_url = runner.run(server.create(name))
        made = Cluster(database_url, _environment(database_url, prefix), directory, prefix)
        try:
            runner.run(_start_at_the_lock(made))
            runner.run(_wait_until_ready(made))
            if not made.exited:
                _create_secretariat_client(made)
                runner.run(_create_members(made))
                runner.run(_first_tokens(made))
            yield made
        finally:
            for instance in made.instances:
                _stop(instance)
            runner.run(server.drop(name))
            keys = list(store.scan_iter(match=f"{prefix}:*"))
            if keys:
                store.delete(*keys)
            store.close()


@pytest.fixture
def cluster(started: Cluster) -> Cluster:
    """The three instances, every one of them running."""
    if started.exited:
        ended = "\n".join(f"{base}:\n{tail}" for base, tail in started.exited.items())
        pytest.fail(f"instances ended while starting:\n{ended}")
    return started
