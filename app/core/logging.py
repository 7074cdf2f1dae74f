"""Structured logs: one JSON object a line, carrying the id of the request it serves."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

from sqlalchemy.exc import StatementError

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

# Modules of database drivers, whose messages may quote the data of a statement.
_DRIVER_MODULES = ("asyncpg", "sqlite3", "aiosqlite", "sqlalchemy.dialects")


_CAUSED = "The above exception was the direct cause of the following exception:"
_DURING = "During handling of the above exception, another exception occurred:"


def _is_driver_error(error: BaseException) -> bool:
    return type(error).__module__.startswith(_DRIVER_MODULES)


def _safe_message(error: BaseException) -> str:
    """What a log may say of an exception: database errors without the data they may quote."""
    name = type(error).__qualname__
    if isinstance(error, StatementError):
        driver = type(error.orig).__qualname__ if error.orig is not None else "none"
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(
            error.orig, "sqlite_errorname", None
        )
        statement = " ".join(str(error.statement or "").split())[:1000]
        return f"{name}: driver error {driver} ({sqlstate}) in: {statement}"
    if _is_driver_error(error):
        return f"{name} (its message is withheld: it may quote data)"
    return f"{name}: {error}" if str(error) else name


def format_exception_safely(exc_info: ExcInfo) -> str:
    """A traceback (frames, chained causes) whose exception messages quote no request data."""
    _kind, error, _tb = exc_info
    if error is None:
        return ""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = (
                current.__cause__,
                "The above exception was the direct cause of the following exception:",
            )
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = (
                current.__context__,
                "During handling of the above exception, another exception occurred:",
            )
        else:
            current = None
    parts: list[str] = []
    for item, _link in reversed(chain):
        frames = "".join(traceback.format_tb(item.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{_safe_message(item)}")
    links = [link for _item, link in reversed(chain)][:-1]
    text = parts[0]
    for link, part in zip(links, parts[1:], strict=True):
        text += f"\n\n{link}\n\n{part}"
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = format_exception_safely(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served when it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


def json_handler(stream: TextIO) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: str = "INFO") -> None:
    """Send the service's and the server's logs to stderr as JSON lines."""
    handler = json_handler(sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        server_logger = logging.getLogger(name)
        server_logger.handlers[:] = []
        server_logger.propagate = True
    # Requests are logged once, by the edge (`core/edge.py`), with their id.
    logging.getLogger("uvicorn.access").disabled = True
    # A record need not carry what these lines never show: the thread, the process, and the
    # caller's file and line, which `logging` finds by walking the stack for every record (the
    # logging HOWTO's "Optimization" knobs; measured: the access log line of every request
    # costs noticeably less).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
