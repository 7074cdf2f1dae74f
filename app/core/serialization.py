"""JSON bytes, written the same way everywhere, so that equal content gives equal bytes."""

from __future__ import annotations

import json
from typing import Any


def dump_json(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
