"""The ASGI layers that wrap the whole application, outside Starlette's own error middleware.

From the outside in:
- `ResponseDefaults`: headers every response carries, 500s included: `X-Content-Type-Options:
  nosniff`, and a `Cache-Control` and a `Content-Security-Policy` unless the response set its own.
- `RequestContext`: a request id (the caller's `X-Request-ID` when it is sane, else a new one),
  echoed on every response, and one JSON access-log line a request.
- `HeadAsGet` (`core/head.py`): HEAD runs as GET, its body dropped.
- `PathAwareCORS`: the public paths are open to any origin, whether or not the request names
  one; the internal API only to the configured front-end origins, and every internal response
  says `Vary: Origin`. Being outside the error middleware, even a 500 carries the headers.
- `BodyGuard`: bodies over the configured limit are refused with 413 (chunked bodies are counted
  as they arrive); a body that is not JSON is refused with 415, except on the form-encoded paths;
  a NUL character in the URL is refused (404 in the path, 422 in a query parameter).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import (
    CONTENT_TOO_LARGE,
    HEADERS_TOO_LARGE,
    INTERNAL,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION,
    FieldError,
    is_plain_name,
    listed_errors,
    problem_response,
)
from app.core.logging import request_id_var
from app.core.validation import NUL_MESSAGE, holds_nul

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.errors")

REQUEST_ID_HEADER = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


# What a response that is not a page may do in a browser: nothing (no scripts, no framing).
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


# Request headers: how many, and how many bytes in all (names and values). A bearer token (at
# most 8 KiB) and the usual headers fit many times over.
MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 32 * 1024


class HeaderGuard:
    """Refuses requests with too many or too large headers (431) before the application reads
    them (each lookup of a header scans them all); the outer layers have read only the request
    id and the origin, so that the refusal carries both. The server has already read the
    headers: a proxy in front of the service bounds them before that (docs/http.md)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            if len(headers) > MAX_HEADER_COUNT or (
                sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES
            ):
                response = problem_response(
                    HEADERS_TOO_LARGE,
                    f"Send at most {MAX_HEADER_COUNT} headers, of {MAX_HEADER_BYTES} bytes in all.",
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ResponseDefaults:
    """Headers every response carries: `nosniff`, and defaults for the ones a route may set.

    `cache_control(path)` gives the `Cache-Control` of a response that set none (routes that
    want caching, such as the public ones, set theirs)."""

    def __init__(self, app: ASGIApp, *, cache_control: Callable[[str], str]) -> None:
        self.app = app
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_defaults(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if "cache-control" not in headers:
                    headers["Cache-Control"] = self.cache_control(path)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = API_CONTENT_SECURITY_POLICY
            await send(message)

        await self.app(scope, receive, send_with_defaults)


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette's error middleware has already answered and logged the error through
            # the service's 500 handler; only a failure before any answer is handled here.
            if not response_started:
                error_logger.exception("request failed before a response was started")
                response = problem_response(INTERNAL, "An unexpected error occurred.")
                await response(scope, receive, send_with_id)
        finally:
            access_logger.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


def _join(values: Iterable[str]) -> str:
    return ", ".join(values)


class PathAwareCORS:
    """CORS with two policies, chosen by path.

    Public paths get `Access-Control-Allow-Origin: *` on every response, whether or not the
    request names an origin: a shared cache may then hand any browser the copy it kept. Internal
    paths answer only the configured origins, and say `Vary: Origin` on every response, since
    their CORS headers depend on it."""

    public_methods = ("GET", "HEAD", "OPTIONS")
    internal_methods = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    allowed_request_headers = (
        "Accept",
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
        "If-Match",
        "If-None-Match",
        "X-Request-ID",
    )
    exposed_headers = ("ETag", "Link", "Location", "X-Request-ID", "Retry-After")
    preflight_max_age = "600"

    def __init__(
        self,
        app: ASGIApp,
        *,
        is_public_path: Callable[[str], bool],
        internal_origins: Sequence[str],
    ) -> None:
        self.app = app
        self.is_public_path = is_public_path
        self.internal_origins = frozenset(internal_origins)

    def _policy(self, path: str, origin: str | None) -> tuple[str, tuple[str, ...]] | None:
        """(Access-Control-Allow-Origin, allowed methods) for this request, or None."""
        if self.is_public_path(path):
            return "*", self.public_methods
        if origin is not None and origin in self.internal_origins:
            return origin, self.internal_methods
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        public = self.is_public_path(scope["path"])
        policy = self._policy(scope["path"], origin)
        is_preflight = (
            scope["method"] == "OPTIONS"
            and origin is not None
            and "access-control-request-method" in headers
        )
        if policy is not None and is_preflight:
            allow_origin, methods = policy
            await self._preflight(scope, receive, send, headers, allow_origin, methods)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                if policy is not None:
                    response_headers["Access-Control-Allow-Origin"] = policy[0]
                    response_headers["Access-Control-Expose-Headers"] = _join(self.exposed_headers)
                if not public:
                    response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Headers,
        allow_origin: str,
        methods: tuple[str, ...],
    ) -> None:
        requested = headers["access-control-request-method"].upper()
        response_headers = {
            "Access-Control-Allow-Origin": allow_origin,
            "Access-Control-Allow-Methods": _join(methods),
            "Access-Control-Allow-Headers": _join(self.allowed_request_headers),
            "Access-Control-Max-Age": self.preflight_max_age,
        }
        if allow_origin != "*":
            response_headers["Vary"] = "Origin"
        status = 204 if requested in methods else 405
        await Response(status_code=status, headers=response_headers)(scope, receive, send)


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media_type.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _nul_in_url(scope: Scope) -> Response | None:
    """NUL characters cannot name anything here (nor be stored): a path holding one is a 404,
    a query parameter holding one a 422 naming it."""
    if "\x00" in scope["path"]:
        return problem_response(NOT_FOUND)
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and "\x00" not in query:
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    names = {name for name, value in pairs if holds_nul(name + value)}
    # A name is the caller's own text: only a plain one is named back, never echoed otherwise.
    plain = sorted(name for name in names if is_plain_name(name))
    errors = [FieldError(NUL_MESSAGE, parameter=name) for name in plain]
    if len(plain) < len(names):
        errors.append(FieldError(NUL_MESSAGE))
    return problem_response(VALIDATION, NUL_MESSAGE + ".", **listed_errors(errors))


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"The request body may be at most {limit} bytes.")


class BodyGuard:
    """Bounds request bodies and requires them to be JSON."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, form_paths: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.form_paths = frozenset(form_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nul_problem = _nul_in_url(scope)
        if nul_problem is not None:
            await nul_problem(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        has_body = "transfer-encoding" in headers or (declared not in (None, "0"))
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        if has_body and scope["path"] not in self.form_paths:
            content_type = headers.get("content-type", "")
            if not _is_json_media_type(content_type):
                response = problem_response(
                    UNSUPPORTED_MEDIA_TYPE,
                    "Send the body as JSON with Content-Type: application/json.",
                    headers={"Accept-Post": "application/json"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the application, where the error handlers answer 413.
                    raise BodyTooLarge(limit)
            return message

        return counting_receive

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"The request body may be at most {self.max_body_bytes} bytes."
        await problem_response(CONTENT_TOO_LARGE, detail, headers={"Connection": "close"})(
            scope, receive, send
        )


def wrap(app: ASGIApp, *layers: Callable[[ASGIApp], ASGIApp]) -> ASGIApp:
    """Apply layers so that the first named is the outermost."""
    for layer in reversed(layers):
        app = layer(app)
    return app
