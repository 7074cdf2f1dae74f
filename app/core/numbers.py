"""The bounds of the integers the service answers, as the contract states them.

Each holds by construction: versions and audit event ids are PostgreSQL `integer` columns;
counts are at most 2^53 - 1, the largest integer a JSON number carries exactly to every client
(a browser's included), far beyond any count of rows a database of this service could hold.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
MAX_COUNT = 2**53 - 1

# A stored resource's version: 1 when created, raised by every change.
Version = Annotated[int, Field(ge=1, le=INT32_MAX)]
# How many of something there are.
Tally = Annotated[int, Field(ge=0, le=MAX_COUNT)]
