"""The application as it is served: what `ippc serve` runs once it has started."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from app import main
from app.core.config import Settings


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


def test_routers_are_included_one_level_deep(settings: Settings) -> None:
    """Each resource router is included in the application itself (with its `/v1` prefix),
    never through another router: this FastAPI matches an included router and then matches
    again inside it, so every level of nesting walks its routes once more per request."""
    app = main.create_app(settings)
    included = [route for route in app.router.routes if hasattr(route, "original_router")]
    assert included
    for route in included:
        inner = route.original_router.routes
        assert not any(hasattr(child, "original_router") for child in inner), route
