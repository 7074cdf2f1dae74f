"""Property-based fuzzing of the whole API against the committed contract: no 5xx, and every
response conforms (status, headers, content type, body).

Each operation is called with a real token of a role that holds the scopes the contract says it
needs (made at run time, never a constant), on a database holding an organization, an agreement
with its due diligence, an interaction and some audit events, so that the fuzzing reaches past
authentication."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from app.auth.scopes import ROLE_SCOPES, Role
from app.core.openapi import CONTRACT_PATH
from app.main import create_app
from tests.conftest import fetch_token, make_settings, null_pool_database, register_client

schema = schemathesis.openapi.from_path(CONTRACT_PATH)
schema.config.update(base_url="http://testserver")

# Query parameters that take any text: a "wrong type" value (a number, `false`) arrives as a
# query string, which is valid text for them, so accepting it is right.
FREE_TEXT_PARAMETERS = frozenset({"q", "resource_type", "resource_id", "actor"})


async def _prepare(app: FastAPI) -> dict[Role, str]:
    """A token per role, and some data for the operations to find."""
    tokens: dict[Role, str] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for role in Role:
            client_id, secret = await register_client(app, role.value)
            tokens[role] = await fetch_token(http, client_id, secret)
        secretariat = {"Authorization": f"Bearer {tokens[Role.secretariat]}"}
        response = await http.post(
            "/v1/organizations",
            json={"name": "Plant Health Body", "country": "KE", "category": "nppo"},
            headers=secretariat,
        )
        assert response.status_code == 201, response.text
        agreement = await http.post(
            "/v1/agreements",
            json={
                "title": "Surveillance memorandum",
                "level": "partnership",
                "instrument": "memorandum_of_understanding",
                "partner_ids": [response.json()["id"]],
                "strategic_objectives": ["2020-2030.A"],
                "financing": {"amount": "1000", "currency": "USD", "direction": "to_ippc"},
            },
            headers=secretariat,
        )
        assert agreement.status_code == 201, agreement.text
        assessed = await http.put(
            f"/v1/agreements/{agreement.json()['id']}/due-diligence",
            json={"risk_level": "low", "undue_influence_assessment": "None found."},
            headers=secretariat,
        )
        assert assessed.status_code == 201, assessed.text
        met = await http.post(
            "/v1/interactions",
            json={
                "occurred_on": "2026-11-02",
                "channel": "meeting",
                "subject": "Surveillance meeting",
                "organization_ids": [response.json()["id"]],
                "agreement_id": agreement.json()["id"],
                "visibility": "public",
            },
            headers=secretariat,
        )
        assert met.status_code == 201, met.text
    return tokens


@pytest.fixture
def fuzzed(sync_database_url: str) -> tuple[FastAPI, dict[Role, str]]:
    """A fresh app on a fresh database; its connections open per use (Schemathesis drives the
    app from an event loop of its own)."""
    app = create_app(
        make_settings(sync_database_url), database=null_pool_database(sync_database_url)
    )
    return app, asyncio.run(_prepare(app))


def _headers(case: schemathesis.Case[Any], tokens: dict[Role, str]) -> dict[str, str]:
    """A bearer token of a role holding every scope the operation requires, if it requires any."""
    security = case.operation.definition.raw.get("security") or []
    if not any("OAuth2" in requirement for requirement in security):
        return {}  # anonymous, or the token endpoint's client authentication
    needed = {
        scope for requirement in security for scopes in requirement.values() for scope in scopes
    }
    for role in Role:
        if needed <= {scope.value for scope in ROLE_SCOPES[role]}:
            return {"Authorization": f"Bearer {tokens[role]}"}
    raise AssertionError(f"no role holds {needed}")


# Rules no schema states, so that a request can match the contract and still be refused (422):
# a headquarters that does not exist, a national organization without its country, a cursor
# the service did not hand out (cursors are opaque), an Idempotency-Key an earlier example
# used with another body, and text a person typed that shows nothing (only invisible or
# combining characters: `core.validation.VISIBLE_TEXT`, which needs Unicode categories that
# the contract's ECMAScript patterns cannot express): names, titles, subjects, participants.
# For agreements and interactions: partners, organizations, objectives and linked agreements
# that do not exist (or are archived), an end before the start, a mitigation a medium or high
# risk lacks, and a financing patch that leaves it incomplete. For the workflow: the submission's
# requirements, dates that must not be in the future (a signature, a decision, a declaration),
# the end of a declaration (not before today nor its start), an organization that does not
# exist, and a correction of a decision that is not the agreement's, or of another body or
# outcome. For reports: a period that ends before it starts, or names a date outside the years
# reports cover (the contract's dates have no bounds).
RULES_BEYOND_THE_SCHEMA = frozenset(
    {
        "from",
        "to",
        "/parent_id",
        "/country",
        "cursor",
        "Idempotency-Key",
        "/name",
        "/acronym",
        "/title",
        "/subject",
        "/legal_arrangement",
        "/undue_influence_assessment",
        "/mitigation",
        "/assessed_by",
        "/end_date",
        "/agreement_id",
        "/partner_ids",
        "/strategic_objectives",
        "/due_diligence",
        "/note",
        "/signed_on",
        "/rationale",
        "/meeting_reference",
        "/decided_on",
        "/supersedes_id",
        "/governing_body",
        "/outcome",
        "/organization_id",
        "/nature",
        "/declared_on",
        "/ended_on",
    }
)
# The same, for every item of a list (`/partner_ids/3`) or member of an object.
RULES_BEYOND_THE_SCHEMA_BELOW = (
    "/ippc_participants/",
    "/participants/",
    "/due_diligence/",
    "/partner_ids/",
    "/organization_ids/",
    "/strategic_objectives/",
    "/financing/",
)


def _beyond_the_schema(where: str | None) -> bool:
    return where is not None and (
        where in RULES_BEYOND_THE_SCHEMA or where.startswith(RULES_BEYOND_THE_SCHEMA_BELOW)
    )


def _refused_by_a_rule_beyond_the_schema(response: Any) -> bool:
    if response.status_code != 422:
        return False
    errors = response.json().get("errors") or []
    return bool(errors) and all(
        _beyond_the_schema(error.get("pointer") or error.get("parameter")) for error in errors
    )


def _excluded_checks(case: schemathesis.Case[Any], response: Any) -> list[CheckFunction]:
    excluded: list[CheckFunction] = []
    query = case.query or {}
    if _refused_by_a_rule_beyond_the_schema(response):
        excluded.append(positive_data_acceptance)
    meta = case.meta
    if (
        meta is not None
        and meta.is_negative_at(ParameterLocation.QUERY)
        and FREE_TEXT_PARAMETERS & set(query)
    ):
        excluded.append(negative_data_rejection)
    return excluded


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_contract(
    case: schemathesis.Case[Any], fuzzed: tuple[FastAPI, dict[Role, str]]
) -> None:
    app, tokens = fuzzed
    headers = {**dict(case.headers or {}), **_headers(case, tokens)}
    response = case.call(app=app, headers=headers)
    case.validate_response(response, excluded_checks=_excluded_checks(case, response))
