"""`/v1/agreements`: cooperation and partnership arrangements, and their due diligence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import service
from app.agreements.schemas import (
    ActivationIn,
    AgreementCreate,
    AgreementFilters,
    AgreementOut,
    AgreementPatch,
    AgreementSort,
    DueDiligenceIn,
    DueDiligenceOut,
    PartnerAgreementFilters,
    TransitionIn,
)
from app.auth.dependencies import AUTH_ERRORS, require
from app.auth.scopes import Principal, Scope
from app.core.http import NOT_MODIFIED, conditional_body, conditional_json, json_response
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

router = api_router(V1, tags=["Agreements"], responses={**COMMON_ERRORS, **AUTH_ERRORS})

Reader = Annotated[Principal, require(Scope.registry_read)]
Writer = Annotated[Principal, require(Scope.registry_write)]
Creator = Annotated[CreateOnce, idempotent(require(Scope.registry_write))]

_SORTS = service.LIST.sorts.description()
LIST_QUERY = list_query(AgreementFilters, AgreementSort, sort_description=_SORTS)
SCOPED_QUERY = list_query(PartnerAgreementFilters, AgreementSort, sort_description=_SORTS)
ListParameters = Annotated[ListQuery[AgreementFilters, AgreementSort], LIST_QUERY.dependency]
ScopedParameters = Annotated[
    ListQuery[PartnerAgreementFilters, AgreementSort], SCOPED_QUERY.dependency
]


@router.post(
    "/agreements",
    status_code=201,
    response_model=AgreementOut,
    responses={**BODY_ERRORS, **problem_responses(409, 422)},
)
async def create_agreement(
    request: Request, body: AgreementCreate, create: Creator, settings: SettingsDep
) -> Response:
    """Draft an agreement. Partners must be registered and not archived; objectives must exist."""

    async def work(session: AsyncSession) -> Response:
        agreement = await service.create_agreement(session, body)
        return created_response(
            request,
            settings,
            agreement,
            route="get_agreement",
            etag=service.etag(agreement),
            agreement_id=str(agreement.id),
        )

    return await create.run(work)


@router.get(
    "/agreements",
    response_model=Page[AgreementOut],
    responses=LIST_RESPONSES,
    openapi_extra=LIST_QUERY.openapi,
)
async def list_agreements(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Reader,
    query: ListParameters,
) -> Response:
    """Agreements, in every status."""
    return await list_response(
        request,
        settings,
        database,
        format_=query.format,
        page=lambda: service.list_agreements(
            database, query.filters, sort=query.sort, limit=query.limit, cursor=query.cursor
        ),
        export=lambda: service.export(query.filters, query.sort),
    )


@router.get(
    "/organizations/{organization_id}/agreements",
    response_model=Page[AgreementOut],
    responses={**LIST_RESPONSES, **problem_responses(404)},
    openapi_extra=SCOPED_QUERY.openapi,
)
async def list_organization_agreements(
    request: Request,
    organization_id: UUIDText,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Reader,
    query: ScopedParameters,
) -> Response:
    """The agreements an organization is a partner of, with the filters of the whole list."""
    filters = await service.of(database, organization_id, query.filters)
    return await list_response(
        request,
        settings,
        database,
        format_=query.format,
        page=lambda: service.list_agreements(
            database, filters, sort=query.sort, limit=query.limit, cursor=query.cursor
        ),
        export=lambda: service.export(filters, query.sort),
    )


@router.get(
    "/agreements/{agreement_id}",
    response_model=AgreementOut,
    responses={**QUERY_ERRORS, **NOT_MODIFIED, **problem_responses(404)},
)
async def get_agreement(
    agreement_id: UUIDText,
    database: DatabaseDep,
    principal: Reader,
    if_none_match: IfNoneMatchHeader = None,
) -> Response:
    """An agreement."""
    shown = await service.get_agreement(database, agreement_id)
    return conditional_body(shown.body, etag=shown.etag, if_none_match=if_none_match)


@router.patch(
    "/agreements/{agreement_id}",
    response_model=AgreementOut,
    responses={**BODY_ERRORS, **problem_responses(404, 409, 412, 428)},
)
async def update_agreement(
    agreement_id: UUIDText,
    patch: Annotated[AgreementPatch, Body(media_type="application/merge-patch+json")],
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Change a draft (a JSON merge patch; `null` clears a field). Needs `If-Match`."""
    agreement = await service.update_agreement(session, agreement_id, patch, if_match=if_match)
    return json_response(agreement, headers={"ETag": service.etag(agreement)})


@router.delete(
    "/agreements/{agreement_id}",
    status_code=204,
    responses={**QUERY_ERRORS, **problem_responses(404, 409, 412, 428)},
)
async def delete_agreement(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Delete a draft nothing refers to, with its due diligence. Needs `If-Match`."""
    await service.delete_agreement(session, agreement_id, if_match=if_match)
    return Response(status_code=204)


@router.get(
    "/agreements/{agreement_id}/due-diligence",
    response_model=DueDiligenceOut,
    responses={**QUERY_ERRORS, **NOT_MODIFIED, **problem_responses(404)},
)
async def get_due_diligence(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Reader,
    if_none_match: IfNoneMatchHeader = None,
) -> Response:
    """The agreement's due diligence (never public)."""
    found = await service.get_due_diligence(session, agreement_id)
    return conditional_json(
        found, etag=service.due_diligence_etag(found), if_none_match=if_none_match
    )


@router.put(
    "/agreements/{agreement_id}/due-diligence",
    response_model=DueDiligenceOut,
    responses={
        201: {"model": DueDiligenceOut, "description": "Created"},
        **BODY_ERRORS,
        **problem_responses(404, 409, 412),
    },
)
async def put_due_diligence(
    request: Request,
    agreement_id: UUIDText,
    body: DueDiligenceIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Assess a draft's due diligence, or replace it (201 the first time, then 200). Raises
    the agreement's version. `If-Match` is optional."""
    found, created = await service.put_due_diligence(session, agreement_id, body, if_match=if_match)
    etag = service.due_diligence_etag(found)
    if created:
        return created_response(
            request,
            settings,
            found,
            route="get_due_diligence",
            etag=etag,
            agreement_id=str(agreement_id),
        )
    return json_response(found, headers={"ETag": etag})


# --- Workflow transitions (design §3; the table is `agreements.workflow.TRANSITIONS`) -------------

TRANSITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **BODY_ERRORS,
    **problem_responses(404, 409, 412),
}
OptionalNote = Annotated[TransitionIn | None, Body()]


async def _transition(
    session: AsyncSession,
    principal: Principal,
    agreement_id: UUIDText,
    action: str,
    body: TransitionIn | None,
    if_match: str | None,
) -> Response:
    agreement = await service.transition(
        session, agreement_id, action, body, principal=principal, if_match=if_match
    )
    return json_response(agreement, headers={"ETag": service.etag(agreement)})


@router.post(
    "/agreements/{agreement_id}/submit",
    response_model=AgreementOut,
    responses=TRANSITION_RESPONSES,
)
async def submit_agreement(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    body: OptionalNote = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Submit a draft for review (design §3). One 422 lists every missing item: a partner, a
    strategic objective, a due diligence that is not of an excluded sector, a mitigation of a
    medium or high risk. The body (a `note`) is optional; `If-Match` too."""
    return await _transition(session, principal, agreement_id, "submit", body, if_match)


@router.post(
    "/agreements/{agreement_id}/withdraw",
    response_model=AgreementOut,
    responses=TRANSITION_RESPONSES,
)
async def withdraw_agreement(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    body: OptionalNote = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Withdraw an agreement that is a draft or under review. The body (a `note`) is optional; `If-
    Match` too."""
    return await _transition(session, principal, agreement_id, "withdraw", body, if_match)


@router.post(
    "/agreements/{agreement_id}/activate",
    response_model=AgreementOut,
    responses=TRANSITION_RESPONSES,
)
async def activate_agreement(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    body: Annotated[ActivationIn | None, Body()] = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Activate an approved agreement, signed on `signed_on` (default today, UTC). The body (a
    `note`) is optional; `If-Match` too."""
    return await _transition(session, principal, agreement_id, "activate", body, if_match)


@router.post(
    "/agreements/{agreement_id}/suspend",
    response_model=AgreementOut,
    responses=TRANSITION_RESPONSES,
)
async def suspend_agreement(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    body: OptionalNote = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Suspend an active agreement. The body (a `note`) is optional; `If-Match` too."""
    return await _transition(session, principal, agreement_id, "suspend", body, if_match)


@router.post(
    "/agreements/{agreement_id}/resume",
    response_model=AgreementOut,
    responses=TRANSITION_RESPONSES,
)
async def resume_agreement(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    body: OptionalNote = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Resume a suspended agreement. The body (a `note`) is optional; `If-Match` too."""
    return await _transition(session, principal, agreement_id, "resume", body, if_match)


@router.post(
    "/agreements/{agreement_id}/terminate",
    response_model=AgreementOut,
    responses=TRANSITION_RESPONSES,
)
async def terminate_agreement(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    body: OptionalNote = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Terminate an active or suspended agreement. The body (a `note`) is optional; `If-Match`
    too."""
    return await _transition(session, principal, agreement_id, "terminate", body, if_match)


@router.post(
    "/agreements/{agreement_id}/close",
    response_model=AgreementOut,
    responses=TRANSITION_RESPONSES,
)
async def close_agreement(
    agreement_id: UUIDText,
    session: SessionDep,
    principal: Writer,
    body: OptionalNote = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Close an active agreement that ran its course (it is then `ended`). The body (a `note`) is
    optional; `If-Match` too."""
    return await _transition(session, principal, agreement_id, "close", body, if_match)
