"""`/v1/strategic-objectives`: public reference data, cacheable, open to any origin.

The objectives change only with a migration, deployed with a restart: each 200 is the same for
the life of the process, so the routes mark it (`keep_for_process`) and the edge answers the
same request again itself, without entering FastAPI (`core/kept.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from app.auth.dependencies import PublicAccess
from app.core.http import NOT_MODIFIED, prepared_response
from app.core.kept import keep_for_process
from app.core.list_query import MAX_FILTER_VALUES
from app.core.openapi import COMMON_ERRORS, QUERY_ERRORS, V1, api_router, problem_responses
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.core.session import SettingsDep, database_of, per_app
from app.core.urls import next_link
from app.strategic_objectives import service
from app.strategic_objectives.schemas import Framework, StrategicObjectiveOut


async def get_catalogue(request: Request) -> service.Catalogue:
    """The process's catalogue of objectives, made on first use."""
    return per_app(request, "objectives", lambda: service.Catalogue(database_of(request)))


CatalogueDep = Annotated[service.Catalogue, Depends(get_catalogue)]

router = api_router(
    f"{V1}/strategic-objectives",
    tags=["Strategic objectives"],
    dependencies=[PublicAccess],
    responses={**COMMON_ERRORS, **NOT_MODIFIED},
)


@router.get("", response_model=Page[StrategicObjectiveOut], responses=QUERY_ERRORS)
async def list_strategic_objectives(
    request: Request,
    catalogue: CatalogueDep,
    settings: SettingsDep,
    framework: Annotated[
        list[Framework] | None,
        Query(description="Repeat for several.", max_length=MAX_FILTER_VALUES),
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    """The objectives of both IPPC Strategic Frameworks (2012-2019 A-D, 2020-2030 A-C)."""
    page, next_cursor = await catalogue.page(frameworks=framework, limit=limit, cursor=cursor)
    keep_for_process(request)
    return prepared_response(
        request,
        page,
        max_age=settings.public_max_age_seconds,
        headers=next_link(settings, request, next_cursor),
    )


@router.get(
    "/{code}",
    response_model=StrategicObjectiveOut,
    responses={**QUERY_ERRORS, **problem_responses(404)},
)
async def get_strategic_objective(
    request: Request,
    catalogue: CatalogueDep,
    settings: SettingsDep,
    code: Annotated[str, Path(max_length=32, examples=["2020-2030.A"])],
) -> Response:
    objective = await catalogue.one(code)
    keep_for_process(request)
    return prepared_response(request, objective, max_age=settings.public_max_age_seconds)
