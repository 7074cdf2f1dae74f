"""Lists, declared once per resource: what they select, their filters and their sorts, as data.

A resource writes one `ListSpec`: the statement that selects its listed columns, a table of
filters (each reading fields of the resource's query-parameter model and giving a condition),
and its `SortOptions`. The spec checks, when it is built, that every field of the parameter
model has its filter and no filter reads a field the model lacks, so that a filter cannot be
declared and forgotten. From it come a page (keyset pagination, `core.pagination`) and the
ordered statement of a CSV export (`core.csv_export`).

A spec that names its `item` model (whose fields are the first columns of its statement, in
order, with the same names; or with `item_of`, a function that makes an item from a row)
serves its pages the lean way (`json_page`): one statement outside
any session or transaction (`Database.read`), and the rows written straight to JSON
(`core.serialization.dump_rows`), without building and validating a model per row: the database
returned what the columns hold, and the bytes are the ones the model would give (a test
compares them).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from itertools import repeat
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.core.config import Settings
from app.core.csv_export import CSV_MEDIA_TYPE, Export, csv_response, wants_csv
from app.core.db import Database, session_reads
from app.core.direct import PLAN_EACH_TIME
from app.core.errors import NotFound
from app.core.http import JSON_MEDIA_TYPE, json_response
from app.core.openapi import QUERY_ERRORS, problem_responses
from app.core.pagination import (
    Ordering,
    Page,
    SortKey,
    SortOptions,
    limit_mark,
    read_parts,
)
from app.core.serialization import dump_rows
from app.core.sql import search_in_index
from app.core.text import like_pattern, normalize
from app.core.urls import next_link

Condition = ColumnElement[bool]
# Page statements kept per list, by shape (`ListSpec.page_statement`).
MAX_KEPT_STATEMENTS = 256
ITEM_KEY_PARAMETER = "item_key"


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class Filter:
    """A filter: the parameter fields it reads, and the condition their values give (None:
    no condition, the parameters were not given).

    A page's statement is kept by its shape (`ListSpec`), so a filter also says what of its
    values shapes the condition (`shape`), writes the condition of that shape with bind
    parameters named after its fields (`template`), and gives their values (`bind`). This base
    class is the custom filter: its values themselves are its shape, and its condition is built
    from them."""

    # Whether a statement with this filter is planned for each execution's values.
    planned_each_time = False
    # Which rows an index in the list's order can test for this filter: None, every row.
    in_index: Condition | None = None

    def __init__(
        self,
        fields: tuple[str, ...],
        condition: Callable[..., Condition | None],
        *,
        ids_first: bool = False,
    ):
        self.fields = fields
        self.condition = condition
        # Whether a page with this filter reads its ids first (`ListSpec.page_statement`).
        self.ids_first = ids_first

    def _values(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[name] for name in self.fields]

    def reads_ids_first(self, values: Mapping[str, Any], order: Ordering) -> bool:
        """Whether a page with these values, in this order, reads its ids first."""
        return self.ids_first

    def apply(self, values: Mapping[str, Any]) -> Condition | None:
        """The condition, with the values written in (exports)."""
        return self.condition(*self._values(values))

    def shape(self, values: Mapping[str, Any]) -> Hashable:
        return tuple(_hashable(value) for value in self._values(values))

    def template(self, values: Mapping[str, Any]) -> Condition | None:
        """The condition of the values' shape (for a custom filter, of the values)."""
        return self.apply(values)

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {}


def _hashable(value: Any) -> Hashable:
    return tuple(_plain(item) for item in value) if isinstance(value, list) else _plain(value)


def _parameter(name: str) -> str:
    return f"filter_{name}"


class _Bound(Filter):
    """A built-in filter: its condition's shape is which of its values were given."""

    def given(self, value: Any) -> bool:
        return bool(value) if isinstance(value, list) else value is not None

    def shape(self, values: Mapping[str, Any]) -> Hashable:
        return tuple(self.given(value) for value in self._values(values))

    def template(self, values: Mapping[str, Any]) -> Condition | None:
        marks: list[BindParameter[Any] | None] = [
            bindparam(_parameter(name), expanding=isinstance(value, list))
            if self.given(value)
            else None
            for name, value in zip(self.fields, self._values(values), strict=True)
        ]
        return self.condition(*marks)

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            _parameter(name): self.prepare(value)
            for name, value in zip(self.fields, self._values(values), strict=True)
            if self.given(value)
        }

    def prepare(self, value: Any) -> Any:
        """A value as its bind parameter takes it."""
        return [_plain(item) for item in value] if isinstance(value, list) else _plain(value)


class _Leading(_Bound):
    """`one_of` where an index leads with the column, then an order's keys: a page of one value
    in that order is a range of that index, read as it lies (no ids first); several values, or
    another order, read as `carried` says."""

    def __init__(
        self,
        name: str,
        condition: Callable[..., Condition | None],
        leads: Sequence[ColumnElement[Any]],
        *,
        carried: bool,
    ):
        super().__init__((name,), condition, ids_first=carried)
        self.leads = tuple(leads)

    def _one(self, values: Mapping[str, Any]) -> bool:
        (value,) = self._values(values)
        return isinstance(value, list) and len(value) == 1

    def shape(self, values: Mapping[str, Any]) -> Hashable:
        return (super().shape(values), self._one(values))

    def reads_ids_first(self, values: Mapping[str, Any], order: Ordering) -> bool:
        first = order.keys[0].column
        leading = self._one(values) and any(first is column for column in self.leads)
        return self.ids_first and not leading


def one_of(
    name: str,
    column: ColumnElement[Any],
    *,
    carried: bool = False,
    leads: Sequence[ColumnElement[Any]] = (),
) -> Filter:
    """`name=a&name=b`: the column holds one of the values given. `carried`: the index of the
    list's default order carries the column (PostgreSQL's `INCLUDE`), so that a page with it
    tests its candidates there and reads its ids first (`ListSpec`). `leads`: the first keys of
    the orders in which an index leads with the column (`(channel, occurred_on, id)`): a page
    of one value in such an order reads that index's range (`_Leading`)."""

    def condition(values: Any) -> Condition | None:
        if values is None or (isinstance(values, list) and not values):
            return None
        if isinstance(values, list):
            values = [_plain(value) for value in values]
        return column.in_(values)

    if leads:
        return _Leading(name, condition, leads, carried=carried)
    return _Bound((name,), condition, ids_first=carried)


def equal_to(name: str, column: ColumnElement[Any]) -> Filter:
    """`name=a`: the column holds this value."""

    def condition(value: Any) -> Condition | None:
        return None if value is None else column == _plain(value)

    return _Bound((name,), condition)


class _TextSearch(_Bound):
    """A term that normalizes to nothing is no condition; the parameter is the LIKE pattern.
    How many rows a term matches decides the best plan: a page with a search is planned for its
    term (`core.direct.PLAN_EACH_TIME`), and reads its ids first, in two halves: the rows whose
    text an index in the list's order carries (`core.sql.search_in_index`) and the others."""

    planned_each_time = True

    def __init__(
        self,
        fields: tuple[str, ...],
        condition: Callable[..., Condition | None],
        *,
        in_index: Condition,
    ):
        super().__init__(fields, condition, ids_first=True)
        self.in_index = in_index

    def given(self, value: Any) -> bool:
        return value is not None and bool(normalize(value))

    def prepare(self, value: Any) -> Any:
        return like_pattern(value)


def spaced(values: Iterable[str | None]) -> str:
    """Codes (none holding a space) as one text, each between spaces, once, in order: the form
    `holds_any` tests (` ngo rppo `). A value not given (None: an organization of no category)
    is left out, as SQL's aggregates leave out NULL (`core.sql.spaced_codes`)."""
    return " " + "".join(f"{value} " for value in sorted({v for v in values if v is not None}))


def _spaced_pattern(value: Any) -> str:
    """A `LIKE ... ESCAPE '\\'` pattern matching the code `value` in a `spaced` text."""
    code = str(_plain(value))
    return "% " + code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"


class _Holds(_Bound):
    """A column of codes (`spaced`) holds any of the values given. Its shape is how many were
    given (a statement per count, each value a bind parameter of its own); it reads only that
    column, so that an index in the list's order that carries it tests a page's candidates
    (ids first)."""

    def __init__(self, name: str, column: ColumnElement[str]):
        super().__init__((name,), self._condition, ids_first=True)
        self.name = name
        self.column = column

    def _condition(self, values: Any) -> Condition | None:
        if not values:
            return None
        return or_(*(self.column.like(_spaced_pattern(value), escape="\\") for value in values))

    def _names(self, count: int) -> list[str]:
        return [_parameter(f"{self.name}_{index}") for index in range(count)]

    def shape(self, values: Mapping[str, Any]) -> Hashable:
        return len(values[self.name] or ())

    def template(self, values: Mapping[str, Any]) -> Condition | None:
        names = self._names(len(values[self.name] or ()))
        if not names:
            return None
        return or_(*(self.column.like(bindparam(name), escape="\\") for name in names))

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        given = values[self.name] or ()
        return dict(zip(self._names(len(given)), map(_spaced_pattern, given), strict=True))


def holds_any(name: str, column: ColumnElement[str]) -> Filter:
    """`name=a&name=b`: the column, the codes of a record's links as one text (`spaced`),
    holds any of the values given: a copy of the links beside the record, where an index in the
    list's order can carry them (the public register's own rows, app/models/public.py)."""
    return _Holds(name, column)


def greater_than(name: str, column: ColumnElement[Any]) -> Filter:
    """`name=v`: the column holds more than v (a change feed's `after_id`)."""

    def condition(value: Any) -> Condition | None:
        return None if value is None else column > value

    return _Bound((name,), condition)


def text_search(name: str, normalized_column: ColumnElement[str]) -> Filter:
    """`q=...`: the normalized text (`core.text.normalize`) holds the normalized term."""

    def condition(term: Any) -> Condition | None:
        if term is None:
            return None
        if isinstance(term, str):
            if not normalize(term):
                return None
            term = like_pattern(term)
        return normalized_column.like(term, escape="\\")

    return _TextSearch((name,), condition, in_index=search_in_index(normalized_column))


def in_range(name: str, column: ColumnElement[Any]) -> Filter:
    """`name_from` and `name_to`, inclusive at both ends."""

    def condition(start: Any, end: Any) -> Condition | None:
        parts = []
        if start is not None:
            parts.append(column >= start)
        if end is not None:
            parts.append(column <= end)
        if not parts:
            return None
        return and_(*parts)

    return _Bound((f"{name}_from", f"{name}_to"), condition)


def custom(
    *names: str, condition: Callable[..., Condition | None], ids_first: bool = False
) -> Filter:
    """Any other rule, reading the fields `names`. Its statements are kept by its values: a
    custom filter over a small set of values (a flag, a choice) costs nothing; one over free
    values (an id) builds most of its pages' statements anew.

    `ids_first`: the condition reads no column of the row but its id (a link table names it),
    so that a page with it tests its rows in the order's index alone (`ListSpec`)."""
    return Filter(tuple(names), condition, ids_first=ids_first)


@dataclass(frozen=True)
class ListSpec:
    """One resource's list: what it selects, how it filters, how it sorts."""

    name: str
    statement: Select[Any]
    parameters: type[BaseModel]
    filters: tuple[Filter, ...]
    sorts: SortOptions
    sort_enum: type[StrEnum] | None = None
    item: type[BaseModel] | None = None
    # How a row becomes an item, for items that are not the row's columns as they are (a
    # nested object): the dict the `item` model would write, in its fields' order.
    item_of: Callable[[Any], dict[str, Any]] | None = None
    _shown: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    _kept: OrderedDict[Hashable, tuple[Select[Any], ...]] = field(
        init=False, repr=False, compare=False, default_factory=OrderedDict
    )
    _by_key: dict[str, Select[Any]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        read = [name for item in self.filters for name in item.fields]
        declared = set(self.parameters.model_fields)
        twice = {name for name in read if read.count(name) > 1}
        missing, unknown = declared - set(read), set(read) - declared
        if missing or unknown or twice:
            raise TypeError(
                f"the filters of the {self.name} list do not match {self.parameters.__name__}: "
                f"without a filter {sorted(missing)}, unknown {sorted(unknown)}, "
                f"read twice {sorted(twice)}"
            )
        if self.sorts.list_name != self.name:
            raise TypeError(f"the sorts of the {self.name} list must carry its name")
        if self.sort_enum is not None and {item.value for item in self.sort_enum} != set(
            self.sorts.tokens
        ):
            raise TypeError(f"{self.sort_enum.__name__} must list the sorts of {self.name}")
        if self.item is not None and self.item_of is None:
            shown = tuple(self.item.model_fields)
            selected = tuple(self.statement.selected_columns.keys())[: len(shown)]
            if selected != shown:
                raise TypeError(
                    f"the {self.name} list must select the fields of {self.item.__name__} first, "
                    f"in order: {list(shown)}, not {list(selected)}"
                )
            object.__setattr__(self, "_shown", shown)

    def where(self, parameters: BaseModel) -> Select[Any]:
        """The statement, filtered (unordered)."""
        values = {name: getattr(parameters, name) for name in type(parameters).model_fields}
        stmt = self.statement
        for item in self.filters:
            condition = item.apply(values)
            if condition is not None:
                stmt = stmt.where(condition)
        return stmt

    def ordering(self, sort: str | None) -> Ordering:
        return self.sorts.parse(sort)

    def export(
        self, parameters: BaseModel, sort: str | None, columns: Sequence[Any], filename: str
    ) -> Export:
        """The whole filtered, ordered set, for CSV (`core.csv_export`)."""
        return Export(self.where(parameters), self.ordering(sort), columns, filename)

    def page_statement(
        self, parameters: BaseModel, order: Ordering, limit: int, cursor: str | None
    ) -> tuple[tuple[Select[Any], ...], dict[str, Any]]:
        """A page's statements (`Ordering.parts_marks`: one, or two parts when the first sort
        key may be null; `read_page` runs them) and the values of their bind parameters.

        Statements are kept by shape (the sort, which filters were given and how, which values
        of the cursor are null) and run with each page's values: building a statement, keying
        it for the compiled-statement cache and matching its cached result columns cost more
        than the query itself on a hot list. At most `MAX_KEPT_STATEMENTS` are kept."""
        values = {name: getattr(parameters, name) for name in type(parameters).model_fields}
        after = order.values_of_cursor(cursor)
        nulls = None if after is None else tuple(value is None for value in after)
        key = (order.token, tuple(item.shape(values) for item in self.filters), nulls)
        statements = self._kept.get(key)
        if statements is None:
            statements = self._statements(values, order, nulls)
            self._kept[key] = statements
            if len(self._kept) > MAX_KEPT_STATEMENTS:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(key)
        bound = order.mark_values(after, limit)
        for item in self.filters:
            bound.update(item.bind(values))
        return statements, bound

    def _statements(
        self, values: Mapping[str, Any], order: Ordering, nulls: Sequence[bool] | None
    ) -> tuple[Select[Any], ...]:
        """The statements of a page of this shape (`page_statement`)."""
        given = [
            (item, condition)
            for item in self.filters
            if (condition := item.template(values)) is not None
        ]
        conditions = [condition for _, condition in given]
        if any(item.reads_ids_first(values, order) for item, _ in given):
            halves = [item.in_index for item, _ in given if item.in_index is not None]
            statements = self._ids_first(conditions, halves, order, nulls)
        else:
            statements = order.parts_marks(self.statement.where(*conditions), nulls)
        if any(item.planned_each_time for item, _ in given):
            return tuple(
                statement.execution_options(**{PLAN_EACH_TIME: True}) for statement in statements
            )
        return statements

    def _ids_first(
        self,
        conditions: Sequence[Condition],
        halves: Sequence[Condition],
        order: Ordering,
        nulls: Sequence[bool] | None,
    ) -> tuple[Select[Any], ...]:
        """A page whose filters test rows by what an index in the list's order holds (a link
        table's ids, a search's text): its ids first, from that index alone (only the order's
        keys selected), then its rows by id, in order. Read together, PostgreSQL would fetch
        each row the filters test from the table (a page of a common search at a million
        rows: about 2,500 rows, each on a page of its own); this way it fetches the page's.

        A search's text is in its index only where it fits (`core.sql.search_in_index`):
        its ids come from two halves, those rows and the others (almost none, with an index
        of their own), the page's first ones of both merged in order."""
        keys = order.keys
        ids = self.statement.with_only_columns(*(key.column for key in keys)).where(*conditions)
        pieces = [ids] if not halves else [ids.where(*halves), ids.where(~and_(*halves))]
        statements = []
        # For each part of the page (`Ordering.parts_marks`), that part of every piece.
        for of_part in zip(*(order.parts_marks(piece, nulls) for piece in pieces), strict=True):
            if len(of_part) == 1:
                chosen = of_part[0].subquery("page_ids")
            else:
                merged = union_all(*(select(*piece.subquery().c) for piece in of_part)).subquery()
                merged_order = Ordering(
                    tuple(
                        SortKey(merged.c[str(key.column.key)], key.descending, key.may_be_null)
                        for key in keys
                    )
                )
                chosen = merged_order.order(select(*merged.c)).limit(limit_mark())
                chosen = chosen.subquery("page_ids")
            tiebreaker = keys[-1].column
            found = tiebreaker.in_(select(chosen.c[str(tiebreaker.key)]))
            statements.append(order.order(self.statement.where(found)))
        return tuple(statements)

    async def read_page(
        self,
        read: Callable[[Select[Any], dict[str, Any]], Awaitable[Sequence[Any]]],
        parameters: BaseModel,
        order: Ordering,
        limit: int,
        cursor: str | None,
    ) -> list[Any]:
        """A page's rows, one more than `limit` when more follow: its statements run by `read`
        in turn, each for the rows the page still lacks."""
        statements, bound = self.page_statement(parameters, order, limit, cursor)
        return await read_parts(read, statements, bound, limit + 1)

    async def page(
        self,
        session: AsyncSession,
        parameters: BaseModel,
        *,
        sort: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Any], str | None]:
        """One page of rows, and the cursor of the next (None on the last)."""
        order = self.ordering(sort)
        found = await self.read_page(session_reads(session), parameters, order, limit, cursor)
        return order.split(found, limit)

    def item_dict(self, row: Any) -> dict[str, Any]:
        """A row as its item: the dict the `item` model would write."""
        if self.item_of is not None:
            return self.item_of(row)
        return dict(zip(self._shown, row, strict=False))

    async def read_item(
        self, database: Database, key: ColumnElement[Any], value: Any, *, missing: str
    ) -> dict[str, Any]:
        """One item, found by `key` (its id), as a page shows it: one statement outside any
        transaction. None there is a 404 whose detail is `missing`."""
        statement = self._by_key.get(str(key))
        if statement is None:
            statement = self.statement.where(key == bindparam(ITEM_KEY_PARAMETER))
            self._by_key[str(key)] = statement
        rows = await database.read(statement, {ITEM_KEY_PARAMETER: value})
        if not rows:
            raise NotFound(missing)
        return self.item_dict(rows[0])

    async def json_page(
        self,
        database: Database,
        parameters: BaseModel,
        *,
        sort: str | None,
        limit: int,
        cursor: str | None,
    ) -> JsonPage:
        """One page, serialized: the rows of one statement, as the `item` model would show them."""
        if self.item is None:
            raise TypeError(f"the {self.name} list names no item model")
        order = self.ordering(sort)
        found = await self.read_page(database.read, parameters, order, limit, cursor)
        rows, next_cursor = order.split(found, limit)
        if self.item_of is not None:
            items = [self.item_of(row) for row in rows]
        else:
            # The common case, without a Python step per row: each row's first columns, named.
            items = list(map(dict, map(zip, repeat(self._shown), rows)))
        return JsonPage(dump_rows({"items": items, "next_cursor": next_cursor}), next_cursor)


@dataclass(frozen=True)
class JsonPage:
    """A page already written as JSON (`Page`'s shape), and the cursor of the next one."""

    body: bytes
    next_cursor: str | None


# Lists answer JSON or CSV by the Accept header: a cache must keep them apart.
LIST_VARY = {"Vary": "Accept"}

FORMAT_DESCRIPTION = "`csv`: the whole filtered set, as CSV (so does `Accept: text/csv`)."
FormatQuery = Annotated[Literal["json", "csv"] | None, Query(description=FORMAT_DESCRIPTION)]

# The responses a list declares besides its page: the CSV, bad parameters, too many exports.
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        # The CSV has no schema: it streams the whole filtered set, whose length no bound
        # holds (docs/architecture.md, "The contract").
        "content": {CSV_MEDIA_TYPE: {}},
        "description": "A page as JSON, or the whole filtered set as CSV "
        "(`format=csv` or `Accept: text/csv`).",
    },
    **QUERY_ERRORS,
    **problem_responses(429),
}


def page_response(request: Request, settings: Settings, page: Page[Any] | JsonPage) -> Response:
    """A page as JSON, with its `Link` to the next page (on the configured public address)."""
    headers = {**next_link(settings, request, page.next_cursor), **LIST_VARY}
    if isinstance(page, JsonPage):
        return Response(page.body, media_type=JSON_MEDIA_TYPE, headers=headers)
    return json_response(page, headers=headers)


async def list_response(
    request: Request,
    settings: Settings,
    database: Database,
    *,
    format_: str | None,
    page: Callable[[], Awaitable[Page[Any] | JsonPage]],
    export: Callable[[], Export],
) -> Response:
    """A list's answer: the whole filtered set as CSV when asked (`format=csv` or the Accept
    header), else one page as JSON."""
    if wants_csv(format_, request.headers.get("accept")):
        return csv_response(request, database, settings, export())
    return page_response(request, settings, await page())
