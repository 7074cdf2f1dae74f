"""Types of the references interactions and agreements carry, as the API takes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.core.validation import UUIDText

T = TypeVar("T")

MAX_ORGANIZATIONS = 50
MAX_OBJECTIVES = 20
OBJECTIVE_CODE_PATTERN = r"^[0-9]{4}-[0-9]{4}\.[A-Z]$"


def no_repeats(values: Sequence[T]) -> Sequence[T]:
    """A list that names each item once (the contract says `uniqueItems`)."""
    if len(set(values)) != len(values):
        raise PydanticCustomError("repeated_items", "Each item may be listed once")
    return values


_UNIQUE: dict[str, Any] = {"uniqueItems": True}

ObjectiveCode = Annotated[
    str,
    StringConstraints(max_length=32, pattern=OBJECTIVE_CODE_PATTERN),
    Field(examples=["2020-2030.A"]),
]
ObjectiveCodes = Annotated[
    list[ObjectiveCode],
    Field(
        max_length=MAX_OBJECTIVES,
        json_schema_extra=_UNIQUE,
        description="Codes of strategic objectives (`GET /v1/strategic-objectives`), each once.",
    ),
    AfterValidator(no_repeats),
]
OrganizationIds = Annotated[
    list[UUIDText],
    Field(
        max_length=MAX_ORGANIZATIONS,
        json_schema_extra=_UNIQUE,
        description="Ids of registered organizations, not archived, each once.",
    ),
    AfterValidator(no_repeats),
]
