"""The FastAPI dependencies that say who may call a route.

Every route declares its access in its signature or its router: `PublicAccess` for anonymous
routes, `require(Scope.X)` for internal ones (`require()` with no scope: any valid token). The
authorization matrix test reads these declarations from `app.routes`.

`require` is a FastAPI `Security` dependency on the OAuth 2.0 client credentials scheme below, so
each operation's scopes appear in the OpenAPI contract and the docs page can authorize. Routers
list `AUTH_ERRORS` in their `responses` so that the contract declares the 401 and 403.

- No bearer token: 401, `WWW-Authenticate: Bearer realm="ippc"`.
- A token in the query string (`access_token=`): 401 `invalid_request`; tokens travel in the
  Authorization header only, never in URLs (which are logged and cached).
- A token that fails validation: 401 `invalid_token` (see `app.auth.tokens`).
- A valid token without the scope: 403 `insufficient_scope`, naming the scope needed.

Rate limits (`core/ratelimit.py`): a request with a bearer token is counted here, once its token
is checked: a valid token against its client's budget (a 429 when it is spent, before the scope
is looked at), a token that fails validation against the caller's address, like a request
without one, so that forging tokens earns no fresh budget.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from starlette.types import Scope as AsgiScope

from app.auth.jwks import RemoteJWKS
from app.auth.paths import TOKEN_PATH
from app.auth.scopes import SCOPE_DESCRIPTIONS, Principal, Scope
from app.auth.tokens import (
    EMBEDDED_POLICY,
    EXTERNAL_POLICY,
    DatabaseKeys,
    TokenValidator,
    bearer_challenge,
)
from app.core.config import AuthMode, Settings
from app.core.db import Database
from app.core.errors import Forbidden, Unauthorized
from app.core.openapi import problem_responses
from app.core.session import per_app

SECURITY_SCHEME_NAME = "OAuth2"

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl=TOKEN_PATH,
            # The client credentials grant has no refresh token (RFC 6749 §4.4.3): a client
            # gets a new short-lived token at the token endpoint itself.
            refreshUrl=TOKEN_PATH,
            scopes={scope.value: text for scope, text in SCOPE_DESCRIPTIONS.items()},
        )
    ),
    scheme_name=SECURITY_SCHEME_NAME,
    description=(
        "OAuth 2.0 client credentials. In the embedded mode this service issues the tokens at "
        "/oauth/token; in the external mode the organization's identity provider does. Tokens "
        "are short-lived JWT access tokens (RFC 9068; embedded ones live "
        "`IPPC_ACCESS_TOKEN_TTL_SECONDS`, 5 minutes by default, at most an hour). The client "
        "credentials grant issues no refresh token (RFC 6749 §4.4.3): `refreshUrl` is the "
        "token endpoint itself, where a client whose token expires gets a new one with its "
        "credentials. Tokens are validated as RFC8725 (JSON Web Token Best Current Practices) "
        "asks: pinned signature algorithms (never `none` nor HMAC), keys of the algorithm's "
        "type, explicit typing (`at+jwt`) of embedded tokens, issuer and audience, and expiry "
        'required (docs/auth.md, "Claims policy").'
    ),
    auto_error=False,
)

# The responses every guarded operation declares.
AUTH_ERRORS = problem_responses(401, 403)


async def public() -> None:
    """Marks a route as open to anonymous callers (`async`: a plain function would cost a thread
    hop per request)."""


PublicAccess = Depends(public)


def build_validator(
    settings: Settings,
    database: Database,
    *,
    jwks_transport: httpx.AsyncBaseTransport | None = None,
) -> TokenValidator:
    """The token validator of the configured mode: one path, two key sources.

    `jwks_transport` replaces the network when fetching the identity provider's keys (tests)."""
    if settings.auth_mode is AuthMode.external:
        assert settings.jwks_url is not None  # Settings refuses external mode without it.
        return TokenValidator(
            issuer=settings.issuer,
            audience=settings.audience,
            leeway_seconds=settings.clock_leeway_seconds,
            keys=RemoteJWKS(settings.jwks_url, transport=jwks_transport),
            policy=EXTERNAL_POLICY,
        )
    return TokenValidator(
        issuer=settings.issuer,
        audience=settings.audience,
        leeway_seconds=settings.clock_leeway_seconds,
        keys=DatabaseKeys(database, settings),
        policy=EMBEDDED_POLICY,
    )


def token_validator(request: Request) -> TokenValidator:
    """The application's validator, made on first use (its key cache lives as long as the app)."""
    state = request.app.state
    return per_app(
        request, "token_validator", lambda: build_validator(state.settings, state.database)
    )


async def client_of_token(scope: AsgiScope, token: str) -> str | None:
    """The client a bearer token speaks for, or None when it is not valid: what the edge counts
    a request against (`core.ratelimit`). The validator remembers the tokens it verified, so
    the access check that follows costs a lookup."""
    try:
        principal = await token_validator(Request(scope)).validate(token)
    except Unauthorized:
        return None
    return principal.client_id or principal.subject


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token:
        raise Unauthorized(
            "The Authorization header carries no token.",
            headers={
                "WWW-Authenticate": bearer_challenge(
                    error="invalid_request", error_description="empty bearer token."
                )
            },
        )
    return token


async def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The caller, from a valid bearer token holding every scope the route requires."""
    # The query string is parsed only when it could hold one (every request pays the check).
    if b"access_token" in request.scope["query_string"] and "access_token" in request.query_params:
        raise Unauthorized(
            "Send the access token in the Authorization header, never in the URL.",
            headers={
                "WWW-Authenticate": bearer_challenge(
                    error="invalid_request",
                    error_description="tokens are not accepted in the query string.",
                )
            },
        )
    token = _bearer_token(authorization)
    if token is None:
        raise Unauthorized(
            "This operation needs a bearer token.",
            headers={"WWW-Authenticate": bearer_challenge()},
        )
    principal = await token_validator(request).validate(token)
    missing = [name for name in security_scopes.scopes if name not in principal.scopes]
    if missing:
        needed = " ".join(security_scopes.scopes)
        raise Forbidden(
            f"This operation needs the scope {' '.join(missing)}, which the token does not grant.",
            headers={
                "WWW-Authenticate": bearer_challenge(error="insufficient_scope", scope=needed)
            },
        )
    request.state.principal = principal
    return principal


def require(*scopes: Scope) -> Any:
    """The dependency guarding an internal route: `principal: Annotated[Principal,
    require(Scope.registry_read)]`, or in a router's `dependencies=[require(...)]`."""
    return Security(authenticate, scopes=[scope.value for scope in scopes])
