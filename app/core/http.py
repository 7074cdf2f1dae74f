"""HTTP caching for responses that anyone may cache: strong ETags made from the body, and 304."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from fastapi.encoders import jsonable_encoder
from starlette.requests import Request
from starlette.responses import Response

from app.core.serialization import dump_json

JSON_MEDIA_TYPE = "application/json"


def body_etag(body: bytes) -> str:
    """A strong ETag: the same bytes always give the same tag, other bytes another one."""
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def _matches_any(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, `*` matching any current representation."""
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        if candidate.strip().removeprefix("W/") == bare:
            return True
    return False


def cacheable_json(
    request: Request,
    content: Any,
    *,
    max_age: int,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Serialize once, tag the bytes, and answer 304 when the caller already has them."""
    body = dump_json(jsonable_encoder(content))
    etag = body_etag(body)
    headers = {
        **(headers or {}),
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _matches_any(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSON_MEDIA_TYPE, headers=headers)


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag in If-None-Match is still current."}
}
