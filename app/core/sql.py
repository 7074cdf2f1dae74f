"""SQL that each database spells its own way, written once: a UUID as text, a JSON object and
a JSON array built by the database, a timestamp's UTC day, and a list of constants written into
the statement.

- `uuid_text(column)`: the UUID as `str(uuid)` writes it, lower case with hyphens (SQLite keeps
  UUIDs as 32 hexadecimal digits; PostgreSQL's text form is already that).
- `json_object(key, value, ...)`: a JSON object, as compact text: `json_object` on SQLite;
  on PostgreSQL, whose `json_build_object` writes `{"key" : value, ...}`, the object written
  piece by piece, each value as `to_json` writes it. The keys are plain names, written into
  the statement.
- `json_array_agg(value)`: the JSON objects of a group as a JSON array (`string_agg` between
  brackets, `json_group_array`); over no rows, NULL from PostgreSQL and `[]` from SQLite
  (readers take both for an empty list).
- `json_array_of(value, where=..., order_by=...)`: the JSON array of `value` (a JSON object)
  over the rows that match, in the order given: each database aggregates the rows of an
  ordered subquery in their order. Neither flattens a subquery that has an ORDER BY into the
  aggregate above it, and both keep its order for an aggregate over it alone (SQLite drops a
  subquery's ORDER BY only when the outer query sorts or joins). PostgreSQL documents this as
  the alternative to an aggregate's own ORDER BY, which would sort each row's few elements
  again after the index gave them in order; the SQLite this service supports (3.40) has no
  such ORDER BY at all. A test holds the order on both.
- `utc_date(timestamp)`: the UTC calendar day of a stored timestamp.
- `trigram_index(name, column)`: on PostgreSQL, a GIN index of the column's trigrams
  (`pg_trgm`), which serves `LIKE '%term%'` (the lists' `q`) from the index at any size;
  SQLite has no such index and scans (docs/performance.md, "Scale").
- `octet_length(text)`: the bytes of a text in UTF-8 (how much of an index entry it takes).
- `in_constants(column, values)`: `column IN ('a', 'b')` with the values written into the SQL
  rather than bound. For the constant lists of hot statements (the public statuses): no
  expansion of the list at each execution, and PostgreSQL can match the condition with a
  partial index's, which a bound list hides from a prepared statement's generic plan.

They let one statement bring a row with the small lists that belong to it (a page of agreements
with their partners and decisions) instead of a statement per list. The JSON comes back as text
on both databases, written as `core.serialization.dump_rows` writes the same values (compact,
keys in the order given, UTF-8, dates in ISO 8601): an answer can carry it as it is
(`orjson.Fragment`), and anything else reads it with orjson. A test compares the text with
orjson's on both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    FromClause,
    Index,
    Integer,
    ScalarSelect,
    String,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def _spelled(element: type[FunctionElement[Any]], *, postgresql: str, sqlite: str) -> None:
    """Write the function `element` as each database spells it: `{}` stands for its
    arguments."""

    def on_postgresql(item: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
        return postgresql.format(compiler.process(item.clauses, **kw))

    def on_sqlite(item: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
        return sqlite.format(compiler.process(item.clauses, **kw))

    compiles(element, "postgresql")(on_postgresql)
    compiles(element, "sqlite")(on_sqlite)


class uuid_text(FunctionElement[str]):
    type = String()
    inherit_cache = True


@compiles(uuid_text, "sqlite")
def _uuid_text_sqlite(element: uuid_text, compiler: SQLCompiler, **kw: Any) -> str:
    hex_ = compiler.process(element.clauses, **kw)
    parts = "||'-'||".join(
        f"substr({hex_}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )
    return f"lower({parts})"


@compiles(uuid_text)
def _uuid_text(element: uuid_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS VARCHAR)"


class _json_object(FunctionElement[str]):
    type = String()
    inherit_cache = True


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@compiles(_json_object, "postgresql")
def _json_object_postgresql(element: _json_object, compiler: SQLCompiler, **kw: Any) -> str:
    # `json_build_object` writes `{"key" : value, ...}`: the object is written piece by piece
    # instead, each value as `to_json` writes it (`null` for NULL), with no space anywhere.
    clauses = list(element.clauses)
    pieces = []
    for index in range(0, len(clauses), 2):
        key = str(compiler.process(clauses[index], **kw)).strip("'")
        value = compiler.process(clauses[index + 1], **kw)
        separator = "{" if index == 0 else ","
        pieces.append(f"'{separator}\"{key}\":'")
        pieces.append(f"coalesce(CAST(to_json({value}) AS TEXT), 'null')")
    return "(" + " || ".join([*pieces, "'}'"]) + ")"


@compiles(_json_object, "sqlite")
def _json_object_sqlite(element: _json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


def json_object(*pairs: str | ColumnElement[Any]) -> _json_object:
    """A JSON object of `key, value, ...`, as compact text: the keys are plain names, written
    into the SQL (bound, they would be parameters to pass at every execution)."""
    clauses: list[ColumnElement[Any]] = []
    for index, item in enumerate(pairs):
        if index % 2 == 0:
            if not isinstance(item, str) or not _KEY.fullmatch(item):
                raise TypeError(f"a JSON object's key is a plain name, not {item!r}")
            clauses.append(literal_column(_constant(item)))
        elif isinstance(item, str):
            raise TypeError(f"a JSON object's value is a SQL expression, not {item!r}")
        else:
            clauses.append(item)
    return _json_object(*clauses)


class json_array_agg(FunctionElement[str]):
    type = String()
    inherit_cache = True


_spelled(
    json_array_agg,
    postgresql="('[' || string_agg({}, ',') || ']')",
    sqlite="json_group_array({})",
)


class utc_date(FunctionElement[date]):
    """The UTC calendar day of a stored timestamp (`core.db.UTCDateTime`): SQLite keeps it as
    naive UTC text, whose first ten characters are the day."""

    type = Date()
    inherit_cache = True


_spelled(utc_date, postgresql="CAST(timezone('UTC', {}) AS DATE)", sqlite="date({})")


class _ordered_json_array(FunctionElement[str]):
    """The JSON array of the `element` column of an ordered subquery, in its order."""

    type = String()
    inherit_cache = True


_spelled(
    _ordered_json_array,
    postgresql="('[' || string_agg({}, ',') || ']')",
    # A JSON value read from a subquery is text to SQLite again: json() makes it JSON.
    sqlite="json_group_array(json({}))",
)


def json_array_of(
    value: ColumnElement[Any],
    *,
    where: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any]],
    outer: FromClause,
    joins: FromClause | None = None,
) -> ScalarSelect[str]:
    """The JSON array of `value` over the rows that match `where` (from `joins` when given), in
    the order of `order_by`; over no rows, NULL or `[]` (module docstring). `where` may name
    the table `outer` of the statement it is part of (the record whose list it is)."""
    return _over_ordered(_ordered_json_array, value, where, order_by, outer, joins)


def _over_ordered(
    aggregate: type[FunctionElement[str]],
    value: ColumnElement[Any],
    where: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any] | str],
    outer: FromClause,
    joins: FromClause | None,
    *,
    distinct: bool = False,
) -> ScalarSelect[str]:
    """`aggregate` of `value` over an ordered subquery of the rows that match `where` (from
    `joins` when given), correlated with `outer`: aggregates keep their input's order on both
    databases, which an aggregate's own ORDER BY would sort again."""
    rows = select(value.label("element"))
    if distinct:
        rows = rows.distinct()
    if joins is not None:
        rows = rows.select_from(joins)
    ordered = rows.where(where).order_by(*order_by).correlate(outer).subquery("ordered")
    return select(aggregate(ordered.c.element)).scalar_subquery()


class _bytewise(FunctionElement[str]):
    """A text compared byte by byte (PostgreSQL's "C" collation; SQLite's default)."""

    type = String()
    inherit_cache = True


_spelled(_bytewise, postgresql='({} COLLATE "C")', sqlite="{}")


class _spaced_text(FunctionElement[str]):
    """The codes of an ordered subquery as one text, each between spaces."""

    type = String()
    inherit_cache = True


_spelled(
    _spaced_text,
    postgresql="(' ' || coalesce(string_agg({} || ' ', ''), ''))",
    sqlite="(' ' || coalesce(group_concat({} || ' ', ''), ''))",
)


def spaced_codes(
    code: ColumnElement[str],
    *,
    where: ColumnElement[bool],
    outer: FromClause,
    joins: FromClause | None = None,
) -> ScalarSelect[str]:
    """The distinct values of `code` over the rows that match `where` (from `joins` when given)
    as one text, each between spaces, in byte order: ` ngo rppo `, or ` ` for none, as
    `core.listing.spaced` writes them. `where` may name the table `outer` of the statement it is
    part of."""
    return _over_ordered(
        _spaced_text, _bytewise(code), where, ("element",), outer, joins, distinct=True
    )


class octet_length(FunctionElement[int]):
    """The bytes of a text in UTF-8 (SQLite's `octet_length` is younger than the SQLite this
    service supports)."""

    type = Integer()
    inherit_cache = True


_spelled(octet_length, postgresql="octet_length({})", sqlite="length(CAST({} AS BLOB))")


# A list's search reads the normalized text (`search_key`) from an index in the list's order, so
# that a page tests its rows there rather than in the table (`core.listing`, "ids first"). A
# B-tree entry holds at most 2,704 bytes: the order's key (up to 500 characters of up to 4
# bytes), the id and a text of at most this many bytes fit; the rare longer texts are found
# through an index of their own.
SEARCH_IN_INDEX_BYTES = 600


def search_in_index(column: ColumnElement[str]) -> ColumnElement[bool]:
    """The rows whose normalized text an index in the list's order carries (the bound written
    into the statement, for the planner to match it with the indexes' own)."""
    return octet_length(column) <= literal_column(str(SEARCH_IN_INDEX_BYTES))


def search_index(name: str, *keys: str, where: str = "") -> Index:
    """PostgreSQL: an index in a list's order (`keys`, over the rows `where` selects) that
    carries `search_key` for the rows whose text fits (`search_in_index`): a search reads it
    alone, without the table (SQLite has no such bound on an entry and no need of it)."""
    condition = f"octet_length(search_key) <= {SEARCH_IN_INDEX_BYTES}"
    index = Index(
        name,
        *keys,
        postgresql_include=["search_key"],
        postgresql_where=text(f"{where} AND {condition}" if where else condition),
    )
    return index.ddl_if(dialect="postgresql")


def long_search_index(name: str) -> Index:
    """The ids of the rows whose normalized text is too long for the indexes of
    `search_index` (almost none): a search finds them here."""
    return Index(
        name,
        "id",
        postgresql_where=text(f"octet_length(search_key) > {SEARCH_IN_INDEX_BYTES}"),
        sqlite_where=text(f"length(CAST(search_key AS BLOB)) > {SEARCH_IN_INDEX_BYTES}"),
    )


def _constant(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def in_constants(column: ColumnElement[Any], values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN (...)` with `values` written into the statement (module docstring)."""
    return column.in_([literal_column(_constant(value)) for value in values])


def trigram_index(name: str, column: str) -> Index:
    """A GIN index of `column`'s trigrams, made on PostgreSQL only (its `pg_trgm` extension,
    created by migration 0012)."""
    index = Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
    return index.ddl_if(dialect="postgresql")
