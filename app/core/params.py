"""Types of query parameters shared by every list."""

from __future__ import annotations

import re
from datetime import MAXYEAR, UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339_text(value: object) -> object:
    """Only an RFC 3339 date-time with its offset, as the contract says: not a Unix time nor a
    date alone, which pydantic would otherwise accept."""
    if isinstance(value, str) and _RFC3339.match(value):
        return value
    raise ValueError("Expected an RFC 3339 date-time with an offset, e.g. 2026-12-01T09:30:00Z")


def in_utc(value: datetime) -> datetime:
    """`value` in UTC; a time beyond the calendar's ends once in UTC is clamped to that end."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        end = datetime.max if value.year == MAXYEAR else datetime.min
        return end.replace(tzinfo=UTC)


# A time given in a query: RFC 3339 with an offset (`Z` or `+hh:mm`), as UTC.
QueryDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(in_utc)]
