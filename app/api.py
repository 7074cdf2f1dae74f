"""The URL map: every resource router, in one readable list."""

from __future__ import annotations

from fastapi import APIRouter

from app.ops.router import router as ops_router
from app.strategic_objectives.router import router as strategic_objectives_router

v1 = APIRouter(prefix="/v1")
v1.include_router(strategic_objectives_router)

# Paths open to any origin (CORS `*`): the public transparency API and public reference data.
PUBLIC_PATH_PREFIXES = ("/v1/public/", "/v1/strategic-objectives")

# Bodies that are form-encoded rather than JSON (the OAuth 2.0 token endpoint).
FORM_PATHS: tuple[str, ...] = ()


def is_public_path(path: str) -> bool:
    return path.startswith(PUBLIC_PATH_PREFIXES) or path == "/v1/public"


def routers() -> list[APIRouter]:
    return [ops_router, v1]
