"""The URL map: every resource router, in one readable list."""

from __future__ import annotations

from starlette.routing import BaseRoute

from app.agreements.router import router as agreements_router
from app.audit.router import router as audit_router
from app.auth.paths import TOKEN_PATH
from app.auth.router import issuer_router, me_router
from app.decisions.router import router as decisions_router
from app.interactions.router import router as interactions_router
from app.ops.router import router as ops_router
from app.organizations.router import router as organizations_router
from app.public.router import router as public_router
from app.reports.router import router as reports_router
from app.strategic_objectives.router import router as strategic_objectives_router

# Every router of the service, in the order of the contract: the operations, the embedded
# issuer, then every resource under /v1. Each router carries its whole prefix
# (`core.openapi.api_router`), so that its routes are complete at import and every application
# adds the same route objects to its own flat list (`routes`): a request is matched against the
# routes directly, with no router node to enter, and no application builds a route again.
ROUTERS = (
    ops_router,
    issuer_router,
    me_router,
    strategic_objectives_router,
    # The public register before the internal routes: its requests, the most frequent, are
    # matched against fewer routes.
    public_router,
    organizations_router,
    interactions_router,
    agreements_router,
    decisions_router,
    audit_router,
    reports_router,
)

# Paths open to any origin (CORS `*`): the public transparency API, public reference data, and
# the embedded issuer's published keys and metadata. Each is a path and everything below it
# (`/v1/strategic-objectives/2020-2030.A`), never a longer name (`/v1/strategic-objectivesX`).
PUBLIC_PATHS = ("/v1/public", "/v1/strategic-objectives", "/.well-known")

# Bodies that are form-encoded rather than JSON (the OAuth 2.0 token endpoint).
FORM_PATHS: tuple[str, ...] = (TOKEN_PATH,)


def is_public_path(path: str) -> bool:
    return any(path == public or path.startswith(public + "/") for public in PUBLIC_PATHS)


def checks_tokens(path: str) -> bool:
    """Every route under `/v1` but the public ones requires a token (`tests/auth/test_matrix.py`
    holds them to it): a request there with a bearer token is counted per client once the token
    is valid (`core/ratelimit.py`)."""
    return path.startswith("/v1/") and not is_public_path(path)


# The health probes: what they answer is true only now. The token endpoint: what it answers is
# a token, or why there is none (RFC 6749 §5.1: never stored).
NO_STORE_PATHS = frozenset({"/healthz", "/readyz", TOKEN_PATH})


def default_cache_control(path: str) -> str:
    """The `Cache-Control` of a response that sets none of its own (docs/http.md, "Caching").

    Routes that may be cached say so themselves (public reads: `public, max-age=...`; the
    problem pages). Everything else: internal answers, errors included, may be kept by the
    caller's own cache only, and revalidated before each use; public errors and the health
    probes are not kept at all."""
    if path in NO_STORE_PATHS or is_public_path(path):
        return "no-store"
    return "private, no-cache"


def routes() -> list[BaseRoute]:
    """Every route of the service, in the routers' order. Only the routes are taken: a router's
    own lifespan or event handlers would not be (none has any; the application owns them)."""
    return [route for router in ROUTERS for route in router.routes]
