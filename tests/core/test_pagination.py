"""Keyset pagination: NULL-safe keys with one NULL order on both databases, and cursors that are
decoded strictly (a forged one is a 422, never a 500)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Uuid,
    insert,
    select,
)

from app.core.db import Database, UTCDateTime, session_reads
from app.core.errors import ValidationFailed
from app.core.pagination import (
    Ordering,
    SortField,
    SortKey,
    SortOptions,
    ValueKind,
    decode_cursor,
    encode_cursor,
    kind_of,
    read_parts,
)

metadata = MetaData()
items = Table(
    "probe_keyset_item",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("due", Date, nullable=True),
    Column("rank", Integer, nullable=True),
    Column("label", String(20), nullable=False),
)

# Dates with NULLs and ties, so that page boundaries fall on each kind of value.
DUES: list[date | None] = [
    date(2026, 1, 1),
    None,
    date(2026, 3, 1),
    date(2026, 1, 1),
    None,
    date(2025, 12, 31),
    None,
    date(2026, 3, 1),
]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(
            insert(items),
            [
                {
                    "id": uuid.UUID(int=index + 1),
                    "due": due,
                    "rank": index % 3 if index % 4 else None,
                    "label": f"item {index}",
                }
                for index, due in enumerate(DUES)
            ],
        )
    yield db
    await db.dispose()


def _expected(descending: bool) -> list[str]:
    """Dates in order (ties by id), then the NULLs (by id): NULLs last either way."""
    dated = [(due, uuid.UUID(int=index + 1)) for index, due in enumerate(DUES) if due]
    undated = [uuid.UUID(int=index + 1) for index, due in enumerate(DUES) if due is None]
    dated.sort(reverse=descending)
    undated.sort(reverse=descending)
    return [str(item_id) for _due, item_id in dated] + [str(item_id) for item_id in undated]


async def _walk(
    database: Database, ordering: Ordering, limit: int, *, bound: bool = False
) -> list[str]:
    """Every page in turn. `bound`: with the statements kept with bind parameters, as lists
    keep them (`parts_marks`: with a key that may be null, in two parts), rather than built for
    each page's values (`Ordering.read_parts`, as exports read their chunks)."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        if bound:
            # As lists read a page: its parts in turn, each for the rows still lacking.
            after = ordering.values_of_cursor(cursor)
            nulls = None if after is None else [value is None for value in after]
            statements = ordering.parts_marks(select(items), nulls)
            values = ordering.mark_values(after, limit)
            rows = await read_parts(database.read, statements, values, limit + 1)
        else:
            # As exports read a chunk: the last row's values, the statements built for them.
            async with database.session(write=False) as session:
                after = ordering.values_of_cursor(cursor)
                reads = session_reads(session)
                rows = await ordering.read_parts(reads, select(items), after, limit + 1)
        page, cursor = ordering.split(rows, limit)
        seen += [str(row.id) for row in page]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 2, 3, 5])
async def test_nullable_keys_page_with_nulls_last_on_both_databases(
    database: Database, descending: bool, limit: int, bound: bool
) -> None:
    ordering = Ordering(
        (SortKey(items.c.due, descending), SortKey(items.c.id, descending)), "probe"
    )
    assert await _walk(database, ordering, limit, bound=bound) == _expected(descending)


async def test_a_key_declared_not_null_gives_no_nulls_last_clause() -> None:
    assert "NULLS LAST" in str(SortKey(items.c.due).order_by())
    assert "NULLS LAST" not in str(SortKey(items.c.label).order_by())


async def test_two_nullable_keys_in_mixed_directions(database: Database) -> None:
    ordering = Ordering(
        (
            SortKey(items.c.rank, descending=True),
            SortKey(items.c.due),
            SortKey(items.c.id),
        ),
        "mixed",
    )
    async with database.session(write=False) as session:
        everything = (await session.execute(ordering.order(select(items)))).all()
    expected = [str(row.id) for row in everything]
    for limit in (1, 2, 3):
        assert await _walk(database, ordering, limit) == expected
        assert await _walk(database, ordering, limit, bound=True) == expected
    # And the whole order is what the rule says: ranks descending with NULLs last, then dates
    # ascending with NULLs last, then ids.
    ranks = [row.rank for row in everything]
    assert ranks == sorted((r for r in ranks if r is not None), reverse=True) + [
        r for r in ranks if r is None
    ]


# --- Cursors are input ---------------------------------------------------------------------------

KEYS = (
    SortKey(items.c.due),
    SortKey(Column("at", UTCDateTime, nullable=False)),
    SortKey(items.c.rank),
    SortKey(items.c.label),
    SortKey(items.c.id),
)


def _raw(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def test_a_cursor_round_trips_every_kind() -> None:
    values = [
        date(2026, 2, 28),
        datetime(2026, 11, 30, 12, 0, 1, 5, tzinfo=UTC),
        -(2**31),
        "Organización ß",
        uuid.uuid4(),
    ]
    assert decode_cursor(encode_cursor(values, "t"), KEYS, "t") == values


def test_nulls_are_accepted_only_where_a_key_may_be_null() -> None:
    good = [None, "2026-01-01T00:00:00+00:00", None, "x", str(uuid.uuid4())]
    assert decode_cursor(_raw("t", *good), KEYS, "t")[0] is None
    for position in (1, 3, 4):
        values = list(good)
        values[position] = None
        with pytest.raises(ValidationFailed):
            decode_cursor(_raw("t", *values), KEYS, "t")


VALID = ["2026-01-01", "2026-01-01T00:00:00+00:00", 1, "x", "5d3f0c1e-0000-4000-8000-000000000000"]


def _with(position: int, value: Any) -> str:
    values = list(VALID)
    values[position] = value
    return _raw("t", *values)


FORGED = {
    "not base64": "!!!",
    "not JSON": base64.urlsafe_b64encode(b"{").decode(),
    "not UTF-8": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "JSON null": _raw(None)[:0] + base64.urlsafe_b64encode(b"null").decode(),
    "an object": base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    "a list too short": _raw("t", *VALID[:-1]),
    "a list too long": _raw("t", *VALID, "more"),
    "another list or sort": _raw("other", *VALID),
    "a token that is not text": _raw(["t"], *VALID),
    "a date that is a datetime": _with(0, "2026-01-01T00:00:00"),
    "a date that is a number": _with(0, 20260101),
    "a datetime without offset": _with(1, "2026-01-01T00:00:00"),
    "a datetime that is a boolean": _with(1, True),
    "an integer that is a boolean": _with(2, True),
    "an integer that is a float": _with(2, 1.5),
    "a huge float": _with(2, 1e309),
    "an integer past the column's 32 bits": _with(2, 2**31),
    "an integer past 64 bits": _with(2, 2**63),
    "text that is an object": _with(3, {"a": 1}),
    "text with NUL": _with(3, "a\x00b"),
    "text with a lone surrogate": _with(3, "\ud800"),
    "a uuid that is not one": _with(4, "not-a-uuid"),
    "a uuid that is a number": _with(4, 12),
    "deep nesting": base64.urlsafe_b64encode(b"[" * 700 + b"]" * 700).decode(),
    "too long": "A" * 9000,
}


@pytest.mark.parametrize("name", sorted(FORGED))
def test_a_forged_cursor_is_a_validation_problem(name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(FORGED[name], KEYS, "t")
    assert caught.value.extensions["errors"] == [
        {"detail": "Invalid cursor: use the next_cursor of a page", "parameter": "cursor"}
    ]


def test_the_kind_of_each_column_type() -> None:
    assert kind_of(UTCDateTime()) is ValueKind.datetime
    assert kind_of(items.c.due.type) is ValueKind.date
    assert kind_of(items.c.rank.type) is ValueKind.integer
    assert kind_of(items.c.id.type) is ValueKind.uuid
    assert kind_of(items.c.label.type) is ValueKind.text


def test_sort_options_tie_cursors_to_their_list() -> None:
    options = SortOptions(
        fields={"due": SortField(items.c.due), "label": items.c.label},
        tiebreaker=items.c.id,
        default="label",
        list_name="probes",
    )
    assert options.parse("-due").token == "probes:-due"
    assert options.parse(None).token == "probes:label"
    assert options.parse("due").keys[0].may_be_null
    assert not options.parse("label").keys[1].may_be_null
    assert sorted(options.tokens) == ["-due", "-label", "due", "label"]
    with pytest.raises(ValueError, match="default sort"):
        SortOptions(fields={"label": items.c.label}, tiebreaker=items.c.id, default="due")


def test_integers_are_bounded_by_their_column() -> None:
    wide = (SortKey(Column("n", BigInteger, nullable=False)),)
    assert decode_cursor(_raw("t", 2**63 - 1), wide, "t") == [2**63 - 1]
    with pytest.raises(ValidationFailed):
        decode_cursor(_raw("t", 2**63), wide, "t")
    narrow = (SortKey(Column("n", SmallInteger, nullable=False)),)
    assert decode_cursor(_raw("t", -(2**15)), narrow, "t") == [-(2**15)]
    with pytest.raises(ValidationFailed):
        decode_cursor(_raw("t", 2**15), narrow, "t")
