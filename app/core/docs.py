"""The interactive documentation, served entirely by the service: nothing is loaded from
elsewhere at run time.

FastAPI's own `/docs` and `/redoc` pages load Swagger UI and ReDoc from a CDN without subresource
integrity: whoever controls the CDN, or the path to it, runs script in the page, next to the
tokens typed into it. Here both pages load the copies packaged in the installed
`fastapi-offline` distribution (Swagger UI 5 and ReDoc 2, pinned by hash in the lock files),
served under `/docs/assets/`, and each page carries a Content-Security-Policy that allows
scripts, styles, images and connections from the service itself only (plus the one inline
script of the Swagger UI page, by its hash).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
ASSETS_DIRECTORY = Path(fastapi_offline.__file__).resolve().parent / "static"

# Swagger UI's own defaults, and no online validator badge (it would load an image from the
# validator's site).
SWAGGER_UI_PARAMETERS = {"validatorUrl": None, "persistAuthorization": False}

# What both pages share: nothing from elsewhere, no framing, no forms, no <base>.
_COMMON_POLICY = (
    "default-src 'none'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _inline_script_hashes(html: str) -> list[str]:
    """CSP sources allowing exactly the page's inline scripts, by their SHA-256."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    ]


@dataclass(frozen=True)
class Page:
    """A page made once, answered as a new response each time (responses are not shared:
    the outer layers write their headers into them)."""

    html: bytes
    policy: str

    def response(self) -> HTMLResponse:
        return HTMLResponse(self.html, headers={"Content-Security-Policy": self.policy})


def swagger_ui_page(app: FastAPI) -> Page:
    html = get_swagger_ui_html(
        openapi_url=str(app.openapi_url),
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    body = bytes(html.body)
    scripts = " ".join(["'self'", *_inline_script_hashes(body.decode())])
    # Swagger UI sets style attributes as it renders.
    policy = (*_COMMON_POLICY, f"script-src {scripts}", "style-src 'self' 'unsafe-inline'")
    return Page(body, "; ".join(policy))


def redoc_page(app: FastAPI) -> Page:
    html = get_redoc_html(
        openapi_url=str(app.openapi_url),
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
    # ReDoc writes its styles into the page and searches in a worker it makes from a blob.
    policy = (
        *_COMMON_POLICY,
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "worker-src blob:",
    )
    return Page(bytes(html.body), "; ".join(policy))


def install_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI), `/redoc` (ReDoc) and their assets, all served from the package."""
    swagger = swagger_ui_page(app)
    redoc = redoc_page(app)

    async def docs(_request: Request) -> Response:
        return swagger.response()

    async def redoc_docs(_request: Request) -> Response:
        return redoc.response()

    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIRECTORY), name="docs-assets")
    app.add_route(DOCS_PATH, docs, include_in_schema=False)
    app.add_route(REDOC_PATH, redoc_docs, include_in_schema=False)
