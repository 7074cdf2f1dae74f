"""The access endpoints: who am I (`/v1/me`), and the embedded issuer's token endpoint, keys and
metadata. The token endpoint answers RFC 6749 JSON (`application/json;charset=UTF-8`, as in the
RFC's examples), never problem+json, and forbids caching of what it answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request, Response, Security
from fastapi.openapi.models import HTTPBase
from fastapi.responses import JSONResponse
from fastapi.security.base import SecurityBase

from app.auth import issuer
from app.auth.dependencies import AUTH_ERRORS, PublicAccess, require
from app.auth.paths import JWKS_PATH, METADATA_PATH, TOKEN_PATH
from app.auth.schemas import JWKSOut, MeOut, OAuthErrorOut, ServerMetadataOut, TokenOut
from app.auth.scopes import Principal
from app.core.errors import PROBLEM_MEDIA_TYPE, problem_for_status
from app.core.http import cacheable_json
from app.core.openapi import COMMON_ERRORS, V1, api_router, problem_responses
from app.core.ratelimit import TokenFailures
from app.core.session import SessionDep, SettingsDep

KEYS_MAX_AGE_SECONDS = 60
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthJSONResponse(JSONResponse):
    media_type = "application/json;charset=UTF-8"


me_router = api_router(V1, tags=["Access"], responses={**COMMON_ERRORS, **AUTH_ERRORS})


@me_router.get("/me", response_model=MeOut)
async def get_me(principal: Annotated[Principal, require()]) -> MeOut:
    """Who the token says the caller is: any valid token may ask."""
    return MeOut(
        subject=principal.subject,
        client_id=principal.client_id,
        role=principal.role,
        scopes=sorted(principal.scopes),
    )


issuer_router = api_router(tags=["Access"], dependencies=[PublicAccess])


def _problems_beside_oauth_json(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem responses of the token endpoint, whose own media type is RFC 6749's JSON."""
    return {
        status: {
            "description": problem_for_status(status).title,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


class ClientSecretBasic(SecurityBase):
    """The token endpoint's client authentication with HTTP Basic (client_secret_basic, RFC 6749
    §2.3.1), declared for the contract: the issuer reads the header itself, so that its errors
    stay RFC 6749's (`issuer.issue_token`). The other way, client_secret_post, puts the id and
    secret in the form, which no security scheme can express: the endpoint's `security` lists
    this scheme or nothing (`{}`), and its request body documents the form's fields."""

    def __init__(self) -> None:
        self.model = HTTPBase(
            scheme="basic",
            description="The token endpoint's client authentication (RFC 6749 §2.3.1): "
            "client_secret_basic, the client id and secret as HTTP Basic credentials, over "
            "TLS. Or client_secret_post: `client_id` and `client_secret` in the form instead.",
        )
        self.scheme_name = "ClientSecretBasic"

    async def __call__(self) -> None:
        """Reads nothing (see the class)."""


_TOKEN_REQUEST_BODY: dict[str, Any] = {
    # With ClientSecretBasic's requirement, which FastAPI writes: HTTP Basic, or the form.
    "security": [{}],
    "requestBody": {
        "required": True,
        "content": {
            issuer.FORM_MEDIA_TYPE: {
                "schema": issuer.TokenRequestSchema,
            }
        },
    },
}


@issuer_router.post(
    TOKEN_PATH,
    response_model=TokenOut,
    response_class=OAuthJSONResponse,
    responses={
        400: {"model": OAuthErrorOut, "description": "RFC 6749 §5.2 error"},
        401: {"model": OAuthErrorOut, "description": "invalid_client"},
        **_problems_beside_oauth_json(404, 413, 429, 500),
    },
    openapi_extra=_TOKEN_REQUEST_BODY,
)
async def issue_access_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _client: Annotated[None, Security(ClientSecretBasic())],
) -> Response:
    """The client credentials grant: a short-lived RFC 9068 access token (embedded mode only).

    Authenticate with HTTP Basic (client_secret_basic) or with client_id and client_secret in the
    form (client_secret_post)."""
    try:
        token = await issuer.issue_token(
            session,
            settings,
            content_type=request.headers.get("content-type", ""),
            body=await request.body(),
            authorization=request.headers.get("authorization"),
            failures=TokenFailures.of(request.scope),
        )
    except issuer.OAuthError as error:
        return OAuthJSONResponse(
            error.body(), status_code=error.status, headers={**NO_STORE, **error.headers()}
        )
    return OAuthJSONResponse(token.model_dump(), headers=NO_STORE)


@issuer_router.get(
    JWKS_PATH,
    response_model=JWKSOut,
    responses={**COMMON_ERRORS, **problem_responses(404)},
)
async def get_jwks(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The public keys that verify this service's tokens (current and recently retired)."""
    keys = await issuer.published_jwks(session, settings)
    return cacheable_json(request, keys, max_age=KEYS_MAX_AGE_SECONDS)


@issuer_router.get(
    METADATA_PATH,
    response_model=ServerMetadataOut,
    responses={**COMMON_ERRORS, **problem_responses(404)},
)
async def get_authorization_server_metadata(request: Request, settings: SettingsDep) -> Response:
    """RFC 8414 metadata of the embedded issuer."""
    metadata = issuer.server_metadata(settings)
    return cacheable_json(request, metadata, max_age=KEYS_MAX_AGE_SECONDS)
