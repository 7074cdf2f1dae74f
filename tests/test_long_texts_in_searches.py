"""A search reads its rows' text from an index in the list's order where the text fits beside
the order's keys (`core.sql.SEARCH_IN_INDEX_BYTES`), and finds the rows whose text is longer
through an index of their own (`core.listing`, "ids first"): both kinds come back, in order,
page after page, in each list that searches."""

from __future__ import annotations

import httpx

from app.core.sql import SEARCH_IN_INDEX_BYTES
from app.core.text import normalize
from tests.registry import Make, agreement, every_page, interaction, organization, secretariat

__all__ = ["agreement", "interaction", "organization", "secretariat"]

TERM = "végétaux"
# Characters of three bytes each: a text of this many takes more bytes than the bound.
LONG = "植" * (SEARCH_IN_INDEX_BYTES // 3 + 10)


def _too_long(text: str) -> bool:
    return len(normalize(text).encode()) > SEARCH_IN_INDEX_BYTES


async def test_long_and_short_texts_are_found_in_order(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    organization: Make,
    agreement: Make,
    interaction: Make,
) -> None:
    names = [
        f"Alpha {TERM}",
        f"Beta {LONG} {TERM}",
        f"Delta {LONG}",
        f"Epsilon {TERM}",
        f"Gamma {TERM} {LONG}",
    ]
    assert [_too_long(name) for name in names] == [False, True, True, False, True]
    found = [name for name in names if TERM in name]
    made = [await organization(name) for name in names]
    for name, partner in zip(names, made, strict=True):
        await agreement(name, partner_ids=[partner["id"]])
    for day, name in enumerate(names, start=1):
        await interaction(name, organization_ids=[made[0]["id"]], occurred_on=f"2026-01-{day:02d}")

    for path, field, expected in (
        ("/v1/organizations", "name", sorted(found)),
        ("/v1/agreements", "title", sorted(found)),
        # The latest first.
        ("/v1/interactions", "subject", list(reversed(found))),
    ):
        for limit in (1, 2, 50):
            url = f"{path}?q=vegetaux&limit={limit}"
            assert await every_page(client, secretariat, url, field) == expected, url
