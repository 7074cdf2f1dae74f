"""CSV of a whole filtered list, streamed (design §8).

A list answers CSV when asked with `format=csv` or an `Accept` header preferring `text/csv`. The
whole filtered set is sent, not one page, read through a server-side cursor in batches by a
session of the stream's own: the request's session is gone by the time the body is streamed.

Cells that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a tab or a
carriage return) are prefixed with `'`, against formula injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Select
from starlette.responses import StreamingResponse

from app.core.db import Database
from app.core.head import is_head_request

CSV_MEDIA_TYPE = "text/csv"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH_ROWS = 500


@dataclass(frozen=True)
class CsvColumn:
    header: str
    value: Callable[[Any], Any]


def cell(value: Any) -> str:
    """One CSV cell: plain text for every type, strings defused against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list | tuple):
        value = "; ".join(str(item) for item in value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _quality(accept: str, media_type: str) -> float:
    best = 0.0
    for part in accept.split(","):
        name, *params = (item.strip() for item in part.split(";"))
        if name.lower() not in (media_type, media_type.split("/")[0] + "/*"):
            continue
        q = 1.0
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(number)
                except ValueError:
                    q = 0.0
        best = max(best, q)
    return best


def wants_csv(format_: str | None, accept: str | None) -> bool:
    """`format=csv`, or an Accept header that ranks text/csv above application/json."""
    if format_ is not None:
        return format_ == "csv"
    if not accept:
        return False
    return _quality(accept, CSV_MEDIA_TYPE) > _quality(accept, "application/json")


def _line(values: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode()


async def _rows(
    database: Database, stmt: Select[Any], columns: Sequence[CsvColumn]
) -> AsyncIterator[bytes]:
    yield _line([column.header for column in columns])
    if is_head_request():  # HEAD: the rows would be dropped, so they are not read
        return
    async with database.session(write=False) as session:
        result = await session.stream(stmt.execution_options(yield_per=BATCH_ROWS))
        async for batch in result.partitions(BATCH_ROWS):
            yield b"".join(_line([cell(column.value(row)) for column in columns]) for row in batch)


def csv_response(
    database: Database, stmt: Select[Any], columns: Sequence[CsvColumn], filename: str
) -> StreamingResponse:
    return StreamingResponse(
        _rows(database, stmt, columns),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
