"""Problem details (RFC 9457) for every error the service answers, and the domain errors.

Services raise the domain errors below, never `HTTPException`; the handlers installed by
`install_error_handlers` turn them, the framework's own errors and any unexpected exception into
`application/problem+json`. Each problem `type` is a stable URI reference, `/problems/<slug>`,
resolved against the service's own address, where `GET /problems/<slug>` describes it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path

logger = logging.getLogger("app.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug


_REGISTRY: dict[str, ProblemType] = {}


# Bounds of what a problem type says, kept at registration and stated in the contract.
SLUG_MAX_LENGTH = 64
TYPE_MAX_LENGTH = len(PROBLEM_BASE) + SLUG_MAX_LENGTH
TITLE_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 1000
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def problem_type(slug: str, status: int, title: str, description: str) -> ProblemType:
    """Register a problem type; slugs are unique and never change once published."""
    if slug in _REGISTRY:
        raise ValueError(f"problem type {slug!r} is registered twice")
    if not (
        len(slug) <= SLUG_MAX_LENGTH
        and _SLUG.match(slug)
        and 400 <= status <= 599
        and 0 < len(title) <= TITLE_MAX_LENGTH
        and 0 < len(description) <= DESCRIPTION_MAX_LENGTH
    ):
        raise ValueError(f"problem type {slug!r} is out of bounds")
    kind = ProblemType(slug, status, title, description)
    _REGISTRY[slug] = kind
    return kind


def problem_types() -> Mapping[str, ProblemType]:
    return dict(_REGISTRY)


MALFORMED_REQUEST = problem_type(
    "malformed-request", 400, "Malformed request", "The request body is not well-formed JSON."
)
UNAUTHORIZED = problem_type(
    "unauthorized", 401, "Authentication required", "No valid bearer token was presented."
)
FORBIDDEN = problem_type(
    "forbidden", 403, "Forbidden", "The token is valid but does not grant this operation."
)
NOT_FOUND = problem_type("not-found", 404, "Not found", "No resource exists at this address.")
METHOD_NOT_ALLOWED = problem_type(
    "method-not-allowed",
    405,
    "Method not allowed",
    "The resource exists but does not support this method; the Allow header lists those it does.",
)
NOT_ACCEPTABLE = problem_type(
    "not-acceptable",
    406,
    "Not acceptable",
    "None of the media types in the Accept header can be produced.",
)
CONFLICT = problem_type(
    "conflict", 409, "Conflict", "The request conflicts with the current state of the resource."
)
PRECONDITION_FAILED = problem_type(
    "precondition-failed",
    412,
    "Precondition failed",
    "The If-Match header does not match the resource's current ETag: reload and retry.",
)
CONTENT_TOO_LARGE = problem_type(
    "content-too-large",
    413,
    "Content too large",
    "The request body is larger than the service accepts.",
)
UNSUPPORTED_MEDIA_TYPE = problem_type(
    "unsupported-media-type",
    415,
    "Unsupported media type",
    "The request body must be JSON (application/json or a +json type).",
)
VALIDATION = problem_type(
    "validation",
    422,
    "Validation failed",
    "The request is well-formed but some values are invalid; `errors` lists each of them.",
)
PRECONDITION_REQUIRED = problem_type(
    "precondition-required",
    428,
    "Precondition required",
    "This change needs an If-Match header carrying the ETag you last read (or `*`).",
)
TOO_MANY_REQUESTS = problem_type(
    "too-many-requests",
    429,
    "Too many requests",
    "A rate limit's quota is spent: retry after the number of seconds in Retry-After. The "
    "RateLimit-Policy and RateLimit headers name the limit, its quota and its window.",
)
HEADERS_TOO_LARGE = problem_type(
    "request-header-fields-too-large",
    431,
    "Request header fields too large",
    "The request carries more headers, or larger ones, than the service reads.",
)
INTERNAL = problem_type(
    "internal",
    500,
    "Internal server error",
    "The service failed unexpectedly; the request id identifies it in the service's logs.",
)
UNAVAILABLE = problem_type(
    "service-unavailable",
    503,
    "Service unavailable",
    "A dependency of the service (such as its database) cannot be reached.",
)

_BY_STATUS: dict[int, ProblemType] = {
    kind.status: kind
    for kind in (
        MALFORMED_REQUEST,
        UNAUTHORIZED,
        FORBIDDEN,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        NOT_ACCEPTABLE,
        CONFLICT,
        PRECONDITION_FAILED,
        CONTENT_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        VALIDATION,
        PRECONDITION_REQUIRED,
        TOO_MANY_REQUESTS,
        HEADERS_TOO_LARGE,
        INTERNAL,
        UNAVAILABLE,
    )
}


def problem_for_status(status: int) -> ProblemType:
    return _BY_STATUS.get(status) or ProblemType(
        "http-" + str(status), status, "HTTP error", "An HTTP error."
    )


# The longest `detail` a problem says, and the longest of a field error's `detail` and
# `pointer`: the service writes them, and cuts a longer one there (a pointer at its last whole
# step, so that it still points at the value's parent), so that the contract can bound them.
DETAIL_MAX_LENGTH = 2000
FIELD_DETAIL_MAX_LENGTH = 500
POINTER_MAX_LENGTH = 512


def bounded(text: str, limit: int) -> str:
    """`text`, cut at `limit` characters (the last one an ellipsis) when it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def bounded_pointer(pointer: str) -> str:
    """A JSON pointer of at most POINTER_MAX_LENGTH characters: a longer one is cut back to the
    longest of its ancestors that fits."""
    if len(pointer) <= POINTER_MAX_LENGTH:
        return pointer
    return pointer[: pointer.rfind("/", 0, POINTER_MAX_LENGTH + 1)]


def problem_body(kind: ProblemType, detail: str | None = None, **extensions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind.uri, "title": kind.title, "status": kind.status}
    if detail:
        body["detail"] = bounded(detail, DETAIL_MAX_LENGTH)
    body.update({key: value for key, value in extensions.items() if value is not None})
    return body


def problem_response(
    kind: ProblemType,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(kind, detail, **extensions),
        status_code=kind.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


# --- Domain errors: what services raise ------------------------------------------------------


class DomainError(Exception):
    """An error a service raises; mapped to a problem response by its `kind`."""

    kind: ProblemType = CONFLICT

    def __init__(
        self,
        detail: str,
        *,
        kind: ProblemType | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if kind is not None:
            self.kind = kind
        self.headers = dict(headers or {})
        self.extensions = extensions


class NotFound(DomainError):
    kind = NOT_FOUND


class Conflict(DomainError):
    kind = CONFLICT


class InvalidTransition(DomainError):
    kind = CONFLICT


class Forbidden(DomainError):
    kind = FORBIDDEN


class Unauthorized(DomainError):
    kind = UNAUTHORIZED


class PreconditionFailed(DomainError):
    kind = PRECONDITION_FAILED


class PreconditionRequired(DomainError):
    kind = PRECONDITION_REQUIRED


class Unavailable(DomainError):
    kind = UNAVAILABLE


@dataclass(frozen=True)
class FieldError:
    """One invalid value: `pointer` (a JSON pointer into the body) or `parameter` (by name)."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None

    def as_dict(self) -> dict[str, str]:
        item = {"detail": bounded(self.detail, FIELD_DETAIL_MAX_LENGTH)}
        if self.pointer is not None:
            item["pointer"] = bounded_pointer(self.pointer)
        if self.parameter is not None:
            item["parameter"] = self.parameter
        return item


# A validation problem lists at most this many invalid values (a body of 90,000 unknown fields
# would otherwise make a problem of megabytes); `errors_omitted` counts the others.
MAX_LISTED_ERRORS = 50


def listed_errors(errors: Sequence[FieldError]) -> dict[str, Any]:
    """The `errors` member of a validation problem, and `errors_omitted` when it is capped."""
    listed = [error.as_dict() for error in errors[:MAX_LISTED_ERRORS]]
    omitted = len(errors) - len(listed)
    return {"errors": listed, "errors_omitted": omitted or None}


def validation_detail(count: int) -> str:
    if count <= MAX_LISTED_ERRORS:
        return f"{count} invalid value{'s' if count != 1 else ''}; see errors."
    return (
        f"{count} invalid values; errors lists the first {MAX_LISTED_ERRORS}, "
        f"errors_omitted counts the other {count - MAX_LISTED_ERRORS}."
    )


class ValidationFailed(DomainError):
    """Invalid input found by a service (beyond what the schemas check)."""

    kind = VALIDATION

    def __init__(self, detail: str, errors: Sequence[FieldError]) -> None:
        super().__init__(detail, **listed_errors(errors))


# --- Mapping framework errors ----------------------------------------------------------------


_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
NAME_MAX_LENGTH = 64


def is_plain_name(name: str) -> bool:
    """A field or parameter name that may be named back in a problem: 1-64 letters, digits,
    `_`, `.` or `-`. Any other name the caller sent is not echoed."""
    return bool(_SAFE_KEY.match(name))


def _pointer(path: Sequence[int | str]) -> str:
    """A JSON pointer to the invalid value. A key the caller invented that is not a plain name
    (an unknown field called `<script>`, say) is not echoed: the pointer stops at its parent."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, str) and not is_plain_name(part):
            break
        parts.append(str(part).replace("~", "~0").replace("/", "~1"))
    return "".join("/" + part for part in parts)


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    """Pydantic's errors as pointers and parameters, never echoing the input."""
    errors: list[FieldError] = []
    for error in exc.errors():
        location = tuple(error.get("loc", ()))
        message = str(error.get("msg", "Invalid value"))
        if location and location[0] == "body":
            errors.append(FieldError(message, pointer=_pointer(location[1:])))
        elif len(location) >= 2:
            errors.append(FieldError(message, parameter=str(location[1])))
        else:
            errors.append(FieldError(message, pointer=""))
    return errors


def _is_malformed_json(exc: RequestValidationError) -> bool:
    return any(error.get("type") == "json_invalid" for error in exc.errors())


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_malformed_json(exc):
        return problem_response(MALFORMED_REQUEST, "The request body is not valid JSON.")
    errors = validation_errors(exc)
    return problem_response(VALIDATION, validation_detail(len(errors)), **listed_errors(errors))


def _allowed_methods(request: Request) -> str:
    """Every method of every route at this path (Starlette names only the first route's), and
    HEAD wherever GET is (the edge, `core/edge.py`, answers it as a GET)."""
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        if context.path_format and context.methods:
            pattern, _, _ = compile_path(context.path_format)
            if pattern.match(request.url.path):
                methods.update(context.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = problem_for_status(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != kind.title else None
    headers = dict(exc.headers or {})
    if kind is NOT_FOUND:
        detail = None
    if kind is METHOD_NOT_ALLOWED:
        detail = "This method is not supported here; see the Allow header."
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(kind, detail, headers=headers)


async def _on_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem_response(exc.kind, exc.detail, headers=exc.headers, **exc.extensions)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ResponseValidationError):
        logger.error("response failed its own schema: %s", exc.errors())
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        INTERNAL, "An unexpected error occurred; quote the X-Request-ID header when reporting it."
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DomainError, _on_domain_error)
    # Registered for Exception, Starlette calls it from its outermost error middleware.
    app.add_exception_handler(Exception, _on_unexpected)
