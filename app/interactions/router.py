"""`/v1/interactions`: the Secretariat's liaison contacts; and each organization's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import AUTH_ERRORS, require
from app.auth.scopes import Principal, Scope
from app.core.http import NOT_MODIFIED, conditional_body, json_response
from app.core.idempotency import CreateOnce, idempotent
from app.core.list_query import ListQuery, list_query
from app.core.listing import LIST_RESPONSES, list_response
from app.core.openapi import (
    BODY_ERRORS,
    COMMON_ERRORS,
    QUERY_ERRORS,
    V1,
    api_router,
    problem_responses,
)
from app.core.pagination import Page
from app.core.preconditions import IfMatchHeader, IfNoneMatchHeader
from app.core.session import DatabaseDep, SessionDep, SettingsDep
from app.core.urls import created_response
from app.core.validation import UUIDText
from app.interactions import service
from app.interactions.schemas import (
    InteractionCreate,
    InteractionFilters,
    InteractionOut,
    InteractionPatch,
    InteractionSort,
    OrganizationInteractionFilters,
)

router = api_router(V1, tags=["Interactions"], responses={**COMMON_ERRORS, **AUTH_ERRORS})

Reader = Annotated[Principal, require(Scope.registry_read)]
Writer = Annotated[Principal, require(Scope.registry_write)]
Creator = Annotated[CreateOnce, idempotent(require(Scope.registry_write))]

_SORTS = service.LIST.sorts.description()
LIST_QUERY = list_query(InteractionFilters, InteractionSort, sort_description=_SORTS)
SCOPED_QUERY = list_query(OrganizationInteractionFilters, InteractionSort, sort_description=_SORTS)
ListParameters = Annotated[ListQuery[InteractionFilters, InteractionSort], LIST_QUERY.dependency]
ScopedParameters = Annotated[
    ListQuery[OrganizationInteractionFilters, InteractionSort], SCOPED_QUERY.dependency
]


@router.post(
    "/interactions",
    status_code=201,
    response_model=InteractionOut,
    responses={**BODY_ERRORS, **problem_responses(409, 422)},
)
async def create_interaction(
    request: Request, body: InteractionCreate, create: Creator, settings: SettingsDep
) -> Response:
    """Record a contact with one or more organizations (registered, not archived)."""

    async def work(session: AsyncSession) -> Response:
        interaction = await service.create_interaction(session, body)
        return created_response(
            request,
            settings,
            interaction,
            route="get_interaction",
            etag=service.etag(interaction),
            interaction_id=str(interaction.id),
        )

    return await create.run(work)


@router.get(
    "/interactions",
    response_model=Page[InteractionOut],
    responses=LIST_RESPONSES,
    openapi_extra=LIST_QUERY.openapi,
)
async def list_interactions(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Reader,
    query: ListParameters,
) -> Response:
    """Interactions, the latest first unless sorted otherwise."""
    return await list_response(
        request,
        settings,
        database,
        format_=query.format,
        page=lambda: service.list_interactions(
            database, query.filters, sort=query.sort, limit=query.limit, cursor=query.cursor
        ),
        export=lambda: service.export(query.filters, query.sort),
    )


@router.get(
    "/organizations/{organization_id}/interactions",
    response_model=Page[InteractionOut],
    responses={**LIST_RESPONSES, **problem_responses(404)},
    openapi_extra=SCOPED_QUERY.openapi,
)
async def list_organization_interactions(
    request: Request,
    organization_id: UUIDText,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Reader,
    query: ScopedParameters,
) -> Response:
    """The interactions with one organization, with the filters of the whole list."""
    filters = await service.of(database, organization_id, query.filters)
    return await list_response(
        request,
        settings,
        database,
        format_=query.format,
        page=lambda: service.list_interactions(
            database, filters, sort=query.sort, limit=query.limit, cursor=query.cursor
        ),
        export=lambda: service.export(filters, query.sort),
    )


@router.get(
    "/interactions/{interaction_id}",
    response_model=InteractionOut,
    responses={**QUERY_ERRORS, **NOT_MODIFIED, **problem_responses(404)},
)
async def get_interaction(
    interaction_id: UUIDText,
    database: DatabaseDep,
    principal: Reader,
    if_none_match: IfNoneMatchHeader = None,
) -> Response:
    """An interaction."""
    shown = await service.get_interaction(database, interaction_id)
    return conditional_body(shown.body, etag=shown.etag, if_none_match=if_none_match)


@router.patch(
    "/interactions/{interaction_id}",
    response_model=InteractionOut,
    responses={**BODY_ERRORS, **problem_responses(404, 409, 412, 428)},
)
async def update_interaction(
    interaction_id: UUIDText,
    patch: Annotated[InteractionPatch, Body(media_type="application/merge-patch+json")],
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Correct an interaction (a JSON merge patch; `null` clears a field). Needs `If-Match`."""
    interaction = await service.update_interaction(
        session, interaction_id, patch, if_match=if_match
    )
    return json_response(interaction, headers={"ETag": service.etag(interaction)})


@router.delete(
    "/interactions/{interaction_id}",
    status_code=204,
    responses={**QUERY_ERRORS, **problem_responses(404, 409, 412, 428)},
)
async def delete_interaction(
    interaction_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Delete an internal interaction (a public one stays: 409). Needs `If-Match`."""
    await service.delete_interaction(session, interaction_id, if_match=if_match)
    return Response(status_code=204)
