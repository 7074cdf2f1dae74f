"""Every list reads its pages through indexes, so that a page costs the same at a million rows
as at ten thousand (docs/performance.md, "Scale"). On PostgreSQL, in the generic plan a busy
list runs (`tests.plans`):

- every sort, ascending and descending, reads an index in the list's order: no sort of the
  table, no sequential scan; and a page after a cursor starts its index scan at the cursor
  (an index condition on the first sort key), in each part of a page whose first key may be
  null (`core.pagination.Ordering.parts_marks`);
- every filter reads the list's table through an index, never a sequential scan; the filters
  that pick few rows (a search, archived organizations, financed agreements, a status) read
  the index made for them.

Every filter of every list has its example here: a filter added without one fails
`test_every_filter_has_its_plan_test`.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.pool import NullPool

from app.agreements.service import LIST as AGREEMENTS
from app.audit.service import LIST as AUDIT_EVENTS
from app.core.db import Database
from app.core.listing import ListSpec
from app.core.pagination import ValueKind
from app.decisions.service import DECLARATIONS
from app.decisions.service import LIST as DECISIONS
from app.interactions.service import LIST as INTERACTIONS
from app.organizations.service import LIST as ORGANIZATIONS
from app.public.service import AGREEMENTS as PUBLIC_AGREEMENTS
from app.public.service import INTERACTIONS as PUBLIC_INTERACTIONS
from bench.seed import seed
from tests.plans import page_plans, prefer_indexes

pytestmark = pytest.mark.postgres_only

ID = str(uuid.UUID(int=7))
MOMENT = "2026-01-01T00:00:00Z"

# Each list: its table, and an example value for each of its filters.
LISTS: dict[str, tuple[ListSpec, str, dict[str, Any]]] = {
    "organizations": (
        ORGANIZATIONS,
        "organization",
        {
            "q": "plant",
            "category": ["ngo"],
            "sector": ["public"],
            "geographic_scope": ["global"],
            "country": ["KE"],
            "parent_id": ID,
            "archived": "true",
            "created_at_from": MOMENT,
            "created_at_to": MOMENT,
            "updated_at_from": MOMENT,
            "updated_at_to": MOMENT,
        },
    ),
    "agreements": (
        AGREEMENTS,
        "agreement",
        {
            "q": "plant",
            "status": ["submitted"],
            "level": ["cooperation"],
            "instrument": ["letter_of_intent"],
            "partner_id": [ID],
            "partner_category": ["ngo"],
            "strategic_objective": ["2020-2030.A"],
            "start_date_from": "2026-01-01",
            "start_date_to": "2026-12-31",
            "end_date_from": "2026-01-01",
            "end_date_to": "2026-12-31",
            "approved_on_from": "2026-01-01",
            "approved_on_to": "2026-12-31",
            "has_financing": "true",
            "created_at_from": MOMENT,
            "created_at_to": MOMENT,
            "updated_at_from": MOMENT,
            "updated_at_to": MOMENT,
        },
    ),
    "interactions": (
        INTERACTIONS,
        "interaction",
        {
            "q": "plant",
            "channel": ["call"],
            "visibility": ["public"],
            "occurred_on_from": "2026-01-01",
            "occurred_on_to": "2026-12-31",
            "strategic_objective": ["2020-2030.B"],
            "agreement_id": [ID],
            "created_at_from": MOMENT,
            "created_at_to": MOMENT,
            "updated_at_from": MOMENT,
            "updated_at_to": MOMENT,
            "organization_id": [ID],
        },
    ),
    "decisions": (
        DECISIONS,
        "decision",
        {
            "governing_body": ["cpm"],
            "outcome": ["returned"],
            "decided_on_from": "2026-01-01",
            "decided_on_to": "2026-12-31",
            "agreement_id": [ID],
        },
    ),
    "interest-declarations": (
        DECLARATIONS,
        "interest_declaration",
        {
            "member": ["bureau:member"],
            "organization_id": [ID],
            "declared_on_from": "2026-01-01",
            "declared_on_to": "2026-12-31",
        },
    ),
    "audit-events": (
        AUDIT_EVENTS,
        "audit_event",
        {
            "resource_type": ["agreement"],
            "resource_id": ID,
            "actor": "secretariat:one",
            "occurred_at_from": MOMENT,
            "occurred_at_to": MOMENT,
            "after_id": 10,
        },
    ),
    "public-agreements": (
        PUBLIC_AGREEMENTS,
        "published_agreement",
        {
            "q": "plant",
            "strategic_objective": ["2020-2030.A"],
            "level": ["partnership"],
            "instrument": ["informal_arrangement"],
            "partner_category": ["ngo"],
            "country": ["KE"],
            "partner_id": [ID],
            "status": ["active"],
            "approval_year": [2026],
        },
    ),
    "public-interactions": (
        PUBLIC_INTERACTIONS,
        "published_interaction",
        {
            "q": "plant",
            "channel": ["call"],
            "occurred_on_from": "2026-01-01",
            "occurred_on_to": "2026-12-31",
            "strategic_objective": ["2020-2030.B"],
            "organization_id": [ID],
            "organization_category": ["ngo"],
            "country": ["KE"],
        },
    ),
}

# Filters that pick few rows, and the indexes that may serve each (in the default order): a
# search reads its rows' text from the trigram index (a rare term) or from the index in the
# list's order that carries it (a common one).
SERVED_BY = {
    ("organizations", "q"): (
        "ix_organization_search_key_trgm",
        "ix_organization_name_key_id_search",
    ),
    ("organizations", "archived"): ("ix_organization_archived_name_key_id",),
    ("agreements", "q"): ("ix_agreement_search_key_trgm", "ix_agreement_title_key_id_search"),
    ("agreements", "has_financing"): ("ix_agreement_financed_title_key_id",),
    ("agreements", "status"): ("ix_agreement_status_title_key_id",),
    ("interactions", "q"): (
        "ix_interaction_search_key_trgm",
        "ix_interaction_occurred_on_id_search",
    ),
}

SORTS = [
    (name, token, after)
    for name, (spec, _table, _examples) in LISTS.items()
    for token in spec.sorts.tokens
    for after in (False, True)
]
FILTERS = [(name, field) for name, (_spec, _table, examples) in LISTS.items() for field in examples]

_SORT_NODE = re.compile(r"^\s*(->\s+)?(Incremental )?Sort\b", re.MULTILINE)


def _cursor_values(spec: ListSpec, token: str) -> list[Any]:
    """Sort values of a row somewhere in the list, of each key's type."""
    examples: dict[ValueKind, Any] = {
        ValueKind.text: "m",
        ValueKind.date: date(2026, 6, 1),
        ValueKind.datetime: datetime(2026, 6, 1, tzinfo=UTC),
        ValueKind.uuid: uuid.UUID(int=5),
        ValueKind.integer: 5,
    }
    return [examples[key.kind] for key in spec.ordering(token).keys]


def _main_scan_lines(plan: str, table: str) -> list[str]:
    """The plan's lines that read `table` itself (not its subqueries' tables)."""
    return [line for line in plan.splitlines() if re.search(rf" on {table}( |$)", line)]


def test_every_filter_has_its_plan_test() -> None:
    for name, (spec, _table, examples) in LISTS.items():
        assert set(examples) == set(spec.parameters.model_fields), name


@pytest.mark.parametrize(("name", "token", "after"), SORTS)
async def test_every_sort_reads_an_index_in_order(
    app: FastAPI, name: str, token: str, after: bool
) -> None:
    spec, table, _examples = LISTS[name]
    database: Database = app.state.database
    values = _cursor_values(spec, token) if after else None
    async with database.engine.connect() as connection:
        await prefer_indexes(connection, in_order=True)
        plans = await page_plans(connection, spec, spec.parameters(), sort=token, after=values)
    first = str(spec.ordering(token).keys[0].column.name)
    for plan in plans:
        assert "Seq Scan" not in plan, plan
        assert not _SORT_NODE.search(plan.split("SubPlan")[0]), plan
        scans = _main_scan_lines(plan, table)
        assert scans, plan
        assert all("Index" in line or "Bitmap Heap Scan" in line for line in scans), plan
        if after:
            # The scan starts at the cursor: the first key bounds it (or, in the part of the
            # rows without a value, `IS NULL` does).
            assert re.search(rf"Index Cond: .*\b{first}\b", plan), plan
    keys = spec.ordering(token).keys
    if after and len(keys) > 1 and len({key.descending for key in keys}) == 1:
        # At the cursor's very row: the keys compared as one row value bound the range (the
        # first part's, whose keys all have values), not the first key alone, which would have
        # the scan test every row that shares the cursor's first value.
        assert re.search(rf"Index Cond: .*\bROW\(\(?{first}\b", plans[0]), plans[0]


@pytest.mark.parametrize(("name", "field"), FILTERS)
async def test_every_filter_reads_an_index(app: FastAPI, name: str, field: str) -> None:
    spec, table, examples = LISTS[name]
    database: Database = app.state.database
    filters = spec.parameters(**{field: examples[field]})
    async with database.engine.connect() as connection:
        await prefer_indexes(connection)
        plans = await page_plans(connection, spec, filters)
    for plan in plans:
        assert "Seq Scan" not in plan, plan
        scans = _main_scan_lines(plan, table)
        assert scans, plan
        assert all("Index" in line or "Bitmap Heap Scan" in line for line in scans), plan
        indexes = SERVED_BY.get((name, field), ())
        if indexes:
            assert any(index in plan for index in indexes), plan


# A search in each list's default order: the index that carries its rows' text in that order
# (for the 300 organizations of the data below, whose matches are few, the trigram index may
# serve instead: it finds them without walking the order).
SEARCHES = {
    "organizations": (
        "Index Only Scan using ix_organization_name_key_id_search on organization",
        "Bitmap Index Scan on ix_organization_search_key_trgm",
    ),
    "agreements": ("Index Only Scan using ix_agreement_title_key_id_search on agreement",),
    "interactions": (
        "Index Only Scan Backward using ix_interaction_occurred_on_id_search on interaction",
    ),
    "public-agreements": (
        "Index Only Scan using ix_published_agreement_title_key_id_search on published_agreement",
    ),
    "public-interactions": (
        "Index Only Scan Backward using ix_published_interaction_occurred_on_id_search"
        " on published_interaction",
    ),
}
# Filters whose column the index of the list's default order carries: a page tests its
# candidates there alone (`core.listing`, "ids first"; migrations 0015, 0016 and 0019).
_BY_TITLE = "Index Only Scan using ix_agreement_title_key_id"
_BY_DATE = "Index Only Scan Backward using ix_interaction_occurred_on_id"
_BY_PUBLIC_DATE = "Index Only Scan Backward using ix_published_interaction_occurred_on_id"
CARRIED = [
    ("agreements", {"partner_category": ["ngo"]}, _BY_TITLE),
    ("agreements", {"strategic_objective": ["2020-2030.A"]}, _BY_TITLE),
    ("agreements", {"level": ["cooperation"]}, _BY_TITLE),
    ("agreements", {"instrument": ["letter_of_intent"]}, _BY_TITLE),
    ("interactions", {"channel": ["meeting"]}, _BY_DATE),
    ("interactions", {"visibility": ["internal"]}, _BY_DATE),
    ("interactions", {"visibility": ["public"]}, _BY_DATE),
    ("interactions", {"strategic_objective": ["2020-2030.B"]}, _BY_DATE),
    *(
        ("public-interactions", filters, _BY_PUBLIC_DATE)
        for filters in (
            {"channel": ["meeting", "call"]},  # one channel: `LEADING`
            {"organization_category": ["ngo"]},
            {"strategic_objective": ["2020-2030.B"]},
        )
    ),
    *(
        (
            "public-agreements",
            filters,
            "Index Only Scan using ix_published_agreement_title_key_id",
        )
        for filters in ({"partner_category": ["ngo"]}, {"strategic_objective": ["2020-2030.A"]})
    ),
]
# Filters of one value with an index that leads with their column, then the default order's
# keys: a page is that index's range, read as it lies, from the cursor on (`core.listing.one_of`,
# `leads`; migrations 0017 and 0018).
LEADING = [
    (
        "public-interactions",
        {"channel": ["meeting"]},
        "Index Scan Backward using ix_published_interaction_channel_occurred_on_id",
    ),
    *(
        ("organizations", {key: [value]}, f"Index Scan using ix_organization_{key}_name_key_id")
        for key, value in (("category", "ngo"), ("country", "KE"))
    ),
]
# A word of about a seventh of the seeded names, subjects and titles.
COMMON_TERM = "végétaux"


async def test_pages_that_test_rows_read_their_ids_from_an_index_alone(
    database_url: str,
) -> None:
    """On data with statistics, a page whose filters test each row (a search, a category of
    partner) reads its ids from an index alone, never the table, then its rows by id; a search
    finds the rows whose text is too long for that index through the index of their own
    (`core.listing`, "ids first"). How it then reads the page's rows by id is the planner's
    choice (by primary key at scale; here, the tables being small, sometimes otherwise)."""
    await seed(database_url, 3_000)
    database = Database(database_url, poolclass=NullPool)
    try:
        # The statistics, and the visibility map an index-only read depends on, as autovacuum
        # keeps them.
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")
        async with database.engine.connect() as connection:
            await connection.exec_driver_sql("SET enable_seqscan = off")
            # Planned for the term, as `core.direct.PLAN_EACH_TIME` runs a search.
            await connection.exec_driver_sql("SET plan_cache_mode = force_custom_plan")
            for name, scans in SEARCHES.items():
                spec, table, _examples = LISTS[name]
                plans = await page_plans(connection, spec, spec.parameters(q=COMMON_TERM))
                for plan in plans:
                    assert any(scan in plan for scan in scans), plan
                    assert f"ix_{table}_search_long" in plan, plan
            for name, filters_, scan in CARRIED:
                spec, table, _examples = LISTS[name]
                for plan in await page_plans(connection, spec, spec.parameters(**filters_)):
                    assert f"{scan} on {table}" in plan, plan
            # In the generic plan a busy list runs, after a cursor too.
            await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            for name, filters_, scan in LEADING:
                spec, table, _examples = LISTS[name]
                after = _cursor_values(spec, spec.sorts.default)
                for values in (None, after):
                    parameters = spec.parameters(**filters_)
                    (plan,) = await page_plans(connection, spec, parameters, after=values)
                    assert f"{scan} on {table}" in plan, plan
                    assert "page_ids" not in plan, plan  # not ids first
    finally:
        await database.dispose()
