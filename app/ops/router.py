"""Operations: liveness, readiness, and the documentation of each problem type."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from app.auth.dependencies import PublicAccess
from app.core.openapi import COMMON_ERRORS, QUERY_ERRORS, api_router, problem_responses
from app.core.session import SessionDep
from app.ops import service
from app.ops.schemas import Health, ProblemTypeOut

router = api_router(tags=["Operations"], dependencies=[PublicAccess], responses=COMMON_ERRORS)

# Problem types never change meaning once published: their pages may be kept a day.
PROBLEM_PAGE_CACHE_CONTROL = "public, max-age=86400"


@router.get("/healthz", response_model=Health)
async def get_health() -> Health:
    """The process is up. Says nothing of the database: see /readyz."""
    # Not kept at the edge (`core/kept.py`): a probe must see the application answer, now.
    return Health()


@router.get("/readyz", response_model=Health, responses=problem_responses(503))
async def get_readiness(session: SessionDep) -> Health:
    """The service can serve requests: its database answers."""
    await service.check_database(session)
    return Health()


@router.get(
    "/problems/{slug}",
    response_model=ProblemTypeOut,
    responses={**QUERY_ERRORS, **problem_responses(404)},
)
async def get_problem_type(
    slug: Annotated[str, Path(max_length=64)], response: Response
) -> ProblemTypeOut:
    """What a problem `type` means (the `type` of every error response links here)."""
    kind = service.describe_problem(slug)
    response.headers["Cache-Control"] = PROBLEM_PAGE_CACHE_CONTROL
    return ProblemTypeOut(
        type=kind.uri, title=kind.title, status=kind.status, description=kind.description
    )
