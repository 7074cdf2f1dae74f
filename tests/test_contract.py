"""The OpenAPI contract: committed, free of drift, every operation named and its errors declared."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI

from app.core.openapi import CONTRACT_PATH, render_contract
from app.main import create_app
from tests.conftest import make_settings

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


def test_every_operation_states_its_security(app: FastAPI) -> None:
    """Anonymous operations say `security: []` rather than leaving it out."""
    anonymous = []
    for path, method, operation in _operations(app):
        assert "security" in operation, f"{method.upper()} {path}"
        if operation["security"] == []:
            anonymous.append(operation["operationId"])
    assert {"get_health", "list_strategic_objectives"} <= set(anonymous)
    assert "list_organizations" not in anonymous


def test_the_token_endpoint_declares_its_client_authentication(app: FastAPI) -> None:
    """HTTP Basic (client_secret_basic), or nothing in the headers (client_secret_post: the id
    and secret are in the form)."""
    schema = app.openapi()
    (operation,) = [op for _, _, op in _operations(app) if op["operationId"] == TOKEN_ENDPOINT]
    assert operation["security"] == [{"ClientSecretBasic": []}, {}]
    scheme = schema["components"]["securitySchemes"]["ClientSecretBasic"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "basic")
    oauth2 = schema["components"]["securitySchemes"]["OAuth2"]
    assert oauth2["flows"]["clientCredentials"]["refreshUrl"] == "/oauth/token"
    assert "RFC8725" in oauth2["description"]


def test_the_contract_does_not_depend_on_the_deployment(app: FastAPI, database_url: str) -> None:
    """One fixed, relative server: the contract is the same whatever IPPC_BASE_URL says."""
    (server,) = app.openapi()["servers"]
    assert server["url"] == "/"
    assert server["x-internal"] is False
    elsewhere = create_app(make_settings(database_url, base_url="https://elsewhere.example"))
    assert render_contract(elsewhere) == render_contract(app)


def test_if_match_is_required_where_its_absence_is_a_428(app: FastAPI) -> None:
    operations = [
        operation for _, _, operation in _operations(app) if "428" in operation["responses"]
    ]
    assert {operation["operationId"] for operation in operations} >= {
        "update_organization",
        "delete_organization",
    }
    for operation in operations:
        (if_match,) = [p for p in operation["parameters"] if p["name"] == "If-Match"]
        assert if_match["required"] is True, operation["operationId"]
        assert if_match["schema"]["type"] == "string"


# Output schemas whose strings and arrays carry the bounds the service keeps.
BOUNDED_OUTPUTS = (
    "OrganizationOut",
    "OrganizationDetail",
    "MeOut",
    "TokenOut",
    "JWKOut",
    "ServerMetadataOut",
    "Page_OrganizationOut_",
    "Page_AuditEventOut_",
    "ActorOut",
    "AuditEventOut",
    "StrategicObjectiveOut",
    "ProblemTypeOut",
    "Problem",
)


def _unbounded(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    for option in options:
        if option.get("type") == "string" and not (
            "maxLength" in option or "enum" in option or "const" in option or "format" in option
        ):
            return True
        if option.get("type") == "array" and "maxItems" not in option:
            return True
    return False


def test_outputs_state_their_bounds(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    for name in BOUNDED_OUTPUTS:
        for field, schema in schemas[name]["properties"].items():
            if (name, field) == ("Problem", "detail"):
                continue  # composed by the service from its own rules: no fixed bound
            assert not _unbounded(schema), f"{name}.{field}"
    assert schemas["Problem"]["properties"]["errors"]["anyOf"][0]["maxItems"] == 50


def test_bounds_follow_the_stored_columns() -> None:
    from app.models.reference import StrategicObjective
    from app.strategic_objectives.schemas import CODE_MAX_LENGTH, TITLE_MAX_LENGTH

    columns = StrategicObjective.__table__.c  # type: ignore[attr-defined]
    assert columns.code.type.length == CODE_MAX_LENGTH
    assert columns.title.type.length == TITLE_MAX_LENGTH
