"""The application as it is served: what `ippc serve` runs once it has started."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from app import api, main
from app.core.config import Settings
from tests.conftest import clean_environment


async def test_the_served_app_freezes_what_startup_made(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    calls: list[str] = []

    def collect(*_args: object) -> int:
        calls.append("collect")
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    served = main.create_app(settings, freeze_after_startup=True)
    async with served.router.lifespan_context(served):
        # Collected first, so that no garbage is frozen with the rest.
        assert calls == ["collect", "freeze"]
    calls.clear()
    plain = main.create_app(settings)
    async with plain.router.lifespan_context(plain):
        assert calls == []


def test_the_served_factory_asks_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(main, "create_app", lambda **kwargs: seen.append(kwargs))
    main.create_served_app()
    assert seen == [{"freeze_after_startup": True}]


@pytest.mark.parametrize("wanted", [False, True])
def test_fastapis_native_telemetry_runs_only_when_asked_for(
    settings: Settings, wanted: bool
) -> None:
    """Off (the default), FastAPI's OpenTelemetry layer is configured off, so that none of its
    per-request checks run; `IPPC_OPENTELEMETRY=true` leaves FastAPI's own defaults (the
    process's global providers)."""
    app = main.create_app(settings.model_copy(update={"opentelemetry": wanted}))
    config = app._telemetry
    kinds = [config["tracing"], config["metrics"], config["logs"], config["operation_spans"]]
    assert kinds == [wanted] * 4
    assert app._native_telemetry.enabled() is False  # no provider is configured here


def test_the_telemetry_setting_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(_env_file=None).opentelemetry is False
    monkeypatch.setenv("IPPC_OPENTELEMETRY", "true")
    assert Settings(_env_file=None).opentelemetry is True


def test_every_application_shares_the_process_routes(settings: Settings) -> None:
    """The service's routes are the routers' own route objects, in one flat list: no included
    router node to match and enter on each request, and nothing an application builds again
    (`core.openapi.api_router`)."""
    # Only routes are taken from the routers: none may carry event handlers of its own.
    assert not any(router.on_startup or router.on_shutdown for router in api.ROUTERS)
    first = main.create_app(settings)
    second = main.create_app(settings)
    service = [route for route in first.router.routes if isinstance(route, APIRoute)]
    assert len(service) == len(api.routes()) > 40
    assert all(isinstance(route, (APIRoute, Route, Mount)) for route in first.router.routes)
    assert [id(route) for route in service] == [
        id(route) for route in second.router.routes if isinstance(route, APIRoute)
    ]
    assert all(
        route.path.startswith(
            ("/v1/", "/healthz", "/readyz", "/problems", "/.well-known", "/oauth")
        )
        for route in service
    )


# In a process of its own: the served app as uvicorn imports it (`app.main`), and nothing else.
_READERS_OF_THE_APP = """
from app.main import create_app
from app.core.tracking import unregistered_readers
create_app()
print(sorted(unregistered_readers()))
"""


@pytest.mark.sqlite_only
def test_the_app_alone_registers_every_reader_of_changes_its_models_name(tmp_path: Path) -> None:
    """The readers that keep copies of rows (the public register, the linked codes) register
    when their modules are imported: the app imports them, not only the command line, or each
    worker process uvicorn starts would fail every change at commit."""
    done = subprocess.run(
        [sys.executable, "-c", _READERS_OF_THE_APP],
        cwd=tmp_path,
        env=clean_environment(DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
