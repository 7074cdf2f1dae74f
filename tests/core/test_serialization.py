"""`dump_rows` writes database values as the response models would."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import pytest
from pydantic import BaseModel

from app.core.serialization import dump_rows


class Colour(StrEnum):
    green = "green"


class Shown(BaseModel):
    id: uuid.UUID
    other_id: uuid.UUID | None
    amount: Decimal
    at: datetime
    exact_at: datetime
    on: date
    colour: Colour
    stored_colour: str
    text: str
    missing: str | None
    flag: bool
    count: int


class DriverUUID(uuid.UUID):
    """A database driver's own UUID type (asyncpg returns one)."""


def test_rows_are_written_as_the_model_writes_them() -> None:
    values = {
        "id": DriverUUID("5f0c2bd3-5c3a-4a65-9f7e-2f3d7f1f4b11"),
        "other_id": None,
        "amount": Decimal("1250000.50"),
        "at": datetime(2026, 11, 30, 15, 30, 26, 123456, tzinfo=UTC),
        "exact_at": datetime(2026, 11, 30, 15, 30, tzinfo=UTC),
        "on": date(2026, 2, 1),
        "colour": Colour.green,
        "stored_colour": "green",
        "text": "Protección «des végétaux» 植物",
        "missing": None,
        "flag": True,
        "count": 2**40,
    }
    assert dump_rows(values) == Shown.model_validate(values).model_dump_json().encode()
    assert dump_rows([values]) == b"[" + Shown(**values).model_dump_json().encode() + b"]"


def test_values_it_cannot_write_are_refused() -> None:
    with pytest.raises(TypeError):
        dump_rows({"value": object()})
