"""Test fixtures: a database per test, copied from one migrated template per run.

`IPPC_TEST_DATABASE` chooses the backend: `sqlite` (default) or `postgresql`. On PostgreSQL,
`IPPC_TEST_POSTGRES_URL` names a maintenance database on the server; the run creates its own
databases there (a template, migrated once, and a copy of it per test) and drops them all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.auth.scopes import Principal
from app.core.config import Environment, Settings
from app.core.db import Database
from app.core.migrate import upgrade
from app.main import create_app

BACKEND = os.environ.get("IPPC_TEST_DATABASE", "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError("IPPC_TEST_DATABASE must be sqlite or postgresql")
POSTGRES_ADMIN_URL = os.environ.get(
    "IPPC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
RUN_ID = uuid.uuid4().hex[:10]
T = TypeVar("T")
# The service's public address in the tests: unlike the test client's host (`testserver`), so that
# a URL built from the request's Host header would show.
PUBLIC_BASE_URL = "https://partnerships.ippc.example"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if BACKEND != "postgresql" and item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL only"))
        if BACKEND != "sqlite" and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite only"))


def pytest_report_header() -> str:
    return f"database backend: {BACKEND}"


@dataclass
class PostgresServer:
    """Creates and drops this run's databases on the test server."""

    admin_url: str

    def url_for(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    async def _admin(self) -> asyncpg.Connection:
        url = make_url(self.admin_url)
        return await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
        )

    async def create(self, name: str, template: str | None = None) -> str:
        connection = await self._admin()
        try:
            suffix = f' TEMPLATE "{template}"' if template else ""
            await connection.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await connection.close()
        return self.url_for(name)

    async def drop(self, name: str) -> None:
        connection = await self._admin()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def _remove_sqlite_files(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


class PostgresCopies:
    """Copies of the template made and dropped by a thread of their own, ahead of the tests.

    A copy costs the server about 0.1 s to create and 0.2 s to drop, mostly waiting on the disk;
    made in the foreground they were a third of the PostgreSQL run. Here `AHEAD` copies wait
    ready while a test runs, and a test's copy is dropped while the next one runs. Each test
    still gets a database of its own, a fresh copy of the migrated template."""

    AHEAD = 2

    def __init__(self, server: PostgresServer, template: str) -> None:
        self.server = server
        self.template = template
        self.count = 0
        self.untaken: set[str] = set()  # made (or being made) and not yet given to a test
        # Queues bind to the loop that first waits on them: the thread's.
        self.ready: asyncio.Queue[str | BaseException] = asyncio.Queue(self.AHEAD)
        self.drops: asyncio.Queue[str | None] = asyncio.Queue()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="test-databases", daemon=True
        )
        self.thread.start()
        self.maker, self.dropper = self._run(self._start()).result()

    def _run(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    async def _start(self) -> tuple[asyncio.Task[None], asyncio.Task[None]]:
        return asyncio.create_task(self._make()), asyncio.create_task(self._drop())

    async def _make(self) -> None:
        while True:
            self.count += 1
            name = f"ippc_test_{RUN_ID}_{self.count}"
            self.untaken.add(name)
            try:
                await self.server.create(name, template=self.template)
            except Exception as error:  # raised in every test that waits for a copy
                while True:
                    await self.ready.put(error)
            await self.ready.put(name)

    async def _drop(self) -> None:
        while (name := await self.drops.get()) is not None:
            await self.server.drop(name)

    async def _take(self) -> str:
        taken = await self.ready.get()
        if isinstance(taken, BaseException):
            raise taken
        self.untaken.discard(taken)
        return taken

    async def take(self) -> str:
        """A fresh copy's name (from any thread and event loop)."""
        return await asyncio.wrap_future(self._run(self._take()))

    def discard(self, name: str) -> None:
        self.loop.call_soon_threadsafe(self.drops.put_nowait, name)

    async def _finish(self) -> None:
        self.maker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.maker  # a CREATE cut short is over, committed or not
        for name in sorted(self.untaken):
            await self.server.drop(name)  # IF EXISTS
        self.drops.put_nowait(None)
        await self.dropper

    def close(self) -> None:
        """Drop every copy, the waiting ones included, and stop the thread."""
        self._run(self._finish()).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@dataclass
class DatabaseFactory:
    """Fresh, migrated databases for tests: each a copy of the run's template."""

    template_url: str
    directory: Path
    postgres: PostgresServer | None
    count: int = 0
    copies: PostgresCopies | None = None

    def __post_init__(self) -> None:
        if self.postgres is not None:
            template = str(make_url(self.template_url).database)
            self.copies = PostgresCopies(self.postgres, template)

    async def fresh(self) -> tuple[str, str]:
        """A new database: (its URL, its name on the server or its file)."""
        if self.copies is not None:
            name = await self.copies.take()
            return self.copies.server.url_for(name), name
        self.count += 1
        name = f"ippc_test_{RUN_ID}_{self.count}"
        target = self.directory / f"{name}.db"
        source = Path(str(make_url(self.template_url).database))
        shutil.copyfile(source, target)
        return f"sqlite:///{target}", str(target)

    async def discard(self, name: str) -> None:
        if self.copies is not None and not name.endswith("_empty"):
            self.copies.discard(name)
        elif self.postgres is not None:
            await self.postgres.drop(name)
        else:
            _remove_sqlite_files(name)

    def close(self) -> None:
        if self.copies is not None:
            self.copies.close()

    async def empty(self) -> tuple[str, str]:
        """A new database with no schema at all (for migration tests)."""
        self.count += 1
        name = f"ippc_test_{RUN_ID}_{self.count}_empty"
        if self.postgres is not None:
            return await self.postgres.create(name), name
        target = self.directory / f"{name}.db"
        return f"sqlite:///{target}", str(target)


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseFactory]:
    directory = tmp_path_factory.mktemp("databases")
    if BACKEND == "postgresql":
        server = PostgresServer(POSTGRES_ADMIN_URL)
        template_name = f"ippc_test_{RUN_ID}_template"
        template_url = await server.create(template_name)
        try:
            await upgrade(template_url)
            factory = DatabaseFactory(template_url, directory, server)
            try:
                yield factory
            finally:
                factory.close()
        finally:
            await server.drop(template_name)
    else:
        template_url = f"sqlite:///{directory / 'template.db'}"
        await upgrade(template_url)
        yield DatabaseFactory(template_url, directory, None)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def database_url(databases: DatabaseFactory) -> AsyncIterator[str]:
    url, name = await databases.fresh()
    yield url
    await databases.discard(name)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": Environment.test,
        "log_level": "WARNING",
        "base_url": PUBLIC_BASE_URL,
        # Rate limits have tests of their own (tests/core/test_ratelimit.py); the others send
        # as many requests as they need.
        "rate_limit_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, cors_allow_origins=["https://secretariat.example"])


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    yield application
    await application.state.database.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def sync_database_url(databases: DatabaseFactory) -> Iterator[str]:
    """A fresh database for synchronous tests (Schemathesis), made outside the event loop."""
    url, name = asyncio.run(databases.fresh())
    yield url
    asyncio.run(databases.discard(name))


def null_pool_database(url: str) -> Database:
    """A Database whose connections are opened per use: safe to drive from another event loop."""
    return Database(url, poolclass=NullPool)


# --- Access: real clients and real tokens from the embedded issuer ------------------------------


TEST_OPERATOR = Principal(subject="operator:tests", client_id=None, role=None, scopes=frozenset())


async def register_client(app: FastAPI, role: str, name: str | None = None) -> tuple[str, str]:
    """A client of the embedded issuer in the app's database: (client_id, client_secret)."""
    from app.auth.clients import create_client
    from app.auth.scopes import Role
    from app.core.tracking import set_actor

    database: Database = app.state.database
    async with database.session(write=True) as session:
        set_actor(session, TEST_OPERATOR)
        issued = await create_client(session, name=name or f"test {role}", role=Role(role))
        await session.commit()
    return issued.client_id, issued.client_secret


async def fetch_token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    """An access token from the real token endpoint (client_secret_basic)."""
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
async def auth_headers(app: FastAPI, client: httpx.AsyncClient) -> Callable[[str], dict[str, str]]:
    """`auth_headers("secretariat")`: bearer headers with a real token for a client of that role.

    One client per role (secretariat, bureau, integration) is registered in the test's database
    and each gets its token through `POST /oauth/token`.
    """
    headers: dict[str, dict[str, str]] = {}
    for role in ("secretariat", "bureau", "integration"):
        client_id, secret = await register_client(app, role)
        token = await fetch_token(client, client_id, secret)
        headers[role] = {"Authorization": f"Bearer {token}"}

    def for_role(role: str) -> dict[str, str]:
        return dict(headers[str(role)])

    return for_role


IPPC = [sys.executable, "-m", "app.cli"]


def clean_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without the service's settings, plus `overrides`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("IPPC_") and key != "DATABASE_URL"
    }
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, sync_database_url: str) -> Iterator[str]:
    """`ippc serve` in its own process, started from a directory outside the project.
    Yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [*IPPC, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean_environment(DATABASE_URL=sync_database_url, IPPC_LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"ippc serve exited: {process.stderr.read() if process.stderr else ''}")
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
