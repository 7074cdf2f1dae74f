"""Cursor (keyset) pagination for every list.

A page is `{"items": [...], "next_cursor": "..."}` plus a `Link: <...>; rel="next"` header. The
cursor is opaque to clients: the sort values of the last item, base64url-encoded JSON. A page is
read with `WHERE (sort keys) > (cursor values) ORDER BY sort keys LIMIT n+1`, so its cost does not
grow with the table (given an index on the sort keys).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Select, and_, or_

from app.core.errors import FieldError, ValidationFailed

T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

LimitQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description=f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=1024,
        description="The `next_cursor` of the previous page; omit it for the first page.",
    ),
]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(extra="forbid")

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset ordering."""

    column: ColumnElement[Any]
    descending: bool = False

    def value_of(self, row: Any) -> Any:
        """This key's value in a result row (selected columns) or a mapped object."""
        mapping = getattr(row, "_mapping", None)
        if mapping is not None:
            return mapping[self.column]
        return getattr(row, str(self.column.key))


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _revive(value: Any, column: ColumnElement[Any]) -> Any:
    if value is None:
        return None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if python_type is uuid.UUID:
        return uuid.UUID(str(value))
    if python_type is datetime:
        return datetime.fromisoformat(str(value))
    if python_type is date:
        return date.fromisoformat(str(value))
    if python_type in (int, float, str, bool) and not isinstance(value, python_type):
        raise TypeError("cursor value of the wrong type")
    return value


def encode_cursor(values: Sequence[Any], sort: str = "") -> str:
    raw = json.dumps([sort, *(_plain(value) for value in values)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this list gave out (for this sort order).",
        [FieldError("Invalid cursor: use the next_cursor of a page", parameter="cursor")],
    )


def decode_cursor(cursor: str, keys: Sequence[SortKey], sort: str = "") -> list[Any]:
    """The sort values in a cursor; a cursor made for another sort order is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        if not isinstance(decoded, list) or len(decoded) != len(keys) + 1 or decoded[0] != sort:
            raise _invalid_cursor()
        values = decoded[1:]
        return [_revive(value, key.column) for value, key in zip(values, keys, strict=True)]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise _invalid_cursor() from exc


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the ordering given by `keys` (mixed directions allowed)."""
    clauses = []
    for index, key in enumerate(keys):
        equal_before = [k.column == v for k, v in zip(keys[:index], values[:index], strict=True)]
        value = values[index]
        beyond = key.column < value if key.descending else key.column > value
        clauses.append(and_(*equal_before, beyond))
    return or_(*clauses)


@dataclass(frozen=True)
class Ordering:
    """A list's order: its `sort` token and its keys, the last of which is unique."""

    keys: tuple[SortKey, ...]
    token: str = ""

    def order(self, stmt: SelectT) -> SelectT:
        return stmt.order_by(
            *(key.column.desc() if key.descending else key.column.asc() for key in self.keys)
        )

    def page(self, stmt: SelectT, limit: int, cursor: str | None) -> SelectT:
        """Order, filter and limit a statement for one page (one row more: do more follow?)."""
        if cursor:
            stmt = stmt.where(_after(self.keys, decode_cursor(cursor, self.keys, self.token)))
        return self.order(stmt).limit(limit + 1)

    def split(self, rows: Sequence[T], limit: int) -> tuple[list[T], str | None]:
        """The page's rows and the cursor of the next page (None on the last)."""
        items = list(rows[:limit])
        if len(rows) > limit and items:
            values = [key.value_of(items[-1]) for key in self.keys]
            return items, encode_cursor(values, self.token)
        return items, None


@dataclass(frozen=True)
class SortOptions:
    """The whitelisted `sort` values of a list: field names, `-field` for descending."""

    fields: Mapping[str, ColumnElement[Any]]
    tiebreaker: ColumnElement[Any]
    default: str

    def parse(self, sort: str | None) -> Ordering:
        token = sort or self.default
        name = token.removeprefix("-")
        column = self.fields.get(name)
        if column is None:
            allowed = ", ".join(sorted(self.fields))
            detail = f"Sort by one of: {allowed} (prefix - for descending)"
            raise ValidationFailed(
                "This list cannot be sorted that way.", [FieldError(detail, parameter="sort")]
            )
        descending = token.startswith("-")
        keys = (SortKey(column, descending), SortKey(self.tiebreaker, descending))
        return Ordering(keys, token)

    def description(self) -> str:
        names = ", ".join(f"`{name}`" for name in sorted(self.fields))
        return f"Sort by {names}; prefix `-` for descending. Default `{self.default}`."
