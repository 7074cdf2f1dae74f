"""The application factory: the edge (the outer layer), error handlers, routers. No business
logic."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp

from app import api
from app.audit import service as audit
from app.auth.dependencies import client_of_token
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.docs import install_docs
from app.core.edge import Edge
from app.core.errors import install_error_handlers
from app.core.idempotency import check_routes
from app.core.kept import DataVersion, KeptAnswers
from app.core.logging import configure_logging
from app.core.openapi import CONTRACT_SERVERS, install_openapi, operation_id
from app.core.ratelimit import RateLimits
from app.core.rows import install_database_error_handlers

DESCRIPTION = """\
The system of record for the liaison, cooperation and partnership work of the IPPC Secretariat:
organizations, liaison interactions, partnership and cooperation agreements with their due
diligence, and the approval decisions of the CPM Bureau and the CPM.

Errors are RFC 9457 problem details (`application/problem+json`). Lists are paged with an opaque
`cursor`. The `/v1/public/*` endpoints and the strategic objectives need no token.
"""


TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


class IppcApp(FastAPI):
    """FastAPI, with the service's one outer layer (`core/edge.py`) wrapped around Starlette's
    error middleware.

    Starlette places its 500 handler outside any middleware added with `add_middleware`, so a
    500 would lose its CORS headers, request id and default headers; wrapping the built stack
    keeps them.
    """

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        return Edge(
            super().build_middleware_stack(),
            cache_control=api.default_cache_control,
            is_public_path=api.is_public_path,
            internal_origins=settings.cors_allow_origins,
            max_body_bytes=settings.max_body_bytes,
            form_paths=api.FORM_PATHS,
            kept=self.state.kept_answers,
            versions=self.state.data_version,
            rate_limits=self.state.rate_limits,
            checks_tokens=api.checks_tokens,
            identify=client_of_token,
        )


def create_served_app() -> FastAPI:
    """The service as `ippc serve` runs it (uvicorn's factory): `create_app`, which once
    started moves every object made so far out of the cyclic garbage collector's sight.

    A process serving requests promotes objects of the requests in flight to the oldest
    generation at every young collection; the full collections that follow then walk every
    module, class and function of the application, about 150,000 objects: measured under load,
    a pause of 70-100 ms every 1.6 s, which was the p99 of every request with a token. Frozen
    (`gc.freeze`, after a collection so that no garbage is kept), those objects are never walked
    again, and a full collection walks only what requests made (docs/performance.md)."""
    return create_app(freeze_after_startup=True)


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    freeze_after_startup: bool = False,
) -> FastAPI:
    """The service. `database` lets a caller (the tests) supply an engine set up its own way."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    database = database or Database(
        settings.resolved_database_url(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    # The rate limits' budgets (`core/ratelimit.py`): in memory, or in the configured Redis.
    rate_limits = RateLimits(settings) if settings.rate_limit_enabled else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if freeze_after_startup:
            gc.collect()
            gc.freeze()
        yield
        if rate_limits is not None:
            await rate_limits.close()
        await database.dispose()

    app = IppcApp(
        # FastAPI's native OpenTelemetry, when the deployment asks for it (IPPC_OPENTELEMETRY);
        # off, none of its per-request checks run (docs/performance.md).
        telemetry=None if settings.opentelemetry else TELEMETRY_OFF,
        title="IPPC Partnerships API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        servers=CONTRACT_SERVERS,
        license_info={"name": "Proprietary"},
        # FastAPI's pages load their scripts from a CDN; `core.docs` serves its own instead.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # Paths are exact: Starlette would answer `/v1/organizations/` with a redirect built
        # from the request's Host header. A trailing slash is a 404 problem instead.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.database = database
    # The answers routes keep for the life of the process (`core/kept.py`), served by the edge.
    app.state.kept_answers = KeptAnswers()
    # The data's version, for answers kept while nothing changes (the public register).
    app.state.data_version = DataVersion(partial(audit.last_event_id, database))
    app.state.rate_limits = rate_limits
    install_error_handlers(app)
    install_database_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.router.routes.extend(api.routes())
    check_routes(app.routes)
    return app
