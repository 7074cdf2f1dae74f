"""Cursor (keyset) pagination for every list.

A page is `{"items": [...], "next_cursor": "..."}` plus a `Link: <...>; rel="next"` header. The
cursor is opaque to clients: the list's name and sort, and the sort values of the last item,
base64url-encoded JSON. A page is read with `WHERE (sort keys) > (cursor values) ORDER BY sort
keys LIMIT n+1`, so its cost does not grow with the table (given an index on the sort keys).

Sort keys may be nullable (an agreement's dates): NULLs sort last, ascending and descending, on
both databases (SQLite puts them first by default, PostgreSQL last ascending and first
descending), and the keyset condition treats them explicitly, so that a NULL at a page boundary
neither stops the list nor repeats rows.

A cursor is input: it is decoded strictly, each value checked against the type of its key
(text without NUL or lone surrogates, integers within 64 bits, aware datetimes...). Anything
else, and a cursor of another list or sort order, is a 422 naming the `cursor` parameter.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    BindParameter,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    SmallInteger,
    String,
    Uuid,
    and_,
    bindparam,
    false,
    literal,
    or_,
    tuple_,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.core.errors import FieldError, ValidationFailed

T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# A cursor carries a sort value in full (an organization's normalized name: up to 300
# characters of up to 4 bytes each, or 6 once escaped in JSON), in base64: room for the longest.
MAX_CURSOR_LENGTH = 8192
# The bind parameters of a page statement built once (`Ordering.after_marks`).
CURSOR_PARAMETER = "cursor_"
LIMIT_PARAMETER = "page_limit"

LIMIT_DESCRIPTION = f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."
CURSOR_DESCRIPTION = "The `next_cursor` of the previous page; omit it for the first page."

LimitQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description=LIMIT_DESCRIPTION,
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description=CURSOR_DESCRIPTION,
    ),
]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(extra="forbid")

    items: list[T] = Field(max_length=MAX_LIMIT)
    next_cursor: str | None = Field(default=None, max_length=MAX_CURSOR_LENGTH)


class ValueKind(Enum):
    """The type of a sort key's values, as a cursor carries them."""

    text = "text"
    integer = "integer"
    boolean = "boolean"
    uuid = "uuid"
    datetime = "datetime"
    date = "date"
    decimal = "decimal"


def integer_bits(column_type: TypeEngine[Any]) -> int:
    """How many bits the integers of a column hold: 16, 32 or 64."""
    if isinstance(column_type, TypeDecorator):
        return integer_bits(column_type.impl_instance)
    if isinstance(column_type, BigInteger):
        return 64
    if isinstance(column_type, SmallInteger):
        return 16
    return 32


def kind_of(column_type: TypeEngine[Any]) -> ValueKind:
    """The kind of values a column of this type holds."""
    if isinstance(column_type, TypeDecorator):
        return kind_of(column_type.impl_instance)
    for sql_type, kind in (
        (Boolean, ValueKind.boolean),
        (DateTime, ValueKind.datetime),
        (Date, ValueKind.date),
        (Uuid, ValueKind.uuid),
        (Integer, ValueKind.integer),
        (Numeric, ValueKind.decimal),
        (String, ValueKind.text),
    ):
        if isinstance(column_type, sql_type):
            return kind
    raise TypeError(f"no keyset pagination over columns of type {column_type!r}")


class InvalidCursor(ValueError):
    """A cursor value that no page of this list can have given out."""


def _text(value: str) -> str:
    if "\x00" in value:
        raise InvalidCursor("NUL in a cursor")
    value.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError
    return value


def _revive(raw: Any, kind: ValueKind, bits: int = 64) -> Any:
    """A cursor's JSON value as the key's Python value; InvalidCursor (or a ValueError,
    TypeError, ArithmeticError, UnicodeError) for anything a page could not have given."""
    if kind is ValueKind.boolean:
        if type(raw) is not bool:
            raise InvalidCursor("not a boolean")
        return raw
    if kind is ValueKind.integer:
        bound = 2 ** (bits - 1)
        if type(raw) is not int or not -bound <= raw < bound:
            raise InvalidCursor(f"not a {bits}-bit integer")
        return raw
    if not isinstance(raw, str):
        raise InvalidCursor("not a string")
    text = _text(raw)
    if kind is ValueKind.text:
        return text
    if kind is ValueKind.uuid:
        return uuid.UUID(text)
    if kind is ValueKind.datetime:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise InvalidCursor("a datetime without its offset")
        return moment.astimezone(UTC)
    if kind is ValueKind.date:
        if len(text) != 10:
            raise InvalidCursor("not a date")
        return date.fromisoformat(text)
    number = decimal.Decimal(text)
    if not number.is_finite():
        raise InvalidCursor("not a finite number")
    return number


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset ordering. NULLs (when the column may hold them) sort last."""

    column: ColumnElement[Any]
    descending: bool = False
    nullable: bool | None = None  # None: as the column is declared

    @property
    def may_be_null(self) -> bool:
        if self.nullable is not None:
            return self.nullable
        return bool(getattr(self.column, "nullable", True))

    @property
    def kind(self) -> ValueKind:
        return kind_of(self.column.type)

    def value_of(self, row: Any) -> Any:
        """This key's value in a result row (selected columns) or a mapped object."""
        mapping = getattr(row, "_mapping", None)
        if mapping is not None:
            return mapping[self.column]
        return getattr(row, str(self.column.key))

    def order_by(self) -> ColumnElement[Any]:
        clause = self.column.desc() if self.descending else self.column.asc()
        return clause.nulls_last() if self.may_be_null else clause

    def equal(self, value: Any) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == value

    def beyond(self, value: Any) -> ColumnElement[bool] | None:
        """Rows after `value` in this key's order (None: no row is, NULLs being last)."""
        if value is None:
            return None
        beyond = self.column < value if self.descending else self.column > value
        return or_(beyond, self.column.is_(None)) if self.may_be_null else beyond

    def revive(self, raw: Any) -> Any:
        if raw is None:
            if not self.may_be_null:
                raise InvalidCursor("null for a key that is never null")
            return None
        kind = self.kind
        bits = integer_bits(self.column.type) if kind is ValueKind.integer else 64
        return _revive(raw, kind, bits)


def encode_cursor(values: Sequence[Any], token: str = "") -> str:
    raw = orjson.dumps([token, *(_plain(value) for value in values)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this list gave out (for this sort order).",
        [FieldError("Invalid cursor: use the next_cursor of a page", parameter="cursor")],
    )


def decode_cursor(cursor: str, keys: Sequence[SortKey], token: str = "") -> list[Any]:
    """The sort values in a cursor made by `encode_cursor(values, token)` for these keys.

    Every other string is refused with a 422: a cursor of another list or sort order, and any
    value its key could not hold."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("too long")
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        decoded = orjson.loads(raw)
        if not isinstance(decoded, list) or len(decoded) != len(keys) + 1:
            raise InvalidCursor("not a cursor of this list")
        if not isinstance(decoded[0], str) or decoded[0] != token:
            raise InvalidCursor("a cursor of another list or sort order")
        return [key.revive(value) for key, value in zip(keys, decoded[1:], strict=True)]
    except (
        binascii.Error,
        ValueError,
        TypeError,
        ArithmeticError,
        UnicodeError,
        RecursionError,
    ) as exc:
        raise invalid_cursor() from exc


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (mixed directions, NULLs last).

    When every key runs one way, is never null and has a value, the rows after are those whose
    keys, compared as one row value, are beyond the values: `(start_date, id) > (:d, :i)`.
    Both databases read that as the bound of a range of the index on those keys, so the scan
    starts at the cursor's very row. Otherwise the rows after are those beyond the first key's
    value, or equal to it and beyond the second key's, and so on: a disjunction that a
    database evaluates row by row from the start of the index, so a page deep in the list would
    cost as much as its position. When the first key is never null and has a value, the rows
    after are also within one bound of it (`>=` it, `<=` descending), said as well: the index
    scan starts at the first row of that value, and tests every row that shares it (at a
    million agreements, hundreds share a start date, each tested in the table)."""
    first, value = keys[0], values[0]
    if (
        len(keys) > 1
        and all(value is not None for value in values)
        and not any(key.may_be_null for key in keys)
        and len({key.descending for key in keys}) == 1
    ):
        row = tuple_(*(key.column for key in keys))
        bound = tuple_(*(_bound(key, value) for key, value in zip(keys, values, strict=True)))
        return row < bound if first.descending else row > bound
    clauses = []
    for index, key in enumerate(keys):
        beyond = key.beyond(values[index])
        if beyond is None:
            continue
        equal_before = [k.equal(v) for k, v in zip(keys[:index], values[:index], strict=True)]
        clauses.append(and_(*equal_before, beyond))
    if not clauses:
        return false()
    condition = or_(*clauses)
    if value is None or first.may_be_null or len(keys) == 1:
        return condition
    bound = first.column <= value if first.descending else first.column >= value
    return and_(bound, condition)


def _bound(key: SortKey, value: Any) -> ColumnElement[Any]:
    """A value of a row-value comparison, typed as its key's column (a bind parameter already
    is)."""
    if isinstance(value, ColumnElement):
        return value
    return literal(value, type_=key.column.type)


def limit_mark() -> BindParameter[int]:
    """A page's `LIMIT`, bound (`LIMIT_PARAMETER`)."""
    return bindparam(LIMIT_PARAMETER, type_=Integer)


@dataclass(frozen=True)
class Ordering:
    """A list's order: its keys, the last of which is unique and never null, and the token that
    its cursors carry (the list's name and the sort), so that a cursor serves only it."""

    keys: tuple[SortKey, ...]
    token: str = ""

    def order(self, stmt: SelectT) -> SelectT:
        return stmt.order_by(*(key.order_by() for key in self.keys))

    def values_of(self, row: Any) -> list[Any]:
        return [key.value_of(row) for key in self.keys]

    # Pages with bind parameters: a statement that depends only on which cursor values are
    # null, built once and run with each page's values (`core.listing` keeps them by shape).

    def values_of_cursor(self, cursor: str | None) -> list[Any] | None:
        return decode_cursor(cursor, self.keys, self.token) if cursor else None

    def after_marks(self, stmt: SelectT, nulls: Sequence[bool] | None) -> SelectT:
        """The next rows after any cursor whose values are null where `nulls` says, written with
        bind parameters (`cursor_<i>`, typed as their columns) and a bound `LIMIT`."""
        if nulls is not None:
            stmt = stmt.where(after(self.keys, self._marks(nulls)))
        return self.order(stmt).limit(limit_mark())

    def parts_marks(self, stmt: SelectT, nulls: Sequence[bool] | None) -> tuple[SelectT, ...]:
        """A page's statements, with the parameters of `after_marks`: run in turn, each for
        what the page still lacks, until one holds one row more than the page.

        One statement (`after_marks`), unless the first key may be null and others follow it
        (an agreement's start date, then its id). In one statement, the rows after a cursor
        would be those beyond its value *or null*: no index range holds both, so the scan
        would start at the top of the index and filter its way down, and a page deep in the
        list would cost as much as its position. So such a page is read in two parts, each an
        index range in index order: the rows with a value (`IS NOT NULL`, bounded by the
        cursor's value as any other key), then the rows without one, in the order of the keys
        after the first. A cursor on a row without a value reads the second part alone; a
        page reads the second only when the first runs out, at the boundary. Two parts of a
        page are two statements: a change of a row's key between them can move it across
        the boundary, as a change between two pages can."""
        first = self.keys[0]
        if len(self.keys) == 1 or not first.may_be_null:
            return (self.after_marks(stmt, nulls),)
        rest = self.keys[1:]
        # Both parts order by the first key too, in the database's own place for NULLs (no
        # NULLS LAST): an index on (key, tiebreaker) is read as it lies, forward or backward,
        # in each part. The key is null throughout the second, so its rows come in the
        # tiebreaker's order.
        plain = Ordering((SortKey(first.column, first.descending, nullable=False), *rest))
        without = stmt.where(first.column.is_(None))
        if nulls is not None and nulls[0]:
            tail = without.where(after(rest, self._marks(nulls)[1:]))
            return (plain.order(tail).limit(limit_mark()),)
        return (
            plain.after_marks(stmt.where(first.column.is_not(None)), nulls),
            plain.order(without).limit(limit_mark()),
        )

    def _marks(self, nulls: Sequence[bool]) -> list[BindParameter[Any] | None]:
        return [
            None if null else bindparam(f"{CURSOR_PARAMETER}{index}", type_=key.column.type)
            for index, (key, null) in enumerate(zip(self.keys, nulls, strict=True))
        ]

    async def read_parts(
        self,
        read: Callable[[SelectT, dict[str, Any]], Awaitable[Sequence[Any]]],
        stmt: SelectT,
        values: Sequence[Any] | None,
        wanted: int,
    ) -> list[Any]:
        """Up to `wanted` rows of `stmt` after the row whose sort values are `values` (from the
        first without): the statements of `parts_marks`, run by `read` in turn, each for the
        rows still lacking. For statements built anew each time (an export's chunks); a list
        keeps its statements by shape (`core.listing`)."""
        nulls = None if values is None else [value is None for value in values]
        parameters = self.mark_values(values, wanted)
        return await read_parts(read, self.parts_marks(stmt, nulls), parameters, wanted)

    @staticmethod
    def mark_values(values: Sequence[Any] | None, limit: int) -> dict[str, Any]:
        """The values of `after_marks`'s parameters for one page (one row more than `limit`)."""
        bound: dict[str, Any] = {LIMIT_PARAMETER: limit + 1}
        for index, value in enumerate(values or ()):
            if value is not None:
                bound[f"{CURSOR_PARAMETER}{index}"] = value
        return bound

    def split(self, rows: Sequence[T], limit: int) -> tuple[list[T], str | None]:
        """The page's rows and the cursor of the next page (None on the last)."""
        items = list(rows[:limit])
        if len(rows) > limit and items:
            return items, encode_cursor(self.values_of(items[-1]), self.token)
        return items, None


async def read_parts(
    read: Callable[[SelectT, dict[str, Any]], Awaitable[Sequence[Any]]],
    statements: Sequence[SelectT],
    parameters: Mapping[str, Any],
    wanted: int,
) -> list[Any]:
    """Up to `wanted` rows from a page's statements (`Ordering.parts_marks`), run by `read` in
    turn with their `parameters` (the cursor's, `Ordering.mark_values`, and the filters'),
    each for the rows still lacking: the second part runs only when the first runs out."""
    given = dict(parameters)
    rows: list[Any] = []
    for statement in statements:
        # `read` has run its statement before the next part changes the limit.
        given[LIMIT_PARAMETER] = wanted - len(rows)
        rows += await read(statement, given)
        if len(rows) >= wanted:
            break
    return rows


@dataclass(frozen=True)
class SortField:
    """A column a list can be sorted by; `nullable` as the column is declared unless given."""

    column: ColumnElement[Any]
    nullable: bool | None = None


@dataclass(frozen=True)
class SortOptions:
    """The whitelisted `sort` values of a list: field names, `-field` for descending. The
    tiebreaker (the id) makes the order total."""

    fields: Mapping[str, ColumnElement[Any] | SortField]
    tiebreaker: ColumnElement[Any]
    default: str
    list_name: str = ""
    _fields: dict[str, SortField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        normalized = {
            name: spec if isinstance(spec, SortField) else SortField(spec)
            for name, spec in self.fields.items()
        }
        object.__setattr__(self, "_fields", normalized)
        if self.default.removeprefix("-") not in normalized:
            raise ValueError(f"the default sort {self.default!r} is not a sort field")

    @property
    def tokens(self) -> list[str]:
        """Every accepted `sort` value."""
        return [prefix + name for name in self._fields for prefix in ("", "-")]

    def parse(self, sort: str | None) -> Ordering:
        token = sort or self.default
        name = token.removeprefix("-")
        spec = self._fields.get(name)
        if spec is None:
            allowed = ", ".join(sorted(self._fields))
            detail = f"Sort by one of: {allowed} (prefix - for descending)"
            raise ValidationFailed(
                "This list cannot be sorted that way.", [FieldError(detail, parameter="sort")]
            )
        descending = token.startswith("-")
        tiebreaker = SortKey(self.tiebreaker, descending, nullable=False)
        if spec.column is self.tiebreaker:
            keys: tuple[SortKey, ...] = (tiebreaker,)
        else:
            keys = (SortKey(spec.column, descending, spec.nullable), tiebreaker)
        return Ordering(keys, f"{self.list_name}:{token}" if self.list_name else token)

    def description(self) -> str:
        names = ", ".join(f"`{name}`" for name in sorted(self._fields))
        return f"Sort by {names}; prefix `-` for descending. Default `{self.default}`."
