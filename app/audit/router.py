"""`/v1/audit-events`: the audit trail and change feed (scope audit:read). Read-only."""

from __future__ import annotations

from typing import Annotated, Never

from fastapi import Path, Request, Response

from app.audit import service
from app.audit.schemas import MAX_EVENT_ID, AuditEventFilters, AuditEventOut
from app.auth.dependencies import AUTH_ERRORS, require
from app.auth.scopes import Principal, Scope
from app.core.http import conditional_json, json_response
from app.core.list_query import ListQuery, list_query
from app.core.openapi import COMMON_ERRORS, QUERY_ERRORS, V1, api_router, problem_responses
from app.core.pagination import Page
from app.core.session import SessionDep, SettingsDep
from app.core.urls import next_link

AuditReader = Annotated[Principal, require(Scope.audit_read)]
LIST_QUERY = list_query(AuditEventFilters, csv=False)
ListParameters = Annotated[ListQuery[AuditEventFilters, Never], LIST_QUERY.dependency]

router = api_router(
    f"{V1}/audit-events", tags=["Audit events"], responses={**COMMON_ERRORS, **AUTH_ERRORS}
)


@router.get(
    "",
    response_model=Page[AuditEventOut],
    responses=QUERY_ERRORS,
    openapi_extra=LIST_QUERY.openapi,
)
async def list_audit_events(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: AuditReader,
    query: ListParameters,
) -> Response:
    """Audit events in the order they committed (ascending `id`): the change feed. Every
    holder of audit:read sees the whole trail.

    A follower keeps the `id` of the last event it processed and asks for `after_id=<id>`;
    see docs/audit.md."""
    page = await service.list_events(session, query.filters, limit=query.limit, cursor=query.cursor)
    return json_response(page, headers=next_link(settings, request, page.next_cursor))


@router.get(
    "/{event_id}",
    response_model=AuditEventOut,
    responses={**QUERY_ERRORS, **problem_responses(404), 304: {"description": "Not modified."}},
)
async def get_audit_event(
    request: Request,
    session: SessionDep,
    principal: AuditReader,
    event_id: Annotated[int, Path(ge=1, le=MAX_EVENT_ID)],
) -> Response:
    """One audit event. Events never change: its ETag is fixed and answers 304 when matched."""
    event = await service.get_event(session, event_id)
    return conditional_json(
        event, etag=f'"audit-event-{event.id}"', if_none_match=request.headers.get("if-none-match")
    )
