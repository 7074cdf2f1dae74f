"""SQL that each database spells its own way, written once: a UUID as text, a JSON object and
a JSON array built by the database.

- `uuid_text(column)`: the UUID as `str(uuid)` writes it, lower case with hyphens (SQLite keeps
  UUIDs as 32 hexadecimal digits; PostgreSQL's text form is already that).
- `json_object(key, value, ...)`: `json_build_object` on PostgreSQL, `json_object` on SQLite.
- `json_array_agg(value)`: the values of a group as a JSON array (`json_agg`,
  `json_group_array`); NULL over no rows, as both databases answer an aggregate of nothing.

They let one statement bring a row with the small lists that belong to it (a page of agreements
with their partners and decisions) instead of a statement per list. The JSON comes back as text
and is read with orjson; dates are ISO 8601 text in it on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


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


class json_object(FunctionElement[str]):
    type = String()
    inherit_cache = True


@compiles(json_object, "postgresql")
def _json_object_postgresql(element: json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object)
def _json_object(element: json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


class json_array_agg(FunctionElement[str]):
    type = String()
    inherit_cache = True


@compiles(json_array_agg, "postgresql")
def _json_array_agg_postgresql(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg)
def _json_array_agg(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"
