"""Exact decimals (as the API carries them and as the database keeps them), strict dates, and
currency codes: the kit's types for values that must not be approximated or guessed."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from app.core.currencies import is_currency
from app.core.db import ScaledDecimal
from app.core.validation import IsoDate, PositiveDecimal, decimal_text, positive_decimal_pattern


class _Money(BaseModel):
    amount: Annotated[Decimal, PositiveDecimal(6, 2)]
    on: IsoDate | None = None


@pytest.mark.parametrize("text", ["1", "0.01", "0.1", "999999.99", "10.5", "100000"])
def test_positive_decimals_are_taken_as_strings(text: str) -> None:
    assert _Money.model_validate({"amount": text}).amount == Decimal(text)


@pytest.mark.parametrize(
    "value",
    [1, 1.5, "0", "0.00", "-1", "+1", "1e2", "1.", ".5", "01", "1.001", "1000000", " 1", "1,5"],
)
def test_anything_else_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        _Money.model_validate({"amount": value})


def test_the_pattern_is_the_contracts_and_needs_no_lookaround() -> None:
    pattern = positive_decimal_pattern(6, 2)
    schema = _Money.model_json_schema()["properties"]["amount"]
    assert (schema["type"], schema["pattern"]) == ("string", pattern)
    assert "(?" not in pattern
    for places in range(1, 6):  # every zero-led fraction with a digit that is not zero
        compiled = re.compile(positive_decimal_pattern(3, places))
        for index in range(1, 10**places):
            assert compiled.match(f"0.{index:0{places}d}")
        assert not compiled.match("0." + "0" * places)


def test_decimals_are_shown_as_plain_text_with_two_places_at_least() -> None:
    assert _Money(amount=Decimal("12500")).model_dump_json() == '{"amount":"12500.00","on":null}'
    assert decimal_text(Decimal("1E+4")) == "10000.00"
    assert decimal_text(Decimal("1.2345")) == "1.2345"
    assert decimal_text(Decimal("7.5000"), 0) == "7.5"


@pytest.mark.parametrize("value", [0, 1767225600, "2026-01-01T00:00:00", "20260101", "2026-1-1"])
def test_dates_are_iso_dates_only(value: Any) -> None:
    with pytest.raises(ValidationError):
        _Money.model_validate({"amount": "1", "on": value})
    assert _Money.model_validate({"amount": "1", "on": "2026-01-01"}).on == date(2026, 1, 1)


@pytest.mark.parametrize(
    "dialect",
    [sqlite.dialect(), postgresql.dialect()],  # type: ignore[no-untyped-call]
)
def test_scaled_decimals_are_exact_integers_in_the_database(dialect: Any) -> None:
    column = ScaledDecimal(4, min_places=2)
    largest = Decimal("99999999999999.9999")
    assert column.process_bind_param(largest, dialect) == 999_999_999_999_999_999
    assert column.process_result_value(999_999_999_999_999_999, dialect) == largest
    assert str(column.process_result_value(125_005_000, dialect)) == "12500.50"
    assert column.process_bind_param(None, dialect) is None
    with pytest.raises(ValueError, match="decimal places"):
        column.process_bind_param(Decimal("0.00001"), dialect)
    with pytest.raises(ValueError, match="beyond"):
        column.process_bind_param(Decimal(2**63), dialect)


def test_currencies_are_iso_4217_codes_in_use() -> None:
    assert all(is_currency(code) for code in ("USD", "EUR", "KES", "XOF", "CHF", "XDR"))
    assert not any(is_currency(code) for code in ("usd", "XXX", "XTS", "XAU", "DEM", "US"))
