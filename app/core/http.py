"""HTTP caching for responses that anyone may cache: strong ETags made from the body, and 304."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from app.core.preconditions import none_match
from app.core.serialization import dump_json

JSON_MEDIA_TYPE = "application/json"


def body_etag(body: bytes) -> str:
    """A strong ETag: the same bytes always give the same tag, other bytes another one."""
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


@dataclass(frozen=True)
class PreparedBody:
    """A public answer serialized once, with its strong ETag (and, for a page, the cursor of
    the next one, so that its Link can be made for each request)."""

    body: bytes
    etag: str
    next_cursor: str | None = None


def prepare(content: BaseModel, *, next_cursor: str | None = None) -> PreparedBody:
    body = content.model_dump_json().encode()
    return PreparedBody(body, body_etag(body), next_cursor)


def prepared_response(
    request: Request,
    prepared: PreparedBody,
    *,
    max_age: int,
    headers: Mapping[str, str] | None = None,
    media_type: str = JSON_MEDIA_TYPE,
) -> Response:
    """A prepared public answer, or 304 when the caller already has it."""
    all_headers = {
        **(headers or {}),
        "ETag": prepared.etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept",
    }
    if none_match(request.headers.get("if-none-match"), prepared.etag):
        return Response(status_code=304, headers=all_headers)
    return Response(prepared.body, media_type=media_type, headers=all_headers)


def cacheable_json(
    request: Request,
    content: Any,
    *,
    max_age: int,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Serialize once, tag the bytes, and answer 304 when the caller already has them."""
    body = dump_json(jsonable_encoder(content))
    return prepared_response(
        request, PreparedBody(body, body_etag(body)), max_age=max_age, headers=headers
    )


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag in If-None-Match is still current."}
}


def json_response(
    content: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A model serialized once, straight to bytes."""
    return Response(
        content.model_dump_json().encode(),
        status_code=status_code,
        media_type=JSON_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


PRIVATE_CACHING = "private, no-cache"


def conditional_json(content: BaseModel, *, etag: str, if_none_match: str | None) -> Response:
    """A private resource with its ETag; 304 when the caller's copy is current."""
    return conditional_body(
        content.model_dump_json().encode(), etag=etag, if_none_match=if_none_match
    )


def conditional_body(body: bytes, *, etag: str, if_none_match: str | None) -> Response:
    """`conditional_json` for a resource already written as JSON."""
    headers = {"ETag": etag, "Cache-Control": PRIVATE_CACHING}
    if none_match(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSON_MEDIA_TYPE, headers=headers)
