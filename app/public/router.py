"""`/v1/public/*`: the public register (design §5). Anonymous, read-only, open to any origin.

Every answer is cacheable by anyone for a short while (`Cache-Control: public, max-age`, the
`IPPC_PUBLIC_MAX_AGE_SECONDS` setting) with a strong `ETag` made from its body, and 304 to a
matching `If-None-Match`. The service keeps each JSON answer too (`core/kept.py`), under the
version of the data it was read at: the page's own statement reads the version with the rows
(one snapshot), or, for the engagement balance, the version is read before the data; the edge
serves a kept answer again only while the version read at the next request is the same. A
change committed through any instance raises the version, so every instance answers afresh
from the next request on. An answer that found nothing (an empty page) is not kept.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from app.auth.dependencies import PublicAccess
from app.core.csv_export import CSV_MEDIA_TYPE, PUBLIC_EXPORTS, csv_response, wants_csv
from app.core.http import NOT_MODIFIED, PreparedBody, body_etag, prepare, prepared_response
from app.core.kept import DataVersion, keep_while
from app.core.list_query import ListQuery, list_query
from app.core.listing import LIST_RESPONSES
from app.core.openapi import COMMON_ERRORS, QUERY_ERRORS, V1, api_router, problem_responses
from app.core.pagination import Page
from app.core.session import DatabaseDep, SettingsDep
from app.core.urls import next_link
from app.core.validation import UUIDText
from app.public import service
from app.public.schemas import (
    PublicAgreement,
    PublicAgreementFilters,
    PublicAgreementSort,
    PublicInteraction,
    PublicInteractionFilters,
    PublicInteractionSort,
    PublicOrganization,
)
from app.reports import service as reports
from app.reports.query import Format, From, To
from app.reports.schemas import EngagementBalance


async def data_version(request: Request) -> int:
    """The version of the data, read before the data itself (the engagement balance)."""
    versions: DataVersion = request.app.state.data_version
    return await versions.current()


Version = Annotated[int, Depends(data_version)]

router = api_router(
    f"{V1}/public",
    tags=["Public register"],
    dependencies=[PublicAccess],
    responses={**COMMON_ERRORS, **NOT_MODIFIED},
)

AGREEMENTS_QUERY = list_query(
    PublicAgreementFilters,
    PublicAgreementSort,
    sort_description=service.AGREEMENTS.sorts.description(),
)
AgreementsQuery = Annotated[
    ListQuery[PublicAgreementFilters, PublicAgreementSort], AGREEMENTS_QUERY.dependency
]
INTERACTIONS_QUERY = list_query(
    PublicInteractionFilters,
    PublicInteractionSort,
    sort_description=service.INTERACTIONS.sorts.description(),
)
InteractionsQuery = Annotated[
    ListQuery[PublicInteractionFilters, PublicInteractionSort], INTERACTIONS_QUERY.dependency
]
NOT_PUBLIC = {**QUERY_ERRORS, **problem_responses(404)}


def _answer(request: Request, settings: SettingsDep, published: service.Published) -> Response:
    """A public answer, kept under the data's version it was read at (when it has one)."""
    if published.version is not None:
        keep_while(request, published.version)
    prepared = published.body
    return prepared_response(
        request,
        prepared,
        max_age=settings.public_max_age_seconds,
        headers=next_link(settings, request, prepared.next_cursor),
    )


@router.get(
    "/agreements",
    response_model=Page[PublicAgreement],
    responses=LIST_RESPONSES,
    openapi_extra=AGREEMENTS_QUERY.openapi,
)
async def list_public_agreements(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    query: AgreementsQuery,
) -> Response:
    """Approved agreements (approved, active, suspended, ended or terminated), with their
    partners and decisions. `format=csv` (or `Accept: text/csv`): every one the filters keep."""
    if wants_csv(query.format, request.headers.get("accept")):
        export = service.export_agreements(
            query.filters, query.sort, max_age=settings.public_max_age_seconds
        )
        return csv_response(request, database, settings, export, pool=PUBLIC_EXPORTS)
    page = await service.list_agreements(
        database, query.filters, sort=query.sort, limit=query.limit, cursor=query.cursor
    )
    return _answer(request, settings, page)


@router.get("/agreements/{agreement_id}", response_model=PublicAgreement, responses=NOT_PUBLIC)
async def get_public_agreement(
    request: Request,
    agreement_id: UUIDText,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """An approved agreement. Any other id, that of an agreement not approved included, is
    the same 404."""
    agreement = await service.get_agreement(database, agreement_id)
    return _answer(request, settings, agreement)


@router.get(
    "/interactions",
    response_model=Page[PublicInteraction],
    responses=LIST_RESPONSES,
    openapi_extra=INTERACTIONS_QUERY.openapi,
)
async def list_public_interactions(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    query: InteractionsQuery,
) -> Response:
    """The liaison interactions the Secretariat made public: whom the IPPC met, when and on
    what. `format=csv` (or `Accept: text/csv`): every one the filters keep."""
    if wants_csv(query.format, request.headers.get("accept")):
        export = service.export_interactions(
            query.filters, query.sort, max_age=settings.public_max_age_seconds
        )
        return csv_response(request, database, settings, export, pool=PUBLIC_EXPORTS)
    page = await service.list_interactions(
        database, query.filters, sort=query.sort, limit=query.limit, cursor=query.cursor
    )
    return _answer(request, settings, page)


@router.get(
    "/interactions/{interaction_id}", response_model=PublicInteraction, responses=NOT_PUBLIC
)
async def get_public_interaction(
    request: Request,
    interaction_id: UUIDText,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """A public interaction. Any other id, that of an internal one included, is the same 404."""
    interaction = await service.get_interaction(database, interaction_id)
    return _answer(request, settings, interaction)


@router.get(
    "/organizations/{organization_id}", response_model=PublicOrganization, responses=NOT_PUBLIC
)
async def get_public_organization(
    request: Request,
    organization_id: UUIDText,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """An organization's public profile, with its latest public agreements and interactions:
    only for an organization in at least one of them; any other id is the same 404."""
    organization = await service.get_organization(database, organization_id)
    return _answer(request, settings, organization)


@router.get(
    "/engagement-balance",
    response_model=EngagementBalance,
    responses={
        200: {
            "content": {CSV_MEDIA_TYPE: {}},  # no schema: `core.listing.LIST_RESPONSES`
            "description": "The balance as JSON, or as CSV (one row per year, kind, strategic "
            "objective, partner category and sector: count, total, share) with `format=csv` or "
            "`Accept: text/csv`.",
        },
        **QUERY_ERRORS,
    },
)
async def get_public_engagement_balance(
    request: Request,
    version: Version,
    database: DatabaseDep,
    settings: SettingsDep,
    from_: From = None,
    to: To = None,
    format_: Format = None,
) -> Response:
    """Whom the IPPC engages with, from public data only: the public interactions and the
    approved agreements of a period, as (item, organization) pairs by the organizations'
    category and sector, per year and strategic objective (the Secretariat's report of the
    same name counts its internal interactions too)."""
    balance = await reports.engagement_balance(database, from_=from_, to=to, public_only=True)
    if wants_csv(format_, request.headers.get("accept")):
        # Written whole (it is small): a strong ETag from its bytes, 304, kept like the JSON.
        body = reports.engagement_balance_csv(balance)
        keep_while(request, version)
        return prepared_response(
            request,
            PreparedBody(body, body_etag(body)),
            max_age=settings.public_max_age_seconds,
            headers={"Content-Disposition": 'attachment; filename="public-engagement-balance.csv"'},
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        )
    # One statement of the reports, with no room for the version: it was read before.
    return _answer(request, settings, service.Published(prepare(balance), version))
