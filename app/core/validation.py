"""The base of every request body and query model.

PostgreSQL cannot store or compare text holding a NUL character, so no input may carry one:
each field's value (nested lists and objects included) is checked before anything else, and the
error points at the field. NUL characters in the URL are refused by the edge
(`core/edge.py`). A test checks that the body of every route is an `InputModel`; query
models derive from it too.

Text a person typed (names, acronyms) also has to show something: `VISIBLE_TEXT` refuses a value
made only of spaces, invisible or combining characters.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

NUL_MESSAGE = "NUL characters are not allowed"

# The same rule, written into the contract as patterns of the input strings. Patterns spell
# their classes out rather than use `\s`, which the service's regex engine and ECMAScript's (the
# contract's) read differently (U+0085, say): a value the contract accepts, the service accepts.
NO_NUL = r"^[^\x00]*$"
ASCII_SPACES = " \t\n\v\f\r"
# No NUL, and at least one character that is neither NUL nor an ASCII space.
SOME_TEXT = r"^[^\x00]*[^\x00\t\n\v\f\r ][^\x00]*$"


def strip_spaces(value: str) -> str:
    """Leading and trailing ASCII spaces removed (the ones SOME_TEXT does not count)."""
    return value.strip(ASCII_SPACES)


# Text a person typed (a name, an acronym) must show something: at least one character of a
# visible Unicode category, a letter (L*), number (N*), punctuation (P*) or symbol (S*). Spaces
# (Z*), controls and format characters such as zero-width spaces and joiners (C*), and combining
# marks alone (M*) show nothing. A few letters and symbols are drawn blank and are not counted.
VISIBLE_CATEGORIES = frozenset("LNPS")
BLANK_GLYPHS = frozenset(
    {
        "\u115f",  # HANGUL CHOSEONG FILLER
        "\u1160",  # HANGUL JUNGSEONG FILLER
        "\u3164",  # HANGUL FILLER
        "\uffa0",  # HALFWIDTH HANGUL FILLER
        "\u2800",  # BRAILLE PATTERN BLANK
    }
)
INVISIBLE_MESSAGE = "Must contain at least one visible character"


def is_visible(char: str) -> bool:
    return unicodedata.category(char)[0] in VISIBLE_CATEGORIES and char not in BLANK_GLYPHS


def require_visible_text(value: str) -> str:
    """Refuse text that would show nothing: only spaces, invisible or combining characters."""
    if not any(is_visible(char) for char in value):
        raise PydanticCustomError("invisible_text", INVISIBLE_MESSAGE)
    return value


# For Annotated string types of text a person typed: `Annotated[str, ..., VISIBLE_TEXT]`. The
# contract cannot state the rule (its patterns have no Unicode categories).
VISIBLE_TEXT = AfterValidator(require_visible_text)


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    return False


# More unknown fields than this in one object are refused with one error, before the model
# validates anything: naming each of 90,000 made-up fields would cost the service more than
# the request cost its sender.
MAX_UNKNOWN_FIELDS = 50


class InputModel(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and cls.model_config.get("extra") == "forbid"
            and len(data) > len(cls.model_fields) + MAX_UNKNOWN_FIELDS
        ):
            known = set(cls.model_fields) | {
                field.alias for field in cls.model_fields.values() if field.alias
            }
            unknown = sum(1 for key in data if key not in known)
            if unknown > MAX_UNKNOWN_FIELDS:
                raise PydanticCustomError(
                    "too_many_unknown_fields",
                    "{count} unknown fields: remove them (at most {limit} are named one by one)",
                    {"count": unknown, "limit": MAX_UNKNOWN_FIELDS},
                )
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if holds_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value


# --- Identifiers, dates and exact decimals, as the contract states them ---------------------------

# A UUID as the contract writes it: 36 characters, hyphenated (`format: uuid`, `maxLength: 36`).
UUID_LENGTH = 36
_UUID_TEXT = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)


def _uuid_text(value: Any) -> Any:
    """Only the hyphenated form, as the contract's bound says: not the braced, URN or bare-hex
    forms, longer or shorter, that pydantic would otherwise take for a UUID."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and _UUID_TEXT.match(value):
        return value
    raise PydanticCustomError(
        "uuid_parsing",
        "Expected a UUID as 36 characters, e.g. 2f6a1c9e-0b1d-4f7a-9c3e-5d8b2a4e6f10",
    )


# An id in a body, a query or a path: a UUID in its hyphenated form only.
UUIDText = Annotated[uuid.UUID, BeforeValidator(_uuid_text)]


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date_text(value: Any) -> Any:
    """Only `YYYY-MM-DD`, as the contract's `format: date` says: not a Unix time, nor a datetime,
    which pydantic would otherwise take for a date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise PydanticCustomError("iso_date", "Expected a date as YYYY-MM-DD")


# A date in a body or a query: ISO 8601 `YYYY-MM-DD` only.
IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]


def decimal_text(value: Decimal, min_places: int = 2) -> str:
    """A decimal as plain text (no exponent), without trailing zeros past `min_places`."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -min_places:
        normalized = normalized.quantize(Decimal(1).scaleb(-min_places))
    return format(normalized, "f")


def positive_decimal_pattern(integer_digits: int, places: int) -> str:
    """A pattern of positive decimals written as text: at most `integer_digits` digits before the
    point and `places` after, no sign, no exponent, no leading zero, and not zero. It is spelled
    out without lookarounds, which the contract's and the service's regex engines may lack."""
    whole = rf"[1-9][0-9]{{0,{integer_digits - 1}}}(\.[0-9]{{1,{places}}})?"
    fractions = "|".join(
        "0" * zeros + "[1-9]" + (f"[0-9]{{0,{places - zeros - 1}}}" if places - zeros > 1 else "")
        for zeros in range(places)
    )
    return rf"^({whole}|0\.({fractions}))$"


@dataclass(frozen=True)
class PositiveDecimal:
    """`Annotated[Decimal, PositiveDecimal(14, 4)]`: an exact positive decimal carried as a JSON
    string (`"12500.50"`), since a JSON number is read as a binary float by many clients and
    loses cents. At most `integer_digits` digits before the point and `places` after; parsed to
    `Decimal`, shown with at least two places."""

    integer_digits: int
    places: int

    @property
    def pattern(self) -> str:
        return positive_decimal_pattern(self.integer_digits, self.places)

    def parse(self, value: Any) -> Decimal:
        if isinstance(value, Decimal) and value > 0:
            return value
        if not isinstance(value, str) or not re.match(self.pattern, value):
            raise PydanticCustomError(
                "positive_decimal",
                "Expected a positive decimal as a string, with at most {integer_digits} digits "
                "before the point and {places} after",
                {"integer_digits": self.integer_digits, "places": self.places},
            )
        return Decimal(value)

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(
                decimal_text, return_schema=core_schema.str_schema(), when_used="json"
            ),
        )

    def __get_pydantic_json_schema__(
        self, _schema: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        # Digits, the point and the places: the longest text the pattern admits.
        longest = self.integer_digits + 1 + self.places
        return {"type": "string", "maxLength": longest, "pattern": self.pattern}
