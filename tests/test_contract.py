"""The OpenAPI contract: committed, free of drift, every operation named and its errors declared."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI

from app.core.openapi import CONTRACT_PATH, render_contract

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# The OAuth 2.0 token endpoint answers its own errors as RFC 6749 §5.2 JSON, not problems,
# and takes a form, not JSON.
TOKEN_ENDPOINT = "issue_access_token"
OAUTH_ERROR_STATUSES = {"400", "401"}


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_committed_contract_has_no_drift(app: FastAPI) -> None:
    committed = CONTRACT_PATH.read_text(encoding="utf-8")
    assert render_contract(app) == committed, "the contract changed: run `ippc openapi`"


def test_operation_ids_are_readable_and_unique(app: FastAPI) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(app)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", operation_id), operation_id


@pytest.mark.parametrize("status", ["500"])
def test_every_operation_declares_server_errors(app: FastAPI, status: str) -> None:
    for path, method, operation in _operations(app):
        assert status in operation["responses"], f"{method.upper()} {path} lacks {status}"


def test_error_responses_are_problem_json(app: FastAPI) -> None:
    for path, method, operation in _operations(app):
        for status, response in operation["responses"].items():
            if operation["operationId"] == TOKEN_ENDPOINT and status in OAUTH_ERROR_STATUSES:
                assert "application/problem+json" not in response.get("content", {})
                continue
            if status[0] in "45":
                assert list(response.get("content", {})) == ["application/problem+json"], (
                    f"{method.upper()} {path} {status}"
                )


def test_operations_with_input_declare_validation_errors(app: FastAPI) -> None:
    for path, method, operation in _operations(app):
        if operation["operationId"] == TOKEN_ENDPOINT:
            continue
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in operation["responses"], f"{method.upper()} {path}"


def test_operations_with_bodies_declare_body_errors(app: FastAPI) -> None:
    for path, method, operation in _operations(app):
        if "requestBody" in operation and operation["operationId"] != TOKEN_ENDPOINT:
            for status in ("400", "413", "415", "422"):
                assert status in operation["responses"], f"{method.upper()} {path} {status}"
