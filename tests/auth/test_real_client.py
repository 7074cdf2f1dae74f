"""A real OAuth 2.0 client, Authlib's own, gets a token and calls the API with it."""

from __future__ import annotations

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]
from fastapi import FastAPI

from tests.conftest import register_client


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_authlib_client_credentials(method: str, app: FastAPI) -> None:
    client_id, secret = await register_client(app, "secretariat", name="Authlib")
    async with AsyncOAuth2Client(
        client_id=client_id,
        client_secret=secret,
        scope="registry:read registry:write",
        token_endpoint_auth_method=method,
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
    ) as oauth:
        token = await oauth.fetch_token(
            "http://testserver/oauth/token", grant_type="client_credentials"
        )
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "registry:read registry:write"
        response = await oauth.get("/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "subject": client_id,
        "client_id": client_id,
        "role": "secretariat",
        "scopes": ["registry:read", "registry:write"],
    }


async def test_authlib_client_sees_invalid_client(app: FastAPI) -> None:
    from authlib.integrations.base_client.errors import (  # type: ignore[import-untyped]
        OAuthError,
    )

    client_id, _ = await register_client(app, "bureau")
    async with AsyncOAuth2Client(
        client_id=client_id,
        client_secret="not-the-secret",
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
    ) as oauth:
        with pytest.raises(OAuthError) as raised:
            await oauth.fetch_token(
                "http://testserver/oauth/token", grant_type="client_credentials"
            )
    assert raised.value.error == "invalid_client"
