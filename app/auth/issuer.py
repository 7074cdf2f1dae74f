"""The embedded issuer's token endpoint: the client credentials grant (RFC 6749 §4.4), written
directly on joserfc.

Clients authenticate with client_secret_basic (HTTP Basic, RFC 6749 §2.3.1: id and secret
form-encoded, then base64) or client_secret_post (in the form), never both. Errors are RFC 6749
§5.2 objects raised as `OAuthError`, which the router answers as they are: this endpoint alone
does not speak problem+json (design §8).

Failed client authentications are counted per client id and per caller address
(`core.ratelimit.TokenFailures`); while either budget is spent, the request is refused before
its secret is checked: a 429 problem with `Retry-After`, like every other rate limit (RFC 6749
has no error code for it, and the endpoint already answers the errors that are not about the
OAuth request itself, 404, 413 and 500, as problems).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_plus

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.clients import authenticate_client
from app.auth.keys import ensure_signing_key, public_jwk, published_keys
from app.auth.paths import JWKS_PATH, TOKEN_PATH
from app.auth.schemas import JWKOut, JWKSOut, ServerMetadataOut, TokenOut, TokenRequest
from app.auth.scopes import ROLE_SCOPES, Role, Scope
from app.auth.tokens import sign_access_token
from app.core.config import AuthMode, Settings
from app.core.errors import FIELD_DETAIL_MAX_LENGTH, NotFound, bounded
from app.core.ratelimit import TokenFailures

GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 16
_LIMITS = {"client_id": 64, "client_secret": 256, "scope": 512, "grant_type": 64}
# The form's schema, for the contract (the form itself is parsed by `parse_form`).
TokenRequestSchema = TokenRequest.model_json_schema()


class OAuthError(Exception):
    """An RFC 6749 §5.2 error."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {
            "error": self.error,
            "error_description": bounded(self.description, FIELD_DETAIL_MAX_LENGTH),
        }

    def headers(self) -> dict[str, str]:
        if self.status == 401:
            return {"WWW-Authenticate": 'Basic realm="ippc"'}
        return {}


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def ensure_embedded(settings: Settings) -> None:
    if settings.auth_mode is not AuthMode.embedded:
        raise NotFound("The embedded token issuer is off: tokens come from the identity provider.")


def parse_form(content_type: str, body: bytes) -> dict[str, str]:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise invalid_request(f"Send the request as {FORM_MEDIA_TYPE}.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise invalid_request("The form cannot be read.") from error
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise invalid_request(f"The parameter {name} is repeated.")
        if len(value) > _LIMITS.get(name, 1024):
            raise invalid_request(f"The parameter {name} is too long.")
        form[name] = value
    return form


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "Authenticate with HTTP Basic.", status=401)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise OAuthError("invalid_client", "Malformed Basic credentials.", status=401) from error
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise OAuthError("invalid_client", "Malformed Basic credentials.", status=401)
    return unquote_plus(client_id), unquote_plus(secret)


def client_credentials(form: Mapping[str, str], authorization: str | None) -> tuple[str, str]:
    """The (client id, secret) pair, from exactly one authentication method."""
    if authorization:
        if "client_secret" in form:
            raise invalid_request("Use one client authentication method, not two.")
        client_id, secret = _basic_credentials(authorization)
        if form.get("client_id", client_id) != client_id:
            raise invalid_request("client_id differs from the authenticated client.")
        return client_id, secret
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    raise OAuthError("invalid_client", "Client authentication is required.", status=401)


def granted_scopes(role: Role, requested: str | None) -> frozenset[Scope]:
    allowed = ROLE_SCOPES[role]
    if requested is None or not requested.strip():
        return allowed
    names = set(requested.split())
    if not names <= {scope.value for scope in allowed}:
        raise OAuthError("invalid_scope", "The requested scope exceeds what this client may have.")
    return frozenset(Scope(name) for name in names)


async def issue_token(
    session: AsyncSession,
    settings: Settings,
    *,
    content_type: str,
    body: bytes,
    authorization: str | None,
    failures: TokenFailures,
) -> TokenOut:
    ensure_embedded(settings)
    form = parse_form(content_type, body)
    client_id, secret = client_credentials(form, authorization)
    await failures.check(client_id)
    client = await authenticate_client(session, client_id, secret)
    if client is None:
        await failures.failed(client_id)
        raise OAuthError("invalid_client", "Client authentication failed.", status=401)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise invalid_request("grant_type is required.")
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", f"Only {GRANT_TYPE} is supported.")
    scopes = granted_scopes(Role(client.role), form.get("scope"))
    key = await ensure_signing_key(session, settings)
    token = sign_access_token(
        key=key, key_secret=settings.key_secret, settings=settings, client=client, scopes=scopes
    )
    return TokenOut(
        access_token=token,
        expires_in=settings.access_token_ttl_seconds,
        scope=" ".join(sorted(scope.value for scope in scopes)),
    )


def server_metadata(settings: Settings) -> ServerMetadataOut:
    ensure_embedded(settings)
    base = settings.issuer.rstrip("/")
    return ServerMetadataOut(
        issuer=settings.issuer,
        token_endpoint=base + TOKEN_PATH,
        jwks_uri=base + JWKS_PATH,
        grant_types_supported=[GRANT_TYPE],
        token_endpoint_auth_methods_supported=list(AUTH_METHODS),
        scopes_supported=[scope.value for scope in Scope],
        response_types_supported=[],
    )


async def published_jwks(session: AsyncSession, settings: Settings) -> JWKSOut:
    ensure_embedded(settings)
    rows = await published_keys(session, settings)
    return JWKSOut(keys=[JWKOut.model_validate(public_jwk(row)) for row in rows])
