"""`/v1/reports/*`: figures for CPM documents, as JSON or CSV (design §7)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import Request, Response
from pydantic import BaseModel

from app.auth.dependencies import AUTH_ERRORS, require
from app.auth.scopes import Principal, Scope
from app.core.csv_export import CSV_MEDIA_TYPE, wants_csv
from app.core.http import JSON_MEDIA_TYPE
from app.core.openapi import COMMON_ERRORS, QUERY_ERRORS, V1, api_router
from app.core.session import DatabaseDep
from app.reports import service
from app.reports.query import Format, From, To
from app.reports.schemas import EngagementBalance, SummaryReport

router = api_router(f"{V1}/reports", tags=["Reports"], responses={**COMMON_ERRORS, **AUTH_ERRORS})

Reader = Annotated[Principal, require(Scope.registry_read)]


def _responses(csv_shape: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "content": {CSV_MEDIA_TYPE: {}},  # no schema: see `core.listing.LIST_RESPONSES`
            "description": f"The report as JSON, or as CSV ({csv_shape}) with `format=csv` or "
            "`Accept: text/csv`.",
        },
        **QUERY_ERRORS,
    }


def _answer(
    request: Request,
    format_: str | None,
    report: BaseModel,
    csv: Callable[[], bytes],
    filename: str,
) -> Response:
    """The report as CSV when asked (`format=csv` or the Accept header), else as JSON. The same
    URL answers both: `Vary: Accept`."""
    if wants_csv(format_, request.headers.get("accept")):
        return Response(
            csv(),
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "private, no-store",
                "Vary": "Accept",
            },
        )
    return Response(
        report.model_dump_json().encode(), media_type=JSON_MEDIA_TYPE, headers={"Vary": "Accept"}
    )


@router.get(
    "/summary",
    response_model=SummaryReport,
    responses=_responses("one row per kind, dimension and key: count, total, share"),
)
async def get_summary_report(
    request: Request,
    database: DatabaseDep,
    principal: Reader,
    from_: From = None,
    to: To = None,
    format_: Format = None,
) -> Response:
    """Agreements by status, level, instrument, strategic objective, partner category and
    sector; interactions by channel, partner category and sector; in a period. Interactions are
    dated by `occurred_on`, agreements by their approving decision or, not approved, by their
    last status change; partners count once per (item, organization) pair."""
    report = await service.summary(database, from_=from_, to=to)
    csv = partial(service.summary_csv, report)
    return _answer(request, format_, report, csv, "summary.csv")


@router.get(
    "/engagement-balance",
    response_model=EngagementBalance,
    responses=_responses(
        "one row per year, kind, strategic objective, partner category and sector: count, "
        "total, share"
    ),
)
async def get_engagement_balance_report(
    request: Request,
    database: DatabaseDep,
    principal: Reader,
    from_: From = None,
    to: To = None,
    format_: Format = None,
) -> Response:
    """The share of interactions and of approved agreements by the organizations' category and
    sector, per year and strategic objective: whether one kind of interest dominates the
    IPPC's contacts. Shares are of (item, organization) pairs."""
    report = await service.engagement_balance(database, from_=from_, to=to)
    csv = partial(service.engagement_balance_csv, report)
    return _answer(request, format_, report, csv, "engagement-balance.csv")
