"""The app with the test-only probe routes (a JSON body, a crash, a write)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.core.probe import install_probe


@pytest.fixture
def probe_settings(settings: Settings) -> Settings:
    """The probe app's settings; a test module overrides this fixture to change them."""
    return settings


@pytest.fixture
async def probe_app(probe_settings: Settings) -> AsyncIterator[FastAPI]:
    app = install_probe(create_app(probe_settings))
    yield app
    await app.state.database.dispose()


@pytest.fixture
async def probe_client(probe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=probe_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
