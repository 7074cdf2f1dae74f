"""JSON bytes, written the same way everywhere, so that equal content gives equal bytes.

`dump_json` writes plain content (dicts, lists, strings, numbers). `dump_rows` writes what the
database returned (UUIDs, timestamps, dates, decimals, as well as plain values) with orjson, in
exactly the form pydantic gives the same values in a response model: UUIDs and decimals as
strings, timestamps in RFC 3339 with `Z` for UTC, non-ASCII text as UTF-8. A hot read path uses
it to write its rows without building a model per row; tests compare its bytes with the model's.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import orjson


def dump_json(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _as_text(value: Any) -> str:
    # The drivers' own UUID types (asyncpg's) are subclasses that orjson leaves to this hook.
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not written to JSON")


def dump_rows(content: Any) -> bytes:
    """Content built from database rows, as pydantic would write it in a response."""
    return orjson.dumps(content, default=_as_text, option=orjson.OPT_UTC_Z)
