"""The edge: the one ASGI layer around the whole application, outside Starlette's own error
middleware (`main.IppcApp`), so that every answer, 500s included, carries what it adds.

It reads the request's headers once, in one pass over the raw list, and wraps `send` once. In
order, the first that applies answers:

1. CORS preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) on a path whose
   policy admits the origin: 204, or 405 for a method the path does not allow.
2. Rate limits (`core/ratelimit.py`), when on, on every path, the health probes included: a
   request whose budget is spent: 429, before its body is read. A request with a valid bearer
   token to a path whose routes check tokens is counted against its client (`identify`, the
   access layer's validator), any other against its address (`anonymous`). Counting comes
   before the refusals, so that every answer the contract lists carries the RateLimit fields.
3. Too many or too large request headers: 431, before the application reads them (each lookup of
   a header scans them all). The server has already read them: a proxy in front of the service
   bounds them before that (docs/http.md).
4. A NUL character in the URL: 404 in the path, 422 naming the query parameter.
5. A declared body over the configured limit: 413; a body that is not JSON: 415, except on the
   form-encoded paths.
6. A GET or HEAD whose answer a route kept (`core/kept.py`), for the life of the process or
   while the data's version is unchanged (read from the database first): 200 with the kept
   body, or 304 when `If-None-Match` matches its `ETag`, without entering FastAPI.
7. The application. HEAD runs as GET (`core/head.py` holds the mark); chunked bodies are counted
   as they arrive and refused past the limit (413, from the application's error handlers).

Every request gets an id (the caller's `X-Request-ID` when it is 1-128 safe characters, else a
new one) and one JSON access-log line, written when the log takes INFO. Every response, early
refusals and 500s included, leaves with, appended to its own headers:
- CORS, chosen by path: public paths say `Access-Control-Allow-Origin: *` and the exposed headers
  on every response, whether or not the request names an origin (a shared cache may then hand
  any browser the copy it kept); internal paths answer only the configured front-end origins,
  and say `Vary: Origin` on every response, since their CORS headers depend on it. A preflight
  carries its own.
- `X-Request-ID`, `X-Content-Type-Options: nosniff`, and a `Cache-Control` (`cache_control(path)`)
  and a `Content-Security-Policy` unless the response set its own.
- `RateLimit-Policy` and `RateLimit` when a rate limit counted the request (a 200 as a 429).
A HEAD response leaves without its body.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from urllib.parse import parse_qsl

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
from app.core.head import as_get, head_request_var
from app.core.kept import (
    KEEP_KEY,
    MAX_KEPT_BODY_BYTES,
    VERSION_KEY,
    DataVersion,
    KeptAnswer,
    KeptAnswers,
)
from app.core.logging import request_id_var
from app.core.preconditions import none_match
from app.core.ratelimit import (
    ADDRESS_KEY,
    ANONYMOUS,
    CLIENT,
    DECISIONS_KEY,
    Decision,
    Identify,
    RateLimited,
    RateLimits,
    count,
    header_values,
)
from app.core.validation import NUL_MESSAGE, holds_nul

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.errors")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# What a response that is not a page may do in a browser: nothing (no scripts, no framing).
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"

# Request headers: how many, and how many bytes in all (names and values). A bearer token (at
# most 8 KiB) and the usual headers fit many times over.
MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 32 * 1024

RawHeaders = list[tuple[bytes, bytes]]

# The request headers the edge reads, each at its place in the one pass (the first of a name
# counts, as with Starlette's `Headers.get`). Servers give header names in lower case.
_REQUEST_ID = 0
_ORIGIN = 1
_PREFLIGHT_METHOD = 2
_CONTENT_LENGTH = 3
_CONTENT_TYPE = 4
_TRANSFER_ENCODING = 5
_ACCEPT = 6
_IF_NONE_MATCH = 7
_AUTHORIZATION = 8
_FORWARDED_FOR = 9  # every line of it is kept, in order (`forwarded`), not only the first
_READ = {
    b"x-request-id": _REQUEST_ID,
    b"origin": _ORIGIN,
    b"access-control-request-method": _PREFLIGHT_METHOD,
    b"content-length": _CONTENT_LENGTH,
    b"content-type": _CONTENT_TYPE,
    b"transfer-encoding": _TRANSFER_ENCODING,
    b"accept": _ACCEPT,
    b"if-none-match": _IF_NONE_MATCH,
    b"authorization": _AUTHORIZATION,
    b"x-forwarded-for": _FORWARDED_FOR,
}

# Response headers the edge sets or defaults: when a response has one already, it is replaced
# (as Starlette's `MutableHeaders` would) or left alone, rather than repeated.
_WATCHED = frozenset(
    {
        b"access-control-allow-origin",
        b"access-control-expose-headers",
        b"vary",
        b"x-request-id",
        b"x-content-type-options",
        b"cache-control",
        b"content-security-policy",
    }
)
_CSP = API_CONTENT_SECURITY_POLICY.encode("latin-1")


def _set(headers: RawHeaders, name: bytes, value: bytes) -> None:
    """The first header of this name takes the value, any others go (`MutableHeaders`' rule)."""
    indexes = [index for index, (item, _value) in enumerate(headers) if item == name]
    for index in reversed(indexes[1:]):
        del headers[index]
    headers[indexes[0]] = (name, value)


def _put(headers: RawHeaders, present: frozenset[bytes], name: bytes, value: bytes) -> None:
    if name in present:
        _set(headers, name, value)
    else:
        headers.append((name, value))


def _is_bearer(authorization: bytes | None) -> bool:
    """A bearer token, which the access layer will validate (`Bearer <something>`)."""
    return (
        authorization is not None
        and authorization[:7].lower() == b"bearer "
        and bool(authorization[7:].strip())
    )


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


class Edge:
    """The service's outer layer (module docstring).

    `cache_control(path)` gives the `Cache-Control` of a response that set none (routes that
    want caching, such as the public ones, set theirs); `is_public_path(path)` chooses the CORS
    policy; `internal_origins` are the front ends the internal API answers; `form_paths` take
    form-encoded bodies; `kept` holds the answers routes kept; `versions` reads the data's
    version, which the answers kept with one must still have to be served."""

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
    exposed_headers = (
        "ETag",
        "Link",
        "Location",
        "X-Request-ID",
        "Retry-After",
        "RateLimit",
        "RateLimit-Policy",
    )
    preflight_max_age = "600"

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache_control: Callable[[str], str],
        is_public_path: Callable[[str], bool],
        internal_origins: Sequence[str],
        max_body_bytes: int,
        form_paths: Sequence[str] = (),
        kept: KeptAnswers | None = None,
        versions: DataVersion | None = None,
        rate_limits: RateLimits | None = None,
        checks_tokens: Callable[[str], bool] = lambda _path: False,
        identify: Identify | None = None,
    ) -> None:
        self.app = app
        self.cache_control = cache_control
        self.is_public_path = is_public_path
        self.internal_origins = frozenset(internal_origins)
        self.max_body_bytes = max_body_bytes
        self.form_paths = frozenset(form_paths)
        self.kept = kept if kept is not None else KeptAnswers()
        self.versions = versions
        self._exposed = ", ".join(self.exposed_headers).encode("latin-1")
        self.rate_limits = rate_limits
        self.checks_tokens = checks_tokens
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        found: list[bytes | None] = [None] * len(_READ)
        forwarded: list[bytes] = []
        size = 0
        for name, value in headers:
            size += len(name) + len(value)
            index = _READ.get(name)
            if index is not None:
                if index == _FORWARDED_FOR:
                    forwarded.append(value)
                elif found[index] is None:
                    found[index] = value

        offered = found[_REQUEST_ID]
        request_id = offered.decode("latin-1") if offered is not None else ""
        if not _SANE_REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        request_id_bytes = request_id.encode("latin-1")
        id_token = request_id_var.set(request_id)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        logged = access_logger.isEnabledFor(logging.INFO)
        started = time.perf_counter() if logged else 0.0

        path: str = scope["path"]
        method: str = scope["method"]
        head = method == "HEAD"
        public = self.is_public_path(path)
        raw_origin = found[_ORIGIN]
        allow_origin: bytes | None = None
        if public:
            allow_origin = b"*"
        elif raw_origin is not None and raw_origin.decode("latin-1") in self.internal_origins:
            allow_origin = raw_origin
        keep_key = None
        if method == "GET" or head:
            keep_key = self.kept.key(path, scope.get("query_string", b""), found[_ACCEPT] or b"")

        status = 500
        response_started = False
        with_cors = True
        body_sent = False
        kept_headers: tuple[tuple[bytes, bytes], ...] = ()
        kept_body: list[bytes] | None = None
        kept_size = 0
        limits = self.rate_limits

        async def edge_send(message: Message) -> None:
            nonlocal status, response_started, body_sent, kept_headers, kept_body, kept_size
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                response_headers = list(message.get("headers", ()))
                if status == 200 and keep_key is not None and state.get(KEEP_KEY):
                    kept_headers = tuple(response_headers)
                    kept_body = []
                decisions: dict[str, Decision] | None = state.get(DECISIONS_KEY)
                self._finish(
                    response_headers,
                    path,
                    request_id_bytes,
                    with_cors,
                    public,
                    allow_origin,
                    decisions,
                )
                message["headers"] = response_headers
            elif message["type"] == "http.response.body":
                if kept_body is not None and keep_key is not None:
                    chunk = message.get("body", b"")
                    kept_size += len(chunk)
                    kept_body.append(chunk)
                    if kept_size > MAX_KEPT_BODY_BYTES:
                        kept_body = None
                    elif not message.get("more_body", False):
                        self.kept.keep(
                            keep_key, kept_headers, b"".join(kept_body), state.get(VERSION_KEY)
                        )
                        kept_body = None
                if head:
                    if body_sent:
                        return
                    body_sent = True
                    message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        head_token = head_request_var.set(True) if head else None
        try:
            if (
                method == "OPTIONS"
                and raw_origin is not None
                and found[_PREFLIGHT_METHOD] is not None
                and allow_origin is not None
            ):
                with_cors = False  # a preflight says its own CORS headers
                requested = found[_PREFLIGHT_METHOD] or b""
                await self._preflight(public, allow_origin, requested)(scope, receive, edge_send)
                return
            if limits is not None:
                address = limits.addresses.of(scope, forwarded)
                state[ADDRESS_KEY] = address
                client = None
                authorization = found[_AUTHORIZATION]
                if (
                    self.identify is not None
                    and _is_bearer(authorization)
                    and self.checks_tokens(path)
                ):
                    token = (authorization or b"")[7:].strip().decode("latin-1")
                    client = await self.identify(scope, token)
                if client is None:
                    decision = await count(limits, state, ANONYMOUS, address)
                else:
                    decision = await count(limits, state, CLIENT, client)
                if decision is not None and not decision.allowed:
                    await self._too_many(decision)(scope, receive, edge_send)
                    return
            refusal = self._refusal(scope, len(headers), size, found)
            if refusal is not None:
                await refusal(scope, receive, edge_send)
                return
            if keep_key is not None:
                kept = self.kept.get(keep_key)
                if kept is not None and await self._still_current(kept):
                    await self._answer_kept(kept, found[_IF_NONE_MATCH], edge_send)
                    return
            has_body = found[_TRANSFER_ENCODING] is not None or found[_CONTENT_LENGTH] not in (
                None,
                b"0",
            )
            await self.app(
                as_get(scope) if head else scope,
                self._counting(receive) if has_body else receive,
                edge_send,
            )
        except Exception:
            # Starlette's error middleware has already answered and logged the error through
            # the service's 500 handler; only a failure before any answer is handled here.
            if not response_started:
                error_logger.exception("request failed before a response was started")
                response = problem_response(INTERNAL, "An unexpected error occurred.")
                await response(scope, receive, edge_send)
        finally:
            if head_token is not None:
                head_request_var.reset(head_token)
            if logged:
                access_logger.info(
                    "request",
                    extra={
                        "method": method,
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(id_token)

    def _finish(
        self,
        headers: RawHeaders,
        path: str,
        request_id: bytes,
        with_cors: bool,
        public: bool,
        allow_origin: bytes | None,
        decisions: dict[str, Decision] | None,
    ) -> None:
        """Append the edge's headers to a response's own (module docstring)."""
        present = frozenset(name for name, _value in headers if name in _WATCHED)
        if with_cors:
            if allow_origin is not None:
                _put(headers, present, b"access-control-allow-origin", allow_origin)
                _put(headers, present, b"access-control-expose-headers", self._exposed)
            if not public:
                if b"vary" in present:
                    varied = [value for name, value in headers if name == b"vary"]
                    _set(headers, b"vary", b", ".join([*varied, b"Origin"]))
                else:
                    headers.append((b"vary", b"Origin"))
        _put(headers, present, b"x-request-id", request_id)
        _put(headers, present, b"x-content-type-options", b"nosniff")
        if b"cache-control" not in present:
            headers.append((b"cache-control", self.cache_control(path).encode("latin-1")))
        if b"content-security-policy" not in present:
            headers.append((b"content-security-policy", _CSP))
        if decisions:
            policy, current = header_values(decisions.values())
            headers.append((b"ratelimit-policy", policy))
            headers.append((b"ratelimit", current))

    @staticmethod
    def _too_many(decision: Decision) -> Response:
        """The 429 of a spent budget, as the application's handlers write a `RateLimited`."""
        refused = RateLimited(decision)
        return problem_response(refused.kind, refused.detail, headers=refused.headers)

    def _preflight(self, public: bool, allow_origin: bytes, requested: bytes) -> Response:
        methods = self.public_methods if public else self.internal_methods
        response_headers = {
            "Access-Control-Allow-Origin": allow_origin.decode("latin-1"),
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": ", ".join(self.allowed_request_headers),
            "Access-Control-Max-Age": self.preflight_max_age,
        }
        if not public:
            response_headers["Vary"] = "Origin"
        status = 204 if requested.decode("latin-1").upper() in methods else 405
        return Response(status_code=status, headers=response_headers)

    def _refusal(
        self, scope: Scope, count: int, size: int, found: list[bytes | None]
    ) -> Response | None:
        """The early refusal this request earns, if any: 431, a NUL in the URL, 413, 415."""
        if count > MAX_HEADER_COUNT or size > MAX_HEADER_BYTES:
            return problem_response(
                HEADERS_TOO_LARGE,
                f"Send at most {MAX_HEADER_COUNT} headers, of {MAX_HEADER_BYTES} bytes in all.",
                headers={"Connection": "close"},
            )
        nul_problem = _nul_in_url(scope)
        if nul_problem is not None:
            return nul_problem
        declared = found[_CONTENT_LENGTH]
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            detail = f"The request body may be at most {self.max_body_bytes} bytes."
            return problem_response(CONTENT_TOO_LARGE, detail, headers={"Connection": "close"})
        has_body = found[_TRANSFER_ENCODING] is not None or declared not in (None, b"0")
        if has_body and scope["path"] not in self.form_paths:
            content_type = (found[_CONTENT_TYPE] or b"").decode("latin-1")
            if not _is_json_media_type(content_type):
                return problem_response(
                    UNSUPPORTED_MEDIA_TYPE,
                    "Send the body as JSON with Content-Type: application/json.",
                    headers={"Accept-Post": "application/json"},
                )
        return None

    async def _still_current(self, kept: KeptAnswer) -> bool:
        """Whether a kept answer may be served: always, when kept for the life of the process;
        else when the data's version is still the one it was made from. When the version
        cannot be read, the application answers (and says why, as any read would)."""
        if kept.version is None:
            return True
        if self.versions is None:
            return False
        try:
            return await self.versions.current() == kept.version
        except Exception:
            return False

    @staticmethod
    async def _answer_kept(kept: KeptAnswer, if_none_match: bytes | None, send: Send) -> None:
        """A kept answer, or 304 when the caller's copy is the same (`preconditions.none_match`,
        as `core.http.prepared_response` compares)."""
        if (
            kept.etag is not None
            and if_none_match is not None
            and none_match(if_none_match.decode("latin-1"), kept.etag)
        ):
            start: Message = {
                "type": "http.response.start",
                "status": 304,
                "headers": list(kept.not_modified_headers),
            }
            await send(start)
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": list(kept.headers)})
        await send({"type": "http.response.body", "body": kept.body})

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
