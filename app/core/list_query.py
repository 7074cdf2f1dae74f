"""A list's query string, read in one pass and validated at once.

FastAPI reads declared query parameters, and the fields of a query-parameter model, one by one,
inspecting each field's annotation again on every request: for a list's fifteen parameters
(its filters, `sort`, `limit`, `cursor`, `format`) about 100 µs, more than the rest of FastAPI's
work for the request and an eighth of a page's cost (docs/performance.md). A list declares
instead one dependency made by `list_query(filters, sort)`: it reads the query string once,
validates the filters with their model and the page's parameters with theirs, and hands the
route a `ListQuery`. The parameters are the same, and so are the answers to bad ones (FastAPI's
`RequestValidationError`, located in the query, which the service writes as a 422 problem).

A repeated filter (`category=ngo&category=rppo`) takes at most `MAX_FILTER_VALUES` values, on
every list: more is a 422 naming the parameter, refused before any value is validated (a query
string of 10,000 values would otherwise cost 10,000 validations). The contract states the cap
as the parameter's `maxItems`.

The contract still documents every parameter: the dependency's `openapi` entry (the route's
`openapi_extra`) lists them, written from the models' JSON schemas as FastAPI writes declared
parameters, and `QUERY_SCHEMAS` holds the schemas they refer to, which `core.openapi` adds to
the contract's components.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Generic, Literal, TypeVar, Union, cast, get_args, get_origin
from urllib.parse import parse_qsl

from fastapi import Depends
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.json_schema import GenerateJsonSchema
from starlette.requests import Request

from app.core.listing import FORMAT_DESCRIPTION
from app.core.pagination import (
    CURSOR_DESCRIPTION,
    DEFAULT_LIMIT,
    LIMIT_DESCRIPTION,
    MAX_CURSOR_LENGTH,
    MAX_LIMIT,
)

F = TypeVar("F", bound=BaseModel)
S = TypeVar("S", bound=Enum)

REF_TEMPLATE = "#/components/schemas/{model}"

# The values a repeated filter takes at most, on every list (docs/http.md, "Lists").
MAX_FILTER_VALUES = 50
TOO_MANY_VALUES = f"At most {MAX_FILTER_VALUES} values: repeat the parameter fewer times"

# Schemas the documented parameters refer to (enums of filters and sorts), by name.
QUERY_SCHEMAS: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True, slots=True)
class ListQuery(Generic[F, S]):
    """A list's query: its filters, and which page of it, in which order, in which format."""

    filters: F
    sort: S | None
    limit: int
    cursor: str | None
    format: Literal["json", "csv"] | None


NOT_UTF8 = "Not UTF-8 once percent-decoded"


def _is_utf8(text: str) -> bool:
    """Whether a query string's value, percent-decoded with `surrogateescape`, was UTF-8: the
    bytes that were not came back as lone surrogates, which UTF-8 cannot encode (checked in C,
    on every list request)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _PageParameters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)
    cursor: str | None = Field(
        default=None, max_length=MAX_CURSOR_LENGTH, description=CURSOR_DESCRIPTION
    )
    format: Literal["json", "csv"] | None = Field(default=None, description=FORMAT_DESCRIPTION)


def _is_sequence(annotation: Any) -> bool:
    """Whether a parameter of this type is repeated (`name=a&name=b`) rather than given once."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_sequence(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_is_sequence(arg) for arg in get_args(annotation) if arg is not type(None))
    return origin in (list, set, frozenset, tuple)


def _page_model(sort: type[Enum] | None, sort_description: str) -> type[_PageParameters]:
    if sort is None:
        return _PageParameters

    return create_model(
        f"{sort.__name__}Page",
        __base__=_PageParameters,
        sort=(
            cast(Any, sort | None),
            Field(default=None, title="Sort", description=sort_description),
        ),
    )


class _ParameterSchemas(GenerateJsonSchema):
    """Schemas of query parameters as FastAPI writes them: no `default` of null, keys in the
    order pydantic makes them."""

    def sort(self, value: Any, parent_key: str | None = None) -> Any:
        return value

    def default_schema(self, schema: Any) -> Any:
        result = super().default_schema(schema)
        if result.get("default", ...) is None:
            del result["default"]
        return result


def _capped(field_schema: dict[str, Any]) -> dict[str, Any]:
    """A repeated filter's schema with its cap (`MAX_FILTER_VALUES`) as `maxItems`."""
    if field_schema.get("type") == "array":
        return {**field_schema, "maxItems": MAX_FILTER_VALUES}
    if "anyOf" in field_schema:
        return {**field_schema, "anyOf": [_capped(option) for option in field_schema["anyOf"]]}
    return field_schema


def _documented(
    models: tuple[type[BaseModel], ...], order: list[str], repeated: frozenset[str]
) -> list[dict[str, Any]]:
    """The contract's `parameters` for the fields of `models`, in `order`; the `repeated` ones
    say their cap."""
    parameters: dict[str, dict[str, Any]] = {}
    for model in models:
        schema = model.model_json_schema(
            ref_template=REF_TEMPLATE, schema_generator=_ParameterSchemas
        )
        for name, definition in schema.pop("$defs", {}).items():
            known = QUERY_SCHEMAS.setdefault(name, definition)
            if known != definition:
                raise ValueError(f"two query schemas are named {name!r}")
        for name, field_schema in schema["properties"].items():
            if name in repeated:
                field_schema = _capped(field_schema)
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in schema.get("required", ()),
                "schema": field_schema,
            }
            if "description" in field_schema:
                parameter["description"] = field_schema["description"]
            parameters[name] = parameter
    return [parameters[name] for name in order if name in parameters]


@dataclass(frozen=True)
class QueryDependency:
    """What a list route declares: `query: Annotated[ListQuery[...], spec.dependency]` and
    `openapi_extra=spec.openapi`."""

    dependency: Any
    openapi: dict[str, Any]


def list_query(
    filters: type[F],
    sort: type[S] | None = None,
    *,
    sort_description: str = "",
    csv: bool = True,
) -> QueryDependency:
    """The dependency reading a list's query: `filters`' fields, then `sort` (when the list has
    sorts), `limit`, `cursor` and `format` (when it exports CSV)."""
    page_model = _page_model(sort, sort_description)
    filter_fields = tuple(filters.model_fields)
    page_fields = tuple(name for name in page_model.model_fields if csv or name != "format")
    repeated = frozenset(
        name for name, info in filters.model_fields.items() if _is_sequence(info.annotation)
    )
    order = [*filter_fields, "sort", "limit", "cursor", "format"]
    order = [name for name in order if name in filter_fields or name in page_fields]
    known = frozenset(order)

    async def read(request: Request) -> ListQuery[F, S]:
        given: dict[str, Any] = {}
        page: dict[str, Any] = {}
        query = request.scope.get("query_string", b"").decode("latin-1")
        errors: list[Any] = []
        # Bytes that are not UTF-8 once percent-decoded come back as lone surrogates: a value
        # of the list's with any is a 422 naming it (decoded with replacement, `q=%FF` would
        # search for U+FFFD). Parameters the list does not read are ignored, whatever they hold.
        for name, value in parse_qsl(query, keep_blank_values=True, errors="surrogateescape"):
            if name in known and not _is_utf8(value):
                errors.append(
                    {"type": "string_unicode", "loc": (name,), "msg": NOT_UTF8, "input": None}
                )
            elif name in repeated:
                given.setdefault(name, []).append(value)
            elif name in page_fields:
                page[name] = value
            elif name in filter_fields:
                given[name] = value
        for name in sorted(repeated.intersection(given)):
            if len(given[name]) > MAX_FILTER_VALUES:
                del given[name]
                errors.append(
                    {"type": "too_long", "loc": (name,), "msg": TOO_MANY_VALUES, "input": None}
                )
        try:
            parsed_filters = filters.model_validate(given)
        except ValidationError as error:
            errors.extend(error.errors(include_url=False))
        try:
            parsed_page = page_model.model_validate(page)
        except ValidationError as error:
            errors.extend(error.errors(include_url=False))
        if errors:
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in errors]
            )
        return ListQuery(
            filters=parsed_filters,
            sort=getattr(parsed_page, "sort", None),
            limit=parsed_page.limit,
            cursor=parsed_page.cursor,
            format=parsed_page.format if csv else None,
        )

    return QueryDependency(
        dependency=Depends(read),
        openapi={"parameters": _documented((filters, page_model), order, repeated)},
    )
