"""HEAD answered wherever GET is (RFC 9110 §9.3.2): the same status and headers, no body.

The edge (`core/edge.py`) runs a HEAD request as a GET through the application and drops the
body on its way out, so the routes, and the OpenAPI contract, know only their GETs (no HEAD
operations, no duplicate operationIds). `Content-Length`, `ETag` and `Cache-Control` are the
GET's. This module holds the mark the edge sets: a response that produces its body as it
streams (a CSV export) asks `is_head_request()` and skips the work.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.requests import HTTPConnection
from starlette.types import Scope

# Set in the scope the application sees, and in the context of the request's task.
HEAD_SCOPE_KEY = "ippc.head_request"
head_request_var: ContextVar[bool] = ContextVar("head_request", default=False)


def as_get(scope: Scope) -> Scope:
    """The scope a HEAD request is run with: a GET, marked. A copy: the server keeps its own
    scope, and with it the knowledge that this is a HEAD."""
    return {**scope, "method": "GET", HEAD_SCOPE_KEY: True}


def is_head_request(scope_or_request: Scope | HTTPConnection | None = None) -> bool:
    """Whether the request being answered is a HEAD run as a GET (its body will be dropped).

    Given a scope or a request, reads its mark; given nothing, the current request's (for code
    that holds neither, such as the body of a streamed response)."""
    if scope_or_request is None:
        return head_request_var.get()
    scope = (
        scope_or_request.scope if isinstance(scope_or_request, HTTPConnection) else scope_or_request
    )
    return bool(scope.get(HEAD_SCOPE_KEY, False))
