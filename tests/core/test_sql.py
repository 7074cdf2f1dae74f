"""SQL each database spells its own way (`core/sql.py`): the same answers from both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import orjson
import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, Text, insert, select

from app.core.db import Database
from app.core.sql import in_constants, json_array_agg, json_array_of, json_object

METADATA = MetaData()
OWNER = Table("sql_probe_owner", METADATA, Column("id", Integer, primary_key=True))
ITEM = Table(
    "sql_probe_item",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, nullable=False),
    Column("place", Integer, nullable=False),
    Column("name", String(20), nullable=False),
)

VALUE = Table(
    "sql_probe_value",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("text", Text, nullable=True),
    Column("day", Date, nullable=True),
)
# Text JSON writers might escape or pass differently.
TEXTS = [
    'quote " backslash \\ slash /',
    "accents é «guillemets» 植物 🌱 \u2028 \u2029 \u00a0",
    "controls \t \n \r \b \f \x01 \x1f \x7f",
    "",
    None,
]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield db
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.drop_all)
    await db.dispose()


def _read(value: Any) -> Any:
    """A JSON value as the driver gives it: text from SQLite, read already on PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def test_a_json_array_is_in_the_order_asked_for_not_the_order_stored(
    database: Database,
) -> None:
    """Stored in another order than asked, with ties on the first key broken by the second,
    each owner's array follows the keys; an owner with no rows gets none (NULL from
    PostgreSQL, `[]` from SQLite)."""
    stored = [
        (1, 1, 30, "c"),
        (2, 1, 10, "b"),
        (3, 1, 20, "z"),
        (4, 1, 10, "a"),
        (5, 2, 5, "only"),
    ]
    async with database.engine.begin() as connection:
        await connection.execute(insert(OWNER), [{"id": 1}, {"id": 2}, {"id": 3}])
        await connection.execute(
            insert(ITEM),
            [
                {"id": id_, "owner_id": owner, "place": place, "name": name}
                for id_, owner, place, name in stored
            ],
        )
    names = json_array_of(
        json_object("name", ITEM.c.name),
        where=ITEM.c.owner_id == OWNER.c.id,
        order_by=(ITEM.c.place, ITEM.c.name),
        outer=OWNER,
    )
    rows = await database.read(select(OWNER.c.id, names.label("names")).order_by(OWNER.c.id))
    assert [(row.id, _read(row.names) or []) for row in rows] == [
        (1, [{"name": "a"}, {"name": "b"}, {"name": "z"}, {"name": "c"}]),
        (2, [{"name": "only"}]),
        (3, []),
    ]


async def test_json_is_the_text_orjson_writes(database: Database) -> None:
    """The objects and arrays the database writes are compact and escaped as orjson writes
    them (and so as `dump_rows` and the response models do), so that an answer can carry them
    as they are."""
    days = [date(2026, 1, index + 1) if index % 2 else None for index in range(len(TEXTS))]
    rows: list[dict[str, Any]] = [
        {"id": index, "text": text, "day": day}
        for index, (text, day) in enumerate(zip(TEXTS, days, strict=True))
    ]
    async with database.engine.begin() as connection:
        await connection.execute(insert(VALUE), rows)
    each = json_object("id", VALUE.c.id, "text", VALUE.c.text, "day", VALUE.c.day)
    found = await database.read(select(VALUE.c.id, each.label("json")).order_by(VALUE.c.id))
    expected = [
        orjson.dumps({**row, "day": None if day is None else day.isoformat()})
        for row, day in zip(rows, days, strict=True)
    ]
    assert [row.json.encode() for row in found] == expected
    every = await database.read(select(json_array_agg(each).label("json")))
    assert sorted(orjson.loads(every[0].json), key=lambda item: item["id"]) == [
        orjson.loads(text) for text in expected
    ]
    assert every[0].json.encode() == orjson.dumps(orjson.loads(every[0].json))


async def test_constants_are_written_into_the_statement_quoted(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(insert(OWNER), [{"id": 1}])
        await connection.execute(
            insert(ITEM),
            [
                {"id": 1, "owner_id": 1, "place": 1, "name": "it's"},
                {"id": 2, "owner_id": 1, "place": 2, "name": "its"},
                {"id": 3, "owner_id": 1, "place": 3, "name": "other"},
            ],
        )
    condition = in_constants(ITEM.c.name, ["it's", "its"])
    statement = select(ITEM.c.id).where(condition).order_by(ITEM.c.id)
    assert "'it''s', 'its'" in str(statement.compile(dialect=database.engine.dialect))
    assert [row.id for row in await database.read(statement)] == [1, 2]
