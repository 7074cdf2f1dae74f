"""Pages from random keyset positions across a whole list, and ids to read, straight from the
database: what the list and read scenarios send, made without walking any list over HTTP.

A list scenario's cycle is its first page, then the pages after rows drawn at random from the
whole filtered list. A row is drawn by probing the list's key (its id, a random UUID) at a
random UUID from a seeded generator: the first row of the filtered list at or after it in the
key's index (the first of all when none is after). Each probe is one index lookup (with a
filter, a few more), so a few hundred cost about the same at a million rows as at a thousand;
the ids being random, the rows fall anywhere in every other order, and the same data gives the
same rows. A row drawn too near the end of its list for a full page after it is drawn again
(`draw_full_rows`), so that every page a scenario asks for holds as many rows at ten thousand
as at a million. For each drawn row the cursor of the page after it is the one the service itself
gives (`core.pagination.encode_cursor` of the row's sort values under the list's ordering), and
its filters and sort are read by the route's own query parser (`list_query`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.pool import NullPool
from starlette.requests import Request

from app.core.listing import ListSpec
from app.core.pagination import Ordering, after, encode_cursor

# Random positions drawn for each list scenario (its cycle: the first page and one page after
# each of them).
POSITIONS = 200
# Ids a read scenario cycles through at most: every one when there are no more, else as many
# drawn at random.
READS = 10_000
PROBE = "probe"
# Times a row too near the end of its list for a full page after it is drawn again before the
# list's first row, which has one, stands in for it.
REDRAWS = 20


@dataclass(frozen=True)
class ListRoute:
    """A list the bench pages through: its path, its spec, and the route's query parser."""

    path: str
    spec: ListSpec
    parser: Any  # the route's `list_query` dependency: (Request) -> ListQuery

    async def query(self, query: str) -> tuple[Any, str | None]:
        """The filters (the list's parameter model) and the sort of a query string, read as
        the route reads them (a bad one raises the route's validation error). The query is
        written as a URL carries it (`q=végétaux` as `q=v%C3%A9g%C3%A9taux`)."""
        sent = urlencode(parse_qsl(query, keep_blank_values=True))
        parsed = await self.parser(Request({"type": "http", "query_string": sent.encode()}))
        return parsed.filters, None if parsed.sort is None else str(parsed.sort.value)


def routes() -> dict[str, ListRoute]:
    """Every list a scenario pages through, by path."""
    from app.agreements import router as agreements
    from app.agreements import service as agreement_service
    from app.decisions import router as decisions
    from app.decisions import service as decision_service
    from app.interactions import router as interactions
    from app.interactions import service as interaction_service
    from app.organizations import router as organizations
    from app.organizations import service as organization_service
    from app.public import router as public
    from app.public import service as public_service

    def parser(query: Any) -> Any:
        return query.dependency.dependency

    return {
        route.path: route
        for route in (
            ListRoute(
                "/v1/organizations", organization_service.LIST, parser(organizations.LIST_QUERY)
            ),
            ListRoute(
                "/v1/interactions", interaction_service.LIST, parser(interactions.LIST_QUERY)
            ),
            ListRoute("/v1/agreements", agreement_service.LIST, parser(agreements.LIST_QUERY)),
            ListRoute("/v1/decisions", decision_service.LIST, parser(decisions.LIST_QUERY)),
            ListRoute(
                "/v1/public/agreements",
                public_service.AGREEMENTS,
                parser(public.AGREEMENTS_QUERY),
            ),
            ListRoute(
                "/v1/public/interactions",
                public_service.INTERACTIONS,
                parser(public.INTERACTIONS_QUERY),
            ),
        )
    }


def cursor_after(ordering: Ordering, row: Any) -> str:
    """The cursor of the page after `row` (a row holding the ordering's columns), as the
    service writes it at the end of a page."""
    return encode_cursor(ordering.values_of(row), ordering.token)


def _probe(statement: Select[Any], key: Any) -> tuple[Select[Any], Select[Any]]:
    """The first row at or after a bound key, and the first row of all."""
    first = statement.order_by(key).limit(1)
    return first.where(key >= bindparam(PROBE, type_=key.type)), first


async def draw_rows(
    connection: Any, statement: Select[Any], key: Any, count: int, draw: random.Random
) -> list[Any]:
    """`count` rows of `statement` drawn by probing `key` at random UUIDs (repeats possible)."""
    after, first = _probe(statement, key)
    rows = []
    for _ in range(count):
        probe = uuid.UUID(int=draw.getrandbits(128))
        row = (await connection.execute(after, {PROBE: probe})).first()
        if row is None:
            row = (await connection.execute(first)).first()
        if row is None:
            return []  # the list is empty
        rows.append(row)
    return rows


async def draw_full_rows(
    connection: Any,
    statement: Select[Any],
    ordering: Ordering,
    key: Any,
    count: int,
    *,
    limit: int,
    draw: random.Random,
) -> list[Any]:
    """`count` rows of `statement` drawn as `draw_rows` draws them, each with a full page
    (`limit` rows) after it in `ordering` when the list holds more than a page.

    Pages drawn anywhere include short ones near the end, and the shorter the list the more of
    them: a scenario filtered to 57 organizations at ten thousand rows would average 28 rows a
    page against 50 at a million, and compare unequal work. A row with fewer than `limit` rows
    after it is drawn again, up to `REDRAWS` times, then replaced by the list's first row."""
    ordered = ordering.order(statement)
    first = (await connection.execute(ordered.limit(1))).first()
    longer = (await connection.execute(ordered.offset(limit).limit(1))).first() is not None
    rows = await draw_rows(connection, statement, key, count, draw)
    if first is None or not longer:
        return rows

    async def full(row: Any) -> bool:
        rest = ordered.where(after(ordering.keys, ordering.values_of(row)))
        return (await connection.execute(rest.offset(limit - 1).limit(1))).first() is not None

    chosen = []
    for drawn in rows:
        row = drawn
        for _ in range(REDRAWS):
            if await full(row):
                break
            (row,) = await draw_rows(connection, statement, key, 1, draw)
        else:
            row = row if await full(row) else first
        chosen.append(row)
    return chosen


async def page_paths(
    connection: Any,
    route: ListRoute,
    query: str,
    *,
    limit: int,
    positions: int = POSITIONS,
    seed: int = 0,
) -> list[str]:
    """The paths of a list scenario's cycle: the first page of `route` with `query` (filters
    and sort), then the page after each of `positions` rows drawn at random from the filtered
    list, each page a full one (`draw_full_rows`)."""
    filters, sort = await route.query(query)
    spec = route.spec
    ordering = spec.ordering(sort)
    columns = [key.column for key in ordering.keys]
    statement = spec.where(filters).with_only_columns(*columns)
    draw = random.Random(f"{route.path}?{query}:{seed}")  # noqa: S311 (positions, not a secret)
    rows = await draw_full_rows(
        connection, statement, ordering, spec.sorts.tiebreaker, positions, limit=limit, draw=draw
    )
    base = [*parse_qsl(query, keep_blank_values=True), ("limit", str(limit))]
    paths = [f"{route.path}?{urlencode(base)}"]
    paths.extend(
        f"{route.path}?{urlencode([*base, ('cursor', cursor_after(ordering, row))])}"
        for row in rows
    )
    return paths


async def read_ids(
    connection: Any, route: ListRoute, *, most: int = READS, seed: int = 0
) -> list[str]:
    """Ids of the list's items (without filters) to read in turn: all of them, shuffled, when
    there are at most `most`; else `most` distinct ones drawn at random."""
    filters, _sort = await route.query("")
    key = route.spec.sorts.tiebreaker
    statement = route.spec.where(filters).with_only_columns(key)
    draw = random.Random(f"{route.path}:ids:{seed}")  # noqa: S311 (an order, not a secret)
    total = (
        await connection.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    if total <= 2 * most:  # read them all (drawing nearly all of them would take longer)
        ids = [str(row[0]) for row in await connection.execute(statement.order_by(key))]
        draw.shuffle(ids)
        return ids[:most]
    found: dict[str, None] = {}
    while len(found) < most:
        for row in await draw_rows(connection, statement, key, most - len(found), draw):
            found[str(row[0])] = None
    return list(found)


async def collect(
    database_url: str,
    lists: Mapping[str, tuple[str, str]],
    reads: Sequence[str],
    *,
    limit: int,
    positions: int = POSITIONS,
    most: int = READS,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """For each list scenario (name: (path, query)) its pages' paths, and for each path of
    `reads` the ids to read, from the database at `database_url`."""
    from app.core.db import Database

    known = routes()
    database = Database(database_url, poolclass=NullPool)
    try:
        async with database.engine.connect() as connection:
            pages = {
                name: await page_paths(
                    connection, known[path], query, limit=limit, positions=positions
                )
                for name, (path, query) in lists.items()
            }
            ids = {path: await read_ids(connection, known[path], most=most) for path in reads}
    finally:
        await database.dispose()
    return pages, ids
