"""What the access layer answers: the caller, tokens, token errors, keys and server metadata."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.keys import MAX_PUBLISHED_KEYS
from app.auth.scopes import Role, Scope
from app.core.config import MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS
from app.core.errors import FIELD_DETAIL_MAX_LENGTH


class MeOut(BaseModel):
    """Who the token says the caller is."""

    subject: str = Field(max_length=255, description="The token's subject (`sub`).")
    client_id: str | None = Field(
        max_length=255, description="The OAuth client the token was issued to."
    )
    role: Role | None = Field(description="The caller's role, when the token names one.")
    scopes: list[Scope] = Field(
        max_length=len(Scope), description="The scopes the token grants, sorted."
    )


class TokenRequest(BaseModel):
    """The form fields of a token request (application/x-www-form-urlencoded)."""

    model_config = ConfigDict(extra="allow")

    grant_type: Literal["client_credentials"]
    scope: str | None = Field(
        default=None,
        max_length=512,
        description="Space-separated scopes; omitted means every scope of the client's role.",
    )
    client_id: str | None = Field(
        default=None, max_length=64, description="With client_secret_post only."
    )
    client_secret: str | None = Field(
        default=None, max_length=256, description="With client_secret_post only."
    )


class TokenOut(BaseModel):
    """A successful token response (RFC 6749 §5.1)."""

    access_token: str = Field(max_length=8192)
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int = Field(
        ge=MIN_TOKEN_TTL_SECONDS, le=MAX_TOKEN_TTL_SECONDS, description="Seconds the token lives."
    )
    scope: str = Field(max_length=512, description="The granted scopes, space-separated.")


class OAuthErrorOut(BaseModel):
    """A token endpoint error (RFC 6749 §5.2): the token endpoint does not speak problem+json."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    error_description: str | None = Field(default=None, max_length=FIELD_DETAIL_MAX_LENGTH)


class JWKOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    kty: str = Field(max_length=8)
    kid: str = Field(max_length=256)
    use: str = Field(max_length=8)
    alg: str = Field(max_length=16)


class JWKSOut(BaseModel):
    """The public keys that verify this service's tokens (RFC 7517)."""

    keys: list[JWKOut] = Field(max_length=MAX_PUBLISHED_KEYS)


class ServerMetadataOut(BaseModel):
    """Authorization server metadata (RFC 8414)."""

    issuer: str = Field(max_length=2048)
    token_endpoint: str = Field(max_length=2048)
    jwks_uri: str = Field(max_length=2048)
    grant_types_supported: list[Annotated[str, Field(max_length=64)]] = Field(max_length=8)
    token_endpoint_auth_methods_supported: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=8
    )
    scopes_supported: list[Annotated[str, Field(max_length=64)]] = Field(max_length=len(Scope))
    response_types_supported: list[Annotated[str, Field(max_length=64)]] = Field(max_length=8)
