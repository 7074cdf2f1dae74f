"""Property-based fuzzing of the whole API against the committed contract (no 5xx, and every
response conforms: status, headers, content type and schema)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.core.openapi import CONTRACT_PATH
from app.main import create_app
from tests.conftest import make_settings, null_pool_database

schema = schemathesis.openapi.from_path(CONTRACT_PATH)
schema.config.update(base_url="http://testserver")


@pytest.fixture
def fuzzed_app(sync_database_url: str) -> FastAPI:
    """A fresh app on a fresh database; its connections open per use (Schemathesis drives the
    app from an event loop of its own)."""
    return create_app(
        make_settings(sync_database_url), database=null_pool_database(sync_database_url)
    )


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_contract(case: schemathesis.Case[Any], fuzzed_app: FastAPI) -> None:
    excluded: list[CheckFunction] = []
    if case.query and "cursor" in case.query:
        # A cursor is opaque: only the values the service handed out are valid, which no
        # schema can say. A made-up one is rightly a 422, though it matches the schema.
        excluded.append(positive_data_acceptance)
    case.call_and_validate(app=fuzzed_app, excluded_checks=excluded)
