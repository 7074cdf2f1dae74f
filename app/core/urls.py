"""The absolute URLs the service hands out (`Location`, `Link`), built on the configured public
address (`IPPC_BASE_URL`), never on the request's `Host` header: a client that follows a link with
its bearer token must only ever be sent back to this service.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from app.core.config import Settings
from app.core.http import json_response
from app.core.session import per_app

# Characters a path keeps as they are (RFC 3986 pchar and "/"); anything else is escaped.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def absolute_url(settings: Settings, path: str) -> str:
    """`path` (starting with `/`) on the service's public address."""
    if not path.startswith("/"):
        raise ValueError("an absolute URL is built from a path starting with /")
    return settings.base_url + quote(path, safe=_PATH_SAFE)


def _query_parameters(request: Request) -> frozenset[str] | None:
    """The query parameters the request's route reads, as its contract documents them: those
    FastAPI declares, and those a list reads itself (`core.list_query`, in the route's
    `openapi_extra`). Worked out once per route, kept as long as the application (whose routes
    live as long). None when the request matched no route."""
    route = request.scope.get("route")
    if route is None:
        return None
    known: dict[int, frozenset[str]] = per_app(request, "query_parameters", dict)
    names = known.get(id(route))
    if names is None:
        extra = getattr(route, "openapi_extra", None) or {}
        documented = {
            parameter["name"]
            for parameter in extra.get("parameters", ())
            if parameter.get("in") == "query"
        }
        pending = [getattr(route, "dependant", None)]
        while pending:
            dependant = pending.pop()
            if dependant is not None:
                documented |= {field.alias for field in dependant.query_params}
                pending.extend(dependant.dependencies)
        names = known[id(route)] = frozenset(documented)
    return names


def next_link(settings: Settings, request: Request, next_cursor: str | None) -> dict[str, str]:
    """The `Link` header of the next page: the request's path and query, `cursor` replaced, on
    the service's public address. No header on the last page."""
    if next_cursor is None:
        return {}
    # From the scope, as Starlette's `request.url` would read it (without building the URL of
    # the request's own Host, which a page never needs): the path with the characters that
    # would end it escaped, the query decoded and encoded again with `cursor` last.
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
    # Only the parameters the route reads: the others change nothing in the next page, and
    # echoed they would let a request of any length make a header as long.
    reads = _query_parameters(request)
    pairs = [
        (name, value)
        for name, value in query
        if name != "cursor" and (reads is None or name in reads)
    ]
    pairs.append(("cursor", next_cursor))
    return {"Link": f'<{absolute_url(settings, path)}?{urlencode(pairs)}>; rel="next"'}


def created_response(
    request: Request,
    settings: Settings,
    content: BaseModel,
    *,
    route: str,
    etag: str,
    **path_params: str,
) -> Response:
    """A 201 with the created resource, its `Location` (the route named `route`, on the public
    address) and its `ETag`."""
    location = absolute_url(settings, request.app.url_path_for(route, **path_params))
    return json_response(content, status_code=201, headers={"Location": location, "ETag": etag})
