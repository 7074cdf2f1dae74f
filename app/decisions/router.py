"""`/v1/agreements/{id}/decisions`, `/v1/decisions`, `/v1/interest-declarations` and
`/v1/agreements/{id}/history`: approval decisions (append-only: no PATCH, PUT or DELETE route,
so those methods are 405), the interests members declare, and an agreement's history."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

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
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.core.preconditions import IfMatchHeader, IfNoneMatchHeader
from app.core.session import DatabaseDep, SessionDep, SettingsDep
from app.core.urls import created_response, next_link
from app.core.validation import UUIDText
from app.decisions import service
from app.decisions.schemas import (
    AgreementDecisionFilters,
    DecisionFilters,
    DecisionIn,
    DecisionOut,
    DecisionSort,
    HistoryOut,
    InterestDeclarationFilters,
    InterestDeclarationIn,
    InterestDeclarationOut,
    InterestDeclarationPatch,
    InterestDeclarationSort,
)

router = api_router(V1, tags=["Decisions"], responses={**COMMON_ERRORS, **AUTH_ERRORS})

Reader = Annotated[Principal, require(Scope.registry_read)]
Decider = Annotated[Principal, require(Scope.decisions_write)]
Creator = Annotated[CreateOnce, idempotent(require(Scope.decisions_write))]


_SORTS = service.LIST.sorts.description()
LIST_QUERY = list_query(DecisionFilters, DecisionSort, sort_description=_SORTS)
SCOPED_QUERY = list_query(AgreementDecisionFilters, DecisionSort, sort_description=_SORTS)
DECLARATIONS_QUERY = list_query(
    InterestDeclarationFilters,
    InterestDeclarationSort,
    sort_description=service.DECLARATIONS.sorts.description(),
)
ListParameters = Annotated[ListQuery[DecisionFilters, DecisionSort], LIST_QUERY.dependency]
ScopedParameters = Annotated[
    ListQuery[AgreementDecisionFilters, DecisionSort], SCOPED_QUERY.dependency
]
DeclarationParameters = Annotated[
    ListQuery[InterestDeclarationFilters, InterestDeclarationSort], DECLARATIONS_QUERY.dependency
]


def _principal(create: CreateOnce) -> Principal:
    assert isinstance(create.actor, Principal)
    return create.actor


@router.post(
    "/agreements/{agreement_id}/decisions",
    status_code=201,
    response_model=DecisionOut,
    responses={**BODY_ERRORS, **problem_responses(404, 409, 412)},
)
async def record_decision(
    request: Request,
    agreement_id: UUIDText,
    body: DecisionIn,
    create: Creator,
    settings: SettingsDep,
    if_match: IfMatchHeader = None,
) -> Response:
    """Record a Bureau decision (on a `submitted` agreement) or a CPM decision (in
    `cpm_review`), or correct one (`supersedes_id`). A member with a declared interest in a
    partner is refused (409 `recusal-required`). `agreement_status` is the agreement's new
    status. `If-Match` (the agreement's ETag) is optional."""

    async def work(session: AsyncSession) -> Response:
        decision = await service.record_decision(
            session, agreement_id, body, actor=_principal(create), if_match=if_match
        )
        return created_response(
            request,
            settings,
            decision,
            route="get_decision",
            etag=service.etag(decision),
            decision_id=str(decision.id),
        )

    return await create.run(work)


@router.get(
    "/decisions",
    response_model=Page[DecisionOut],
    responses=LIST_RESPONSES,
    openapi_extra=LIST_QUERY.openapi,
)
async def list_decisions(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Reader,
    query: ListParameters,
) -> Response:
    """Decisions of every agreement, corrections included."""
    return await list_response(
        request,
        settings,
        database,
        format_=query.format,
        page=lambda: service.list_decisions(
            database, query.filters, sort=query.sort, limit=query.limit, cursor=query.cursor
        ),
        export=lambda: service.export(query.filters, query.sort),
    )


@router.get(
    "/agreements/{agreement_id}/decisions",
    response_model=Page[DecisionOut],
    responses={**LIST_RESPONSES, **problem_responses(404)},
    openapi_extra=SCOPED_QUERY.openapi,
)
async def list_agreement_decisions(
    request: Request,
    agreement_id: UUIDText,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Reader,
    query: ScopedParameters,
) -> Response:
    """An agreement's decisions, corrections included, with the filters of the whole list."""
    filters = await service.of_agreement(database, agreement_id, query.filters)
    return await list_response(
        request,
        settings,
        database,
        format_=query.format,
        page=lambda: service.list_decisions(
            database, filters, sort=query.sort, limit=query.limit, cursor=query.cursor
        ),
        export=lambda: service.export(filters, query.sort),
    )


@router.get(
    "/decisions/{decision_id}",
    response_model=DecisionOut,
    responses={**QUERY_ERRORS, **NOT_MODIFIED, **problem_responses(404)},
)
async def get_decision(
    decision_id: UUIDText,
    database: DatabaseDep,
    principal: Reader,
    if_none_match: IfNoneMatchHeader = None,
) -> Response:
    """A decision."""
    shown = await service.get_decision(database, decision_id)
    return conditional_body(shown.body, etag=shown.etag, if_none_match=if_none_match)


@router.get(
    "/agreements/{agreement_id}/history",
    response_model=HistoryOut,
    tags=["Agreements"],
    responses={**QUERY_ERRORS, **problem_responses(404)},
)
async def get_agreement_history(
    request: Request,
    agreement_id: UUIDText,
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    """The agreement's transitions and decisions, in the order they were committed, with who
    acted (subject and name) and their notes; paged like every list (`limit`, `cursor`, and a
    `Link` to the next page)."""
    page = await service.history(session, agreement_id, limit=limit, cursor=cursor)
    return json_response(page, headers=next_link(settings, request, page.next_cursor))


# --- Interest declarations -----------------------------------------------------------------------


@router.post(
    "/interest-declarations",
    status_code=201,
    response_model=InterestDeclarationOut,
    responses={**BODY_ERRORS, **problem_responses(409)},
)
async def declare_interest(
    request: Request, body: InterestDeclarationIn, create: Creator, settings: SettingsDep
) -> Response:
    """Declare an interest of yours (the token's subject) in an organization. While it is in
    force you cannot record a decision on an agreement it is a partner of."""

    async def work(session: AsyncSession) -> Response:
        declaration = await service.declare_interest(session, body, actor=_principal(create))
        return created_response(
            request,
            settings,
            declaration,
            route="get_interest_declaration",
            etag=service.declaration_etag(declaration),
            declaration_id=str(declaration.id),
        )

    return await create.run(work)


@router.get(
    "/interest-declarations",
    response_model=Page[InterestDeclarationOut],
    responses=LIST_RESPONSES,
    openapi_extra=DECLARATIONS_QUERY.openapi,
)
async def list_interest_declarations(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Reader,
    query: DeclarationParameters,
) -> Response:
    """Every member's declared interests, ended ones included."""
    return await list_response(
        request,
        settings,
        database,
        format_=query.format,
        page=lambda: service.list_declarations(
            database, query.filters, sort=query.sort, limit=query.limit, cursor=query.cursor
        ),
        export=lambda: service.export_declarations(query.filters, query.sort),
    )


@router.get(
    "/interest-declarations/{declaration_id}",
    response_model=InterestDeclarationOut,
    responses={**QUERY_ERRORS, **NOT_MODIFIED, **problem_responses(404)},
)
async def get_interest_declaration(
    declaration_id: UUIDText,
    session: SessionDep,
    principal: Reader,
    if_none_match: IfNoneMatchHeader = None,
) -> Response:
    """An interest declaration."""
    found = await service.get_declaration(session, declaration_id)
    return conditional_json(
        found, etag=service.declaration_etag(found), if_none_match=if_none_match
    )


@router.patch(
    "/interest-declarations/{declaration_id}",
    response_model=InterestDeclarationOut,
    responses={**BODY_ERRORS, **problem_responses(404, 412, 428)},
)
async def update_interest_declaration(
    declaration_id: UUIDText,
    patch: Annotated[InterestDeclarationPatch, Body(media_type="application/merge-patch+json")],
    session: SessionDep,
    principal: Decider,
    if_match: IfMatchHeader = None,
) -> Response:
    """Correct the nature of your own declaration, or end it (`ended_on`, not before today).
    Needs `If-Match`."""
    found = await service.update_declaration(
        session, declaration_id, patch, actor=principal, if_match=if_match
    )
    return json_response(found, headers={"ETag": service.declaration_etag(found)})
