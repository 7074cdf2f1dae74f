"""The layering rules of conventions.md, read from the code's imports: data flows router ->
service -> models, and the plumbing (`app.core`) depends on nothing above it."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parents[1] / "app"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "app" or name.startswith("app.")}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(APP.parent).with_suffix("").parts)


def _modules(package: str) -> list[Path]:
    return sorted((APP / package).glob("*.py"))


def test_the_plumbing_imports_nothing_above_it() -> None:
    wrong = {
        _module(path): sorted(name for name in _imports(path) if not name.startswith("app.core"))
        for path in _modules("core")
    }
    assert {module: names for module, names in wrong.items() if names} == {}


def test_the_audit_trail_does_not_depend_on_the_access_layer() -> None:
    for name in ("service.py", "schemas.py"):
        assert not [i for i in _imports(APP / "audit" / name) if i.startswith("app.auth")]


def test_only_the_access_router_imports_the_issuer() -> None:
    importers = [
        _module(path)
        for path in APP.rglob("*.py")
        if any(name.startswith("app.auth.issuer") for name in _imports(path))
    ]
    assert importers == ["app.auth.router"]


def test_routers_import_no_router_and_services_no_router() -> None:
    for path in APP.rglob("*.py"):
        imported = _imports(path)
        routers = [name for name in imported if name.endswith(".router") or ".router." in name]
        if path.name in ("router.py", "service.py"):
            assert routers == [], f"{_module(path)} imports {routers}"


def test_services_speak_no_http() -> None:
    for path in APP.rglob("service.py"):
        source = path.read_text(encoding="utf-8")
        assert "HTTPException" not in source, _module(path)
        assert "from fastapi" not in source, _module(path)


def test_no_route_runs_a_dependency_in_a_thread() -> None:
    """A plain `def` endpoint or dependency runs in FastAPI's thread pool: a thread hop and a
    hand-off of the interpreter lock on every request. Every one is `async def`."""
    from fastapi.routing import APIRoute, iter_route_contexts

    from app.main import create_app
    from tests.conftest import make_settings

    def calls(dependant: Any) -> Iterator[Any]:
        yield dependant.call
        for child in dependant.dependencies:
            yield from calls(child)

    in_threads = set()
    app = create_app(make_settings("sqlite:///:memory:"))
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        for call in calls(context.dependant):
            target = call if inspect.isfunction(call) else getattr(call, "__call__", call)  # noqa: B004
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                in_threads.add(getattr(call, "__qualname__", repr(call)))
    assert in_threads == set()
