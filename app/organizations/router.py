"""`/v1/organizations`: the organizations the IPPC deals with."""

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
from app.organizations import service
from app.organizations.schemas import (
    OrganizationCreate,
    OrganizationDetail,
    OrganizationFilters,
    OrganizationOut,
    OrganizationPatch,
    OrganizationSort,
)

router = api_router(
    f"{V1}/organizations",
    tags=["Organizations"],
    responses={**COMMON_ERRORS, **AUTH_ERRORS},
)

Reader = Annotated[Principal, require(Scope.registry_read)]
Writer = Annotated[Principal, require(Scope.registry_write)]
Creator = Annotated[CreateOnce, idempotent(require(Scope.registry_write))]

LIST_QUERY = list_query(
    OrganizationFilters, OrganizationSort, sort_description=service.LIST.sorts.description()
)
ListParameters = Annotated[ListQuery[OrganizationFilters, OrganizationSort], LIST_QUERY.dependency]


@router.post(
    "",
    status_code=201,
    response_model=OrganizationDetail,
    responses={**BODY_ERRORS, **problem_responses(409, 422)},
)
async def create_organization(
    request: Request, body: OrganizationCreate, create: Creator, settings: SettingsDep
) -> Response:
    """Register an organization. The same name (ignoring case and accents) in the same country
    is refused with 409 naming the existing one."""

    async def work(session: AsyncSession) -> Response:
        organization = await service.create_organization(session, body)
        return created_response(
            request,
            settings,
            organization,
            route="get_organization",
            etag=service.etag(organization),
            organization_id=str(organization.id),
        )

    return await create.run(work)


@router.get(
    "",
    response_model=Page[OrganizationOut],
    responses=LIST_RESPONSES,
    openapi_extra=LIST_QUERY.openapi,
)
async def list_organizations(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Reader,
    query: ListParameters,
) -> Response:
    """Organizations, archived ones left out unless asked for."""
    return await list_response(
        request,
        settings,
        database,
        format_=query.format,
        page=lambda: service.list_organizations(
            database, query.filters, sort=query.sort, limit=query.limit, cursor=query.cursor
        ),
        export=lambda: service.export(query.filters, query.sort),
    )


@router.get(
    "/{organization_id}",
    response_model=OrganizationDetail,
    responses={**QUERY_ERRORS, **NOT_MODIFIED, **problem_responses(404)},
)
async def get_organization(
    organization_id: UUIDText,
    database: DatabaseDep,
    principal: Reader,
    if_none_match: IfNoneMatchHeader = None,
) -> Response:
    """An organization, with how many records refer to it."""
    shown = await service.get_organization(database, organization_id)
    return conditional_body(shown.body, etag=shown.etag, if_none_match=if_none_match)


@router.patch(
    "/{organization_id}",
    response_model=OrganizationDetail,
    responses={**BODY_ERRORS, **problem_responses(404, 409, 412, 428)},
)
async def update_organization(
    organization_id: UUIDText,
    patch: Annotated[OrganizationPatch, Body(media_type="application/merge-patch+json")],
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Change an organization (a JSON merge patch; `null` clears a field). Archive it with
    `{"archived": true}`. Needs `If-Match`."""
    organization = await service.update_organization(
        session, organization_id, patch, if_match=if_match
    )
    return json_response(organization, headers={"ETag": service.etag(organization)})


@router.delete(
    "/{organization_id}",
    status_code=204,
    responses={**QUERY_ERRORS, **problem_responses(404, 409, 412, 428)},
)
async def delete_organization(
    organization_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Delete an organization nothing refers to. Needs `If-Match`."""
    await service.delete_organization(session, organization_id, if_match=if_match)
    return Response(status_code=204)
