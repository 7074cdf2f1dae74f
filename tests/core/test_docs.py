"""The documentation pages load nothing from elsewhere: their assets are the service's own."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

PAGES = ("/docs", "/redoc")
_REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _policy(response: httpx.Response) -> dict[str, list[str]]:
    directives = {}
    for directive in response.headers["content-security-policy"].split(";"):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


@pytest.mark.parametrize("page", PAGES)
async def test_docs_pages_reference_only_the_service(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?:|//[a-z0-9]", response.text, re.IGNORECASE)
    references = _REFERENCE.findall(response.text)
    assert len(references) >= 3
    for reference in references:
        assert reference.startswith("/"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.content, reference


@pytest.mark.parametrize("page", PAGES)
async def test_docs_pages_allow_scripts_from_the_service_only(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    policy = _policy(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    scripts = policy["script-src"]
    assert scripts[0] == "'self'"
    inline = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(response.text)
    ]
    assert scripts[1:] == inline
    for sources in policy.values():
        for source in sources:
            assert source not in ("'unsafe-eval'", "*"), source
            assert "://" not in source, source
    assert "'unsafe-inline'" not in scripts


async def test_the_assets_are_javascript_and_css(client: httpx.AsyncClient) -> None:
    expected = {
        "/docs/assets/swagger-ui-bundle.js": "text/javascript",
        "/docs/assets/swagger-ui.css": "text/css",
        "/docs/assets/redoc.standalone.js": "text/javascript",
    }
    for path, media_type in expected.items():
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_nothing_else_is_served_beside_the_assets(client: httpx.AsyncClient) -> None:
    for path in (
        "/docs/assets/nothing.js",
        "/docs/assets/..%2F__init__.py",
        "/docs/oauth2-redirect",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
