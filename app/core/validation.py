"""The base of every request body and query model.

PostgreSQL cannot store or compare text holding a NUL character, so no input may carry one:
each field's value (nested lists and objects included) is checked before anything else, and the
error points at the field. NUL characters in the URL are refused by the request guard
(`core/middleware.py`). A test checks that the body of every route is an `InputModel`; query
models derive from it too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator
from pydantic_core import PydanticCustomError

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


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    return False


class InputModel(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if holds_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value
