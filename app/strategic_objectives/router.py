"""`/v1/strategic-objectives`: public reference data, cacheable, open to any origin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.auth.dependencies import PublicAccess
from app.core.http import NOT_MODIFIED, cacheable_json
from app.core.openapi import COMMON_ERRORS, QUERY_ERRORS, problem_responses
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.core.session import SessionDep, SettingsDep
from app.core.urls import next_link
from app.strategic_objectives import service
from app.strategic_objectives.schemas import Framework, StrategicObjectiveOut

router = APIRouter(
    prefix="/strategic-objectives",
    tags=["Strategic objectives"],
    dependencies=[PublicAccess],
    responses={**COMMON_ERRORS, **NOT_MODIFIED},
)


@router.get("", response_model=Page[StrategicObjectiveOut], responses=QUERY_ERRORS)
async def list_strategic_objectives(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    framework: Annotated[list[Framework] | None, Query(description="Repeat for several.")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    """The objectives of both IPPC Strategic Frameworks (2012-2019 A-D, 2020-2030 A-C)."""
    page = await service.list_objectives(session, frameworks=framework, limit=limit, cursor=cursor)
    return cacheable_json(
        request,
        page,
        max_age=settings.public_max_age_seconds,
        headers=next_link(settings, request, page.next_cursor),
    )


@router.get(
    "/{code}",
    response_model=StrategicObjectiveOut,
    responses={**QUERY_ERRORS, **problem_responses(404)},
)
async def get_strategic_objective(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Path(max_length=32, examples=["2020-2030.A"])],
) -> Response:
    objective = await service.get_objective(session, code)
    return cacheable_json(request, objective, max_age=settings.public_max_age_seconds)
