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
