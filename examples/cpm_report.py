"""The tables of a CPM paper, in Markdown, from the IPPC partnerships register.

    IPPC_CLIENT_ID=... IPPC_CLIENT_SECRET=... python examples/cpm_report.py \\
        --api https://partnerships.ippc.example --from 2025-01-01 --to 2025-12-31 > tables.md

It signs in as a client of the integration role (`ippc clients create --role integration`),
reads the register over HTTP with httpx, and writes:

1. the agreements approved in the period, by strategic objective: each with its level,
   instrument, partners, the day it was approved and the references of its decisions;
2. the engagement balance of the period: whom the IPPC engaged with, as (item, organization)
   pairs by partner category and sector, for interactions and approved agreements.

Only httpx is needed besides Python. Errors of the API (a problem+json body) stop the script
with the problem's title and detail.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx

PAGE = 200
BODIES = {"bureau": "Bureau", "cpm": "CPM"}


class ReportFailed(Exception):
    pass


def _checked(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
        reason = problem.get("detail") or problem.get("title") or problem.get("error")
    except ValueError:
        reason = response.text[:200]
    raise ReportFailed(
        f"{response.request.method} {response.request.url.path}: {response.status_code} {reason}"
    )


def sign_in(api: str, client_id: str, secret: str) -> httpx.Client:
    """An HTTP client for the API, carrying a token of the client credentials grant."""
    token = _checked(
        httpx.post(
            f"{api}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
            timeout=30,
        )
    )["access_token"]
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def every_item(http: httpx.Client, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a list, page after page (the `Link: rel="next"` header). A next page on
    another origin than the API's is refused: the token is sent to the API alone."""
    url: str | None = path
    query: dict[str, Any] | None = {**params, "limit": PAGE}
    while url:
        response = http.get(url, params=query)
        yield from _checked(response)["items"]
        url = response.links.get("next", {}).get("url")
        if url is not None and httpx.URL(url).copy_with(
            path="/", query=None
        ) != http.base_url.copy_with(path="/", query=None):
            raise ReportFailed(f"the next page of {path} is on another origin: {url}")
        query = None  # the next page's link carries the query


# Characters Markdown (or the HTML a renderer lets through) would read as markup inside a table
# cell: each is written escaped, so that a title reads as the text it is, never as a link, an
# image, emphasis or a tag. (`-`, `+`, `#` and `.` mark up only at the start of a line, which a
# cell never is; `(` only after `]`, escaped already.)
MARKUP = "\\`*_[]<>!|&~"


def cell(value: Any) -> str:
    """Text for a Markdown table cell: one line, every markup character escaped."""
    text = " ".join(str(value).split())
    return "".join("\\" + char if char in MARKUP else char for char in text)


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def words(value: str | None) -> str:
    return "—" if value is None else value.replace("_", " ")


def approved_agreements(http: httpx.Client, start: date, end: date) -> list[str]:
    agreements = list(
        every_item(
            http,
            "/v1/agreements",
            {
                "approved_on_from": start.isoformat(),
                "approved_on_to": end.isoformat(),
                "sort": "approved_on",
            },
        )
    )
    objectives = {
        item["code"]: item["title"] for item in every_item(http, "/v1/strategic-objectives", {})
    }
    names: dict[str, str] = {}
    for agreement in agreements:
        for partner in agreement["partner_ids"]:
            if partner not in names:
                organization = _checked(http.get(f"/v1/organizations/{partner}"))
                acronym = organization["acronym"]
                names[partner] = (
                    f"{organization['name']} ({acronym})" if acronym else organization["name"]
                )
    references: dict[str, str] = {}
    for agreement in agreements:
        decisions = every_item(http, f"/v1/agreements/{agreement['id']}/decisions", {})
        # In the order they were taken (the list gives the latest first).
        standing = sorted(_standing(list(decisions)), key=_taken)
        references[agreement["id"]] = "; ".join(
            f"{BODIES.get(item['governing_body'], item['governing_body'])} "
            f"{item['outcome']} on {item['decided_on']}: {item['meeting_reference']}"
            for item in standing
        )

    lines = [f"## Agreements approved from {start.isoformat()} to {end.isoformat()}", ""]
    if not agreements:
        return [*lines, "No agreement was approved in this period.", ""]
    for code in sorted({code for item in agreements for code in item["strategic_objectives"]}):
        serving = [item for item in agreements if code in item["strategic_objectives"]]
        lines += [f"### {code}: {objectives.get(code, '')}".rstrip(": "), ""]
        lines += table(
            ["Agreement", "Level", "Instrument", "Partners", "Approved on", "Decisions"],
            [
                [
                    item["title"],
                    words(item["level"]),
                    words(item["instrument"]),
                    "; ".join(names[partner] for partner in item["partner_ids"]),
                    item["approved_on"],
                    references[item["id"]],
                ]
                for item in serving
            ],
        )
        lines.append("")
    lines.append(
        f"{len(agreements)} agreement{'s' if len(agreements) != 1 else ''} in all; an agreement "
        "serving several objectives is listed under each."
    )
    return [*lines, ""]


def _taken(decision: dict[str, Any]) -> tuple[str, str]:
    return (decision["decided_on"], decision["created_at"])


def _standing(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The decisions as they stand: a corrected decision gives way to its correction."""
    superseded = {item["supersedes_id"] for item in decisions if item["supersedes_id"]}
    return [item for item in decisions if item["id"] not in superseded]


def engagement_balance(http: httpx.Client, start: date, end: date) -> list[str]:
    report = _checked(
        http.get(
            "/v1/reports/engagement-balance",
            params={"from": start.isoformat(), "to": end.isoformat()},
        )
    )
    lines = [f"## Engagement balance from {start.isoformat()} to {end.isoformat()}", ""]
    totals: dict[str, dict[tuple[str | None, str | None], int]] = {
        "interactions": {},
        "agreements": {},
    }
    for year in report["years"]:
        for row in year["counts"]:
            key = (row["partner_category"], row["partner_sector"])
            counted = totals[year["kind"]]
            counted[key] = counted.get(key, 0) + row["count"]
    for kind, title in (("interactions", "Interactions"), ("agreements", "Approved agreements")):
        counted = totals[kind]
        total = sum(counted.values())
        lines += [f"### {title}", ""]
        if not total:
            lines += ["None in this period.", ""]
            continue
        lines += table(
            ["Partner category", "Sector", "Pairs", "Share"],
            [
                [words(category), words(sector), count, f"{100 * count / total:.1f}%"]
                for (category, sector), count in sorted(
                    counted.items(), key=lambda entry: (-entry[1], str(entry[0]))
                )
            ]
            + [["All", "", total, "100.0%"]],
        )
        lines.append("")
    lines.append(
        "Pairs are (item, organization): an item with several partners counts once for each."
    )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default=os.environ.get("IPPC_API", "http://127.0.0.1:8000"))
    parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    options = parser.parse_args(argv)
    client_id = os.environ.get("IPPC_CLIENT_ID")
    secret = os.environ.get("IPPC_CLIENT_SECRET")
    if not client_id or not secret:
        print(
            "set IPPC_CLIENT_ID and IPPC_CLIENT_SECRET (a client of the integration role)",
            file=sys.stderr,
        )
        return 2
    if options.end < options.start:
        print("--to is before --from", file=sys.stderr)
        return 2
    try:
        with sign_in(options.api.rstrip("/"), client_id, secret) as http:
            lines = [
                f"# Partnerships and cooperation, {options.start.isoformat()} to "
                f"{options.end.isoformat()}",
                "",
                *approved_agreements(http, options.start, options.end),
                *engagement_balance(http, options.start, options.end),
            ]
    except (ReportFailed, httpx.HTTPError) as error:
        print(f"the register could not be read: {error}", file=sys.stderr)
        return 1
    sys.stdout.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
