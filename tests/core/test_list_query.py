"""A list's query read in one pass (`core.list_query`) answers and documents exactly what
FastAPI's declared parameters would: each list is checked against a twin declared the usual
way."""

from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Query
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from app.agreements.router import LIST_QUERY as AGREEMENTS
from app.agreements.router import SCOPED_QUERY as PARTNER_AGREEMENTS
from app.agreements.schemas import AgreementFilters, AgreementSort, PartnerAgreementFilters
from app.audit.router import LIST_QUERY as AUDIT_EVENTS
from app.audit.schemas import AuditEventFilters
from app.core.errors import install_error_handlers
from app.core.list_query import (
    MAX_FILTER_VALUES,
    NOT_UTF8,
    TOO_MANY_VALUES,
    ListQuery,
    QueryDependency,
)
from app.core.listing import FormatQuery
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from app.decisions.router import DECLARATIONS_QUERY
from app.decisions.router import LIST_QUERY as DECISIONS
from app.decisions.router import SCOPED_QUERY as AGREEMENT_DECISIONS
from app.decisions.schemas import (
    AgreementDecisionFilters,
    DecisionFilters,
    DecisionSort,
    InterestDeclarationFilters,
    InterestDeclarationSort,
)
from app.interactions.router import LIST_QUERY as INTERACTIONS
from app.interactions.router import SCOPED_QUERY as ORGANIZATION_INTERACTIONS
from app.interactions.schemas import (
    InteractionFilters,
    InteractionSort,
    OrganizationInteractionFilters,
)
from app.organizations.router import LIST_QUERY as ORGANIZATIONS
from app.organizations.schemas import OrganizationFilters, OrganizationSort

LISTS: list[tuple[QueryDependency, type[BaseModel], type[Enum] | None, bool]] = [
    (ORGANIZATIONS, OrganizationFilters, OrganizationSort, True),
    (INTERACTIONS, InteractionFilters, InteractionSort, True),
    (ORGANIZATION_INTERACTIONS, OrganizationInteractionFilters, InteractionSort, True),
    (AGREEMENTS, AgreementFilters, AgreementSort, True),
    (PARTNER_AGREEMENTS, PartnerAgreementFilters, AgreementSort, True),
    (DECISIONS, DecisionFilters, DecisionSort, True),
    (AGREEMENT_DECISIONS, AgreementDecisionFilters, DecisionSort, True),
    (DECLARATIONS_QUERY, InterestDeclarationFilters, InterestDeclarationSort, True),
    (AUDIT_EVENTS, AuditEventFilters, None, False),
]
IDS = [
    "organizations",
    "interactions",
    "org-interactions",
    "agreements",
    "partner",
    "decisions",
    "agreement-decisions",
    "declarations",
    "audit",
]


def _apps(
    spec: QueryDependency, filters: type[BaseModel], sort: type[Enum] | None, csv: bool
) -> tuple[FastAPI, FastAPI]:
    """The list's query as the service reads it, and a twin declaring the same parameters as
    FastAPI reads them; both answer what they read."""
    sort_description = ""
    for parameter in spec.openapi["parameters"]:
        if parameter["name"] == "sort":
            sort_description = parameter["description"]

    fast = FastAPI()
    install_error_handlers(fast)

    @fast.get("/list", openapi_extra=spec.openapi)
    async def read(query: Annotated[ListQuery[Any, Any], spec.dependency]) -> dict[str, Any]:
        return {
            "filters": query.filters.model_dump(mode="json"),
            "sort": None if query.sort is None else query.sort.value,
            "limit": query.limit,
            "cursor": query.cursor,
            "format": query.format,
        }

    declared = FastAPI()
    install_error_handlers(declared)
    twin: Callable[..., Any]
    if sort is not None:
        Sort = Annotated[sort | None, Query(description=sort_description)]  # type: ignore[valid-type]

        async def twin(
            filters: Annotated[filters, Query()],  # type: ignore[valid-type]
            sort: Sort = None,
            limit: LimitQuery = DEFAULT_LIMIT,
            cursor: CursorQuery = None,
            format: FormatQuery = None,
        ) -> dict[str, Any]:
            return {
                "filters": filters.model_dump(mode="json"),  # type: ignore[attr-defined]
                "sort": None if sort is None else sort.value,
                "limit": limit,
                "cursor": cursor,
                "format": format,
            }
    else:
        assert not csv

        async def twin(
            filters: Annotated[filters, Query()],  # type: ignore[valid-type]
            limit: LimitQuery = DEFAULT_LIMIT,
            cursor: CursorQuery = None,
        ) -> dict[str, Any]:
            return {
                "filters": filters.model_dump(mode="json"),  # type: ignore[attr-defined]
                "sort": None,
                "limit": limit,
                "cursor": cursor,
                "format": None,
            }

    declared.get("/list")(twin)
    return fast, declared


def _parameters(app: FastAPI) -> list[dict[str, Any]]:
    schema = get_openapi(title="t", version="1", routes=app.routes)
    return list(schema["paths"]["/list"]["get"]["parameters"])


def _with_cap(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "array":
        return {**schema, "maxItems": MAX_FILTER_VALUES}
    if "anyOf" in schema:
        return {**schema, "anyOf": [_with_cap(option) for option in schema["anyOf"]]}
    return schema


@pytest.mark.parametrize(("spec", "filters", "sort", "csv"), LISTS, ids=IDS)
def test_the_parameters_are_documented_as_declared_ones_would_be(
    spec: QueryDependency, filters: type[BaseModel], sort: type[Enum] | None, csv: bool
) -> None:
    """The same, but for the cap on a repeated filter's values, which the list states."""
    fast, declared = _apps(spec, filters, sort, csv)
    expected = [
        {**parameter, "schema": _with_cap(parameter["schema"])}
        for parameter in _parameters(declared)
    ]
    assert _parameters(fast) == expected
    assert any("maxItems" in str(parameter["schema"]) for parameter in _parameters(fast)), (
        "every list has a repeated filter"
    )


def _repeated(filters: type[BaseModel]) -> list[str]:
    return [
        name
        for name, field in filters.model_json_schema()["properties"].items()
        if "array" in str(field)
    ]


@pytest.mark.parametrize(("spec", "filters", "sort", "csv"), LISTS, ids=IDS)
async def test_a_repeated_filter_takes_at_most_the_cap(
    spec: QueryDependency, filters: type[BaseModel], sort: type[Enum] | None, csv: bool
) -> None:
    """Past MAX_FILTER_VALUES values, one 422 names the parameter, before any value is read."""
    fast, _declared = _apps(spec, filters, sort, csv)
    transport = httpx.ASGITransport(app=fast)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for name in _repeated(filters):
            within = await client.get("/list", params=[(name, "x")] * MAX_FILTER_VALUES)
            beyond = await client.get("/list", params=[(name, "x")] * (MAX_FILTER_VALUES + 1))
            assert TOO_MANY_VALUES not in within.text, name
            assert beyond.status_code == 422, name
            assert beyond.json()["errors"] == [{"detail": TOO_MANY_VALUES, "parameter": name}]


QUERIES = [
    "",
    "limit=5&cursor=abc&format=csv",
    "limit=0",
    "limit=201&limit=7",
    "limit=many&cursor=" + "x" * 9000,
    "sort=-created_at",
    "sort=colour",
    "format=xml",
    "q=caf%C3%A9+%26+co",
    "q=a%00b",
    "q=" + "x" * 201,
    "q=",
    "category=ngo&category=rppo&category=nonsense",
    "category=",
    "country=fr&country=ZZ",
    "archived=maybe",
    "status=draft&status=approved&level=partnership",
    "channel=meeting&visibility=public&occurred_on_from=2026-01-01&occurred_on_to=2025-13-01",
    "created_at_from=2026-01-01T00:00:00Z&created_at_to=yesterday",
    "updated_at_from=1700000000",
    "start_date_from=2026-02-30&has_financing=perhaps",
    "organization_id=not-a-uuid&partner_id=00000000-0000-0000-0000-000000000001",
    "resource_type=organization&actor=someone&after_id=-1&after_id=12",
    "governing_body=bureau&governing_body=pope&outcome=approved&decided_on_from=2026-01-01",
    "decided_on_to=tomorrow&agreement_id=00000000-0000-0000-0000-000000000002&sort=-decided_on",
    "member=someone&organization_id=00000000-0000-0000-0000-000000000003&declared_on_from=2026-13-01",
    "unknown=1&limit=3",
    # Not UTF-8 once decoded, in parameters no list reads.
    "%ZZ=%E2%82&unknown=%FF",
]


@pytest.mark.parametrize(("spec", "filters", "sort", "csv"), LISTS, ids=IDS)
async def test_every_query_is_read_as_declared_parameters_would_read_it(
    spec: QueryDependency, filters: type[BaseModel], sort: type[Enum] | None, csv: bool
) -> None:
    fast, declared = _apps(spec, filters, sort, csv)
    for query in QUERIES:
        answers = []
        for app in (fast, declared):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get(f"/list?{query}")
            answers.append((response.status_code, response.json()))
        assert answers[0] == answers[1], query


@pytest.mark.parametrize(("spec", "filters", "sort", "csv"), LISTS, ids=IDS)
async def test_a_value_that_is_not_utf8_is_refused(
    spec: QueryDependency, filters: type[BaseModel], sort: type[Enum] | None, csv: bool
) -> None:
    """Percent-encoded bytes that are not UTF-8 (a stray byte, a cut sequence, a surrogate) in
    a parameter the list reads are a 422 naming it, not a search for U+FFFD; in a parameter no
    list reads they are ignored, as the parameter is."""
    fast, _declared = _apps(spec, filters, sort, csv)
    transport = httpx.ASGITransport(app=fast)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for raw in ("%FF", "%C3", "x%F0%9F", "%ED%A0%80"):
            response = await client.get(f"/list?limit={raw}&cursor={raw}")
            assert response.status_code == 422, raw
            assert response.json()["errors"] == [
                {"detail": NOT_UTF8, "parameter": "limit"},
                {"detail": NOT_UTF8, "parameter": "cursor"},
            ], raw
        ignored = await client.get("/list?unknown=%FF&limit=3")
        assert ignored.status_code == 200, ignored.text
