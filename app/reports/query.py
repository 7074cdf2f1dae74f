"""The query parameters of a report (its period and its format), shared by the reports and
by the public register's engagement balance."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from app.core.validation import IsoDate
from app.reports import service

_BOUNDS = f"from {service.EARLIEST.isoformat()} to {service.LATEST.isoformat()}"
From = Annotated[
    IsoDate | None,
    Query(
        alias="from",
        description=f"The first day of the period (inclusive), {_BOUNDS}; none: from the start.",
    ),
]
To = Annotated[
    IsoDate | None,
    Query(
        description=f"The last day of the period (inclusive), {_BOUNDS}, not before `from`; "
        "none: up to now and beyond.",
    ),
]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="`csv`: the report as CSV (so does `Accept: text/csv`)."),
]
