"""HEAD answered wherever GET is (RFC 9110 §9.3.2): the same status and headers, no body.

`HeadAsGet` is an outer ASGI layer: it runs a HEAD request as a GET through the application and
drops the body on its way out, so the routes, and the OpenAPI contract, know only their GETs (no
HEAD operations, no duplicate operationIds). `Content-Length`, `ETag` and `Cache-Control` are the
GET's. A response that produces its body as it streams (a CSV export) asks `is_head_request()`
and skips the work.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Set in the scope the application sees, and in the context of the request's task.
HEAD_SCOPE_KEY = "ippc.head_request"
_head_request: ContextVar[bool] = ContextVar("head_request", default=False)


def is_head_request(scope_or_request: Scope | HTTPConnection | None = None) -> bool:
    """Whether the request being answered is a HEAD run as a GET (its body will be dropped).

    Given a scope or a request, reads its mark; given nothing, the current request's (for code
    that holds neither, such as the body of a streamed response)."""
    if scope_or_request is None:
        return _head_request.get()
    scope = (
        scope_or_request.scope if isinstance(scope_or_request, HTTPConnection) else scope_or_request
    )
    return bool(scope.get(HEAD_SCOPE_KEY, False))


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server keeps its own scope, and with it the knowledge that this is a HEAD.
        as_get = {**scope, "method": "GET", HEAD_SCOPE_KEY: True}
        body_sent = False

        async def send_headers_only(message: Message) -> None:
            nonlocal body_sent
            if message["type"] == "http.response.body":
                if body_sent:
                    return
                body_sent = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        token = _head_request.set(True)
        try:
            await self.app(as_get, receive, send_headers_only)
        finally:
            _head_request.reset(token)
