"""A list declared once (`core.listing.ListSpec`): what it refuses when it is built."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, select

from app.core.listing import ListSpec, equal_to, one_of
from app.core.pagination import SortOptions

THINGS = Table(
    "things",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("size", Integer),
    Column("name_key", String(50), nullable=False),
)


class ThingFilters(BaseModel):
    name: str | None = None
    size: list[int] = []


class ThingOut(BaseModel):
    id: uuid.UUID
    name: str


class ThingSort(StrEnum):
    name = "name"
    name_descending = "-name"


def _spec(**changes: Any) -> ListSpec:
    arguments: dict[str, Any] = {
        "name": "things",
        "statement": select(THINGS.c.id, THINGS.c.name, THINGS.c.name_key),
        "parameters": ThingFilters,
        "filters": (equal_to("name", THINGS.c.name), one_of("size", THINGS.c.size)),
        "sorts": SortOptions(
            fields={"name": THINGS.c.name_key},
            tiebreaker=THINGS.c.id,
            default="name",
            list_name="things",
        ),
        "sort_enum": ThingSort,
        "item": ThingOut,
    }
    return ListSpec(**{**arguments, **changes})


def test_a_consistent_spec_is_built() -> None:
    assert _spec().name == "things"


def test_every_parameter_needs_its_filter() -> None:
    with pytest.raises(TypeError, match=r"without a filter \['size'\]"):
        _spec(filters=(equal_to("name", THINGS.c.name),))


def test_a_filter_cannot_read_an_unknown_parameter() -> None:
    extra = (*_spec().filters, equal_to("colour", THINGS.c.name))
    with pytest.raises(TypeError, match=r"unknown \['colour'\]"):
        _spec(filters=extra)


def test_the_sorts_carry_the_lists_name() -> None:
    other = SortOptions(fields={"name": THINGS.c.name_key}, tiebreaker=THINGS.c.id, default="name")
    with pytest.raises(TypeError, match="must carry its name"):
        _spec(sorts=other)


def test_the_sort_enum_lists_every_sort() -> None:
    class Fewer(StrEnum):
        name = "name"

    with pytest.raises(TypeError, match="must list the sorts"):
        _spec(sort_enum=Fewer)


def test_the_item_fields_come_first_in_the_statement() -> None:
    with pytest.raises(TypeError, match="must select the fields of ThingOut first"):
        _spec(statement=select(THINGS.c.name, THINGS.c.id, THINGS.c.name_key))
    with pytest.raises(TypeError, match="must select the fields of ThingOut first"):
        _spec(statement=select(THINGS.c.id))
