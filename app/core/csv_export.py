"""CSV of a whole filtered list, streamed (design §8), in a way no client can starve the service.

A list answers CSV when asked with `format=csv` or an `Accept` header preferring `text/csv`. The
whole filtered set is sent, not one page:

- it is read in keyset chunks (`CHUNK_ROWS` rows in the list's order), each in a short read
  transaction of its own whose connection goes back to the pool before the chunk is sent. A
  reader as slow as it likes holds no connection: the service's pool serves everyone else.
  The export is therefore not one snapshot: a row changed while the export runs appears as it
  was when its chunk was read (each row once, in order, unless its sort value moves across the
  export's position meanwhile);
- at most `IPPC_MAX_CONCURRENT_EXPORTS` exports stream at once in a process; past that a request
  is refused with a 429 problem and `Retry-After`. The public register's anonymous exports have
  slots of their own (as many), so that no anonymous reader can take the internal ones;
- a reader that takes nothing for `IPPC_EXPORT_SEND_TIMEOUT_SECONDS` is cut off (the connection
  is closed); a reader that goes away stops the export.

Cells that a spreadsheet would take for a formula are prefixed with `'`, against formula
injection: those whose first visible character (after spaces, line breaks, combining marks and
invisible characters such as a zero-width space or a byte-order mark) is `=`, `+`, `-` or `@` in
any of its Unicode forms (the fullwidth equals sign too), and those starting with a tab or a
carriage return.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import anyio
from pydantic import BaseModel
from sqlalchemy import Select
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from app.core.config import Settings
from app.core.db import Database, session_reads
from app.core.errors import DomainError, problem_type
from app.core.head import is_head_request
from app.core.pagination import Ordering
from app.core.preconditions import any_representation
from app.core.session import per_app
from app.core.validation import is_visible

logger = logging.getLogger("app.export")

CSV_MEDIA_TYPE = "text/csv"
FORMULA_STARTS = frozenset("=+-@")
CONTROL_STARTS = ("\t", "\r")
CHUNK_ROWS = 500
# After each chunk an export waits this many times as long as the chunk took: it takes at most
# half of its process's time, the other requests the rest (`export_chunks`).
EXPORT_WAIT = 1.0
# The clock that times a chunk, and the wait after it.
_clock = time.perf_counter
_wait = asyncio.sleep
RETRY_AFTER_SECONDS = 5

TOO_MANY_EXPORTS = problem_type(
    "too-many-exports",
    429,
    "Too many exports",
    "The service is streaming as many CSV exports as it allows at once: retry after the "
    "number of seconds in Retry-After.",
)


@dataclass(frozen=True)
class CsvColumn:
    header: str
    value: Callable[[Any], Any]


def _attribute(name: str) -> CsvColumn:
    def value(row: Any) -> Any:
        return getattr(row, name)

    return CsvColumn(name, value)


def columns_of(model: type[BaseModel]) -> list[CsvColumn]:
    """The CSV columns of a list: the fields of its JSON items, in the same order."""
    return [_attribute(name) for name in model.model_fields]


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could take the cell for a formula: its first visible character (as
    `core.validation.is_visible` defines it: spaces, invisible and combining characters are
    skipped) is one that starts a formula, in any of its Unicode forms."""
    if text.startswith(CONTROL_STARTS):
        return True
    for char in text:
        if is_visible(char):
            return unicodedata.normalize("NFKC", char)[:1] in FORMULA_STARTS
    return False


def cell(value: Any) -> str:
    """One CSV cell: plain text for every type, strings defused against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list | tuple):  # an item not given (a partner's country) is empty
        value = "; ".join("" if item is None else str(item) for item in value)
    text = str(value)
    if looks_like_formula(text):
        return "'" + text
    return text


_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


def _quality(accept: str, media_type: str) -> float:
    """The quality an Accept header gives `media_type`: that of the most specific range that
    matches it (`text/csv` over `text/*` over `*/*`, RFC 9110 §12.5.1); 0 when none does."""
    main_type = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)  # (specificity, quality)
    for part in accept.split(","):
        name, *params = (item.strip() for item in part.split(";"))
        name = name.lower()
        if name == media_type:
            specificity = 2
        elif name == f"{main_type}/*":
            specificity = 1
        elif name == "*/*":
            specificity = 0
        else:
            continue
        q = 1.0
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                # A weight as RFC 9110 writes one (0 to 1, three decimals at most); any other
                # (`nan`, `1e0`, `abc`) makes the range unacceptable, whatever the text.
                number = number.strip()
                q = float(number) if _QVALUE.fullmatch(number) else 0.0
        if specificity > best[0] or (specificity == best[0] and q > best[1]):
            best = (specificity, q)
    return best[1]


def wants_csv(format_: str | None, accept: str | None) -> bool:
    """`format=csv`, or an Accept header that ranks text/csv above application/json."""
    if format_ is not None:
        return format_ == "csv"
    if not accept:
        return False
    return _quality(accept, CSV_MEDIA_TYPE) > _quality(accept, "application/json")


def _lines(rows: Iterable[Sequence[str]]) -> bytes:
    """CSV lines, one writer for them all."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


PRIVATE_EXPORT = "private, no-store"


@dataclass(frozen=True)
class Export:
    """What to export: a filtered statement (unordered), its order, its columns.

    `item_of` (optional) makes each row into what the columns read (a public agreement's
    partners and decisions, which its row carries as JSON). `public_max_age`: None for an
    export only its caller may keep (the default); the public register's exports say how long
    anyone may keep them, and answer `If-None-Match: *` (`csv_response`)."""

    statement: Select[Any]
    ordering: Ordering
    columns: Sequence[CsvColumn]
    filename: str
    item_of: Callable[[Any], Any] | None = None
    public_max_age: int | None = None

    @property
    def cache_control(self) -> str:
        if self.public_max_age is None:
            return PRIVATE_EXPORT
        return f"public, max-age={self.public_max_age}"


async def export_chunks(
    database: Database, export: Export, chunk_rows: int
) -> AsyncIterator[bytes]:
    """The CSV, a chunk of rows at a time, each read in a short transaction of its own.

    An export shares its process: after each chunk it waits as long as the chunk took it to
    read and write times `EXPORT_WAIT`, so that it takes at most `1 / (1 + EXPORT_WAIT)` of the
    process's time and the requests served meanwhile keep the rest (docs/performance.md,
    "Exports and the change feed at scale")."""
    yield _lines([[column.header for column in export.columns]])
    if is_head_request():  # HEAD: the rows would be dropped, so they are not read
        return
    values: list[Any] | None = None
    while True:
        started = _clock()
        async with database.session(write=False) as session:
            # In two parts when the first sort key may be null, as a list's page: each chunk
            # an index range from the last row on (`Ordering.parts_marks`).
            rows = await export.ordering.read_parts(
                session_reads(session), export.statement, values, chunk_rows
            )
        shown: Sequence[Any] = rows if export.item_of is None else list(map(export.item_of, rows))
        # The session is closed: its connection is back in the pool before the chunk is sent.
        if shown:
            columns = export.columns
            body = _lines([cell(column.value(row)) for column in columns] for row in shown)
            spent = _clock() - started
            yield body
            await _wait(spent * EXPORT_WAIT)
        if len(rows) < chunk_rows:
            return
        values = export.ordering.values_of(rows[-1])


class ExportSlots:
    """How many exports may stream at once in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    def take(self) -> None:
        if self.active >= self.limit:
            raise DomainError(
                f"At most {self.limit} exports stream at once: retry shortly.",
                kind=TOO_MANY_EXPORTS,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.active += 1

    def give_back(self) -> None:
        self.active -= 1


class StalledReader(Exception):
    """The client took nothing for longer than the send timeout."""


class CsvStream(StreamingResponse):
    """A streamed CSV that gives its export slot back however it ends, stops when the client
    goes away, and cuts off a client that stops reading."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        filename: str,
        slots: ExportSlots,
        send_timeout: float,
        cache_control: str = PRIVATE_EXPORT,
    ) -> None:
        super().__init__(
            chunks,
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": cache_control,
                "Vary": "Accept",
            },
        )
        self.chunks = chunks
        self.slots = slots
        self.send_timeout = send_timeout

    async def _send_within(self, send: Send, message: dict[str, Any]) -> None:
        try:
            async with asyncio.timeout(self.send_timeout):
                await send(message)
        except TimeoutError as exc:
            raise StalledReader from exc

    async def stream_response(self, send: Send) -> None:
        # The start too: on a connection whose client reads nothing (behind a large response
        # it left unread), even the headers wait for room.
        await self._send_within(
            send,
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": self.raw_headers,
            },
        )
        async for chunk in self.chunks:
            await self._send_within(
                send, {"type": "http.response.body", "body": chunk, "more_body": True}
            )
        await self._send_within(send, {"type": "http.response.body", "body": b""})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    try:
                        await self.stream_response(send)
                    except StalledReader:
                        logger.warning(
                            "export cut off: the client read nothing for %s s", self.send_timeout
                        )
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            self.slots.give_back()
            await self.chunks.aclose()  # type: ignore[attr-defined]


def _slots(request: Request, settings: Settings, pool: str) -> ExportSlots:
    return per_app(request, pool, lambda: ExportSlots(settings.max_concurrent_exports))


# Anonymous exports (the public register's open data) take slots of their own, so that anyone
# holding every slot of theirs leaves the Secretariat's and its systems' exports untouched.
INTERNAL_EXPORTS = "export_slots"
PUBLIC_EXPORTS = "public_export_slots"


def csv_response(
    request: Request,
    database: Database,
    settings: Settings,
    export: Export,
    *,
    pool: str = INTERNAL_EXPORTS,
) -> Response:
    """The export as a streamed response, or a 429 when too many of its pool already stream
    (`IPPC_MAX_CONCURRENT_EXPORTS` in each pool).

    An export that anyone may keep (the public register's, whose pages answer conditional
    requests) answers `If-None-Match: *` with a 304, reading nothing: a streamed export has no
    tag (its bytes are not known before they are sent), so only `*` can match it. The internal
    lists answer no conditional request, as their contract says."""
    shared = export.public_max_age is not None
    if shared and any_representation(request.headers.get("if-none-match")):
        headers = {"Cache-Control": export.cache_control, "Vary": "Accept"}
        return Response(status_code=304, headers=headers)
    slots = _slots(request, settings, pool)
    slots.take()
    return CsvStream(
        export_chunks(database, export, CHUNK_ROWS),
        filename=export.filename,
        slots=slots,
        send_timeout=settings.export_send_timeout_seconds,
        cache_control=export.cache_control,
    )
