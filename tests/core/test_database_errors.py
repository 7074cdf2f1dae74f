"""What the database refuses never becomes a 500 it need not be, and never reaches the logs with
the request's data."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.db import Database
from app.core.logging import JsonFormatter
from app.main import create_app
from tests.conftest import free_port, make_settings
from tests.core.probe import SECRET


async def test_a_failed_statement_logs_no_request_data(
    probe_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await probe_client.post("/v1/probe/failing-statement")
    assert response.status_code == 500
    assert SECRET not in response.text
    records = [record for record in caplog.records if record.exc_info]
    assert records, "the failure was logged"
    formatter = JsonFormatter()
    for record in records:
        line = formatter.format(record)
        assert SECRET not in line
        assert "Traceback" in line  # the frames are kept, for whoever debugs it
    assert "failing_statement" in formatter.format(records[0])


async def test_an_unforeseen_unique_violation_is_409(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe/duplicate-objective")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/conflict"


async def test_a_deadlock_victim_is_asked_to_retry(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe/deadlock")
    assert response.status_code == 409
    assert response.headers["retry-after"] == "1"
    assert "retry" in response.json()["detail"]


async def test_statement_errors_hide_their_parameters(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.session(write=False) as session:
            with pytest.raises(DBAPIError) as caught:
                await session.execute(text("SELECT :value FROM no_such_table"), {"value": SECRET})
    finally:
        await database.dispose()
    assert SECRET not in str(caught.value)
    assert "hidden" in str(caught.value)


@pytest.fixture
async def unreachable_client() -> AsyncIterator[httpx.AsyncClient]:
    """The service configured with a PostgreSQL server that does not answer."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app(make_settings(url))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.state.database.dispose()


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/v1/strategic-objectives", None),
        ("GET", "/.well-known/jwks.json", None),
        ("POST", "/oauth/token", {"grant_type": "client_credentials"}),
        ("GET", "/readyz", None),
    ],
)
async def test_a_database_that_cannot_be_reached_is_503(
    unreachable_client: httpx.AsyncClient, method: str, path: str, data: dict[str, str] | None
) -> None:
    auth = ("00000000-0000-4000-8000-000000000000", "secret") if data else None
    response = await unreachable_client.request(method, path, data=data, auth=auth)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.postgres_only
async def test_connections_dropped_by_the_server_cost_a_503_then_heal(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """The pool does not ping each connection before use (a round trip per request): when the
    server drops them (a restart, a failover), the request that meets one gets a 503 to retry,
    the pool is renewed, and the next requests are served."""
    import asyncpg
    from sqlalchemy.engine import make_url

    assert (await client.get("/v1/strategic-objectives")).status_code == 200
    url = make_url(database_url)
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres"
    )
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.database,
        )
    finally:
        await admin.close()
    statuses = [(await client.get("/readyz")).status_code for _ in range(3)]
    assert set(statuses) <= {200, 503}
    assert statuses[-1] == 200
    assert (await client.get("/v1/me")).status_code == 401  # and everything else answers
