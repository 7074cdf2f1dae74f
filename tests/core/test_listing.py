"""A list declared once (`core.listing.ListSpec`): what it refuses when it is built."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, literal, select

from app.core import listing
from app.core.db import Database
from app.core.direct import PLAN_EACH_TIME
from app.core.listing import ListSpec, custom, equal_to, one_of, text_search
from app.core.pagination import SortOptions, encode_cursor

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


# --- Page statements kept by shape --------------------------------------------------------------


class SearchFilters(BaseModel):
    name: str | None = None
    size: list[int] = []
    q: str | None = None
    big: bool | None = None


def _searchable() -> ListSpec:
    return _spec(
        parameters=SearchFilters,
        filters=(
            equal_to("name", THINGS.c.name),
            one_of("size", THINGS.c.size),
            text_search("q", THINGS.c.name_key),
            custom("big", condition=lambda big: None if big is None else THINGS.c.size > 10),
        ),
    )


def _statement(
    spec: ListSpec, sort: str | None = None, cursor: str | None = None, **values: Any
) -> tuple[Any, dict[str, Any]]:
    order = spec.ordering(sort)
    return spec.page_statement(SearchFilters(**values), order, 50, cursor)


def test_a_shape_is_built_once_and_bound_with_each_pages_values() -> None:
    spec = _searchable()
    first, first_values = _statement(spec, name="a", size=[1, 2], q="Día")
    second, second_values = _statement(spec, name="b", size=[3, 4, 5], q="noche")
    assert second is first
    assert first_values == {
        "page_limit": 51,
        "filter_name": "a",
        "filter_size": [1, 2],
        "filter_q": "%dia%",
    }
    assert second_values["filter_size"] == [3, 4, 5]
    assert second_values["filter_q"] == "%noche%"


def test_each_shape_has_its_statement() -> None:
    spec = _searchable()
    base, _ = _statement(spec)
    assert _statement(spec)[0] is base
    others = [
        _statement(spec, name="a")[0],
        _statement(spec, size=[1])[0],
        _statement(spec, q="word")[0],
        _statement(spec, big=True)[0],
        _statement(spec, big=False)[0],
        _statement(spec, sort="-name")[0],
    ]
    assert len({id(statement) for statement in [base, *others]}) == 7
    # A term with nothing searchable in it is no condition: the statement without one.
    assert _statement(spec, q="  \u200b ")[0] is base
    # Pages after the first have theirs, whatever the cursor's values.
    token = spec.ordering(None).token
    later, later_values = _statement(spec, cursor=encode_cursor(["x", uuid.UUID(int=1)], token))
    again, again_values = _statement(spec, cursor=encode_cursor(["y", uuid.UUID(int=2)], token))
    assert later is again
    assert later is not base
    assert (later_values["cursor_0"], again_values["cursor_1"]) == ("x", uuid.UUID(int=2))


def test_kept_statements_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "MAX_KEPT_STATEMENTS", 2)
    spec = _searchable()
    first, _ = _statement(spec, big=True)
    _statement(spec, big=False)
    _statement(spec)
    assert len(spec._kept) == 2
    assert _statement(spec, big=True)[0] is not first


def test_a_page_with_a_search_is_planned_for_its_term() -> None:
    """How many rows a term matches decides the plan (a rare one through the trigram index, a
    common one along the list's order): a page with a search is planned at each execution,
    the others keep their prepared plans."""
    spec = _searchable()
    (searched,), _ = _statement(spec, q="Día")
    assert searched.get_execution_options().get(PLAN_EACH_TIME) is True
    for others in (_statement(spec)[0], _statement(spec, name="a")[0], _statement(spec, q=" ")[0]):
        assert PLAN_EACH_TIME not in others[0].get_execution_options()


def test_codes_are_kept_between_spaces_once_each() -> None:
    assert listing.spaced(["rppo", "ngo", "ngo"]) == " ngo rppo "
    assert listing.spaced([]) == " "
    assert listing.spaced(["ngo", None]) == " ngo "  # a value not given: left out, as in SQL


@pytest.mark.parametrize(
    ("text", "values", "holds"),
    [
        (" ngo rppo ", ["rppo"], True),
        (" ngo rppo ", ["nppo", "ngo"], True),
        (" ngo rppo ", ["nppo"], False),
        (" ngo rppo ", ["ng"], False),  # a code, not a piece of one
        (" unXorganization ", ["un_organization"], False),  # `_` is no wildcard
        (" 100 ", ["1%"], False),  # nor is `%`
        (" ", ["ngo"], False),
    ],
)
async def test_a_text_of_codes_holds_any_of_the_values_given_and_nothing_else(
    database_url: str, text: str, values: list[str], holds: bool
) -> None:
    """`holds_any`, as a page binds it and as an export writes it, on the database."""
    kinds = listing.holds_any("kind", literal(text))
    given = {"kind": values}
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            template, applied = kinds.template(given), kinds.apply(given)
            assert template is not None
            assert applied is not None
            bound = await connection.execute(select(template), kinds.bind(given))
            written = await connection.execute(select(applied))
            assert (bool(bound.scalar()), bool(written.scalar())) == (holds, holds)
    finally:
        await database.dispose()
