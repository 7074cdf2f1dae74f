"""The FastAPI dependencies that say who may call a route.

Every route declares its access in its signature or its router: `PublicAccess` for anonymous
routes, and (from the access layer) `require(scope)` for internal ones. The authorization
matrix test reads these declarations from `app.routes`.
"""

from __future__ import annotations

from fastapi import Depends


def public() -> None:
    """Marks a route as open to anonymous callers."""


PublicAccess = Depends(public)
