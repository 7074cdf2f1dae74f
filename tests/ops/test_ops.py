"""Liveness and readiness."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app
from tests.conftest import BACKEND, make_settings


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
def unreachable_settings(tmp_path: Path) -> Settings:
    if BACKEND == "postgresql":
        # Nothing listens on port 1 of the loopback: the connection is refused at once.
        return make_settings("postgresql://postgres@127.0.0.1:1/nothing")
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "not-a-file.db").mkdir()
    return make_settings(f"sqlite:///{tmp_path / 'not-a-file.db'}")


async def test_readyz_is_503_when_the_database_is_down(unreachable_settings: Settings) -> None:
    app = create_app(unreachable_settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/readyz")
        liveness = await http.get("/healthz")
    await app.state.database.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/service-unavailable"
    assert response.headers["retry-after"] == "5"
    assert liveness.status_code == 200
