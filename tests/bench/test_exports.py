"""`bench.exports`: its options, its verdicts' arithmetic, the memory readings of a process, the
feed's follower, the audit events copied in bulk (PostgreSQL), and a smoke run end to end."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bench import exports
from bench.exports import (
    MEMORY_LIMIT_BYTES,
    RssSampler,
    first_byte_holds,
    follow_feed,
    insert_events,
    memory_holds,
    parse_options,
    parse_status,
    peak_of,
    ratio_holds,
    read_memory,
    steady,
    tenths,
)
from tests.conftest import POSTGRES_ADMIN_URL, register_client

# --- options ----------------------------------------------------------------------------------


def test_the_defaults_are_the_issue_s_sizes() -> None:
    options = parse_options([])
    assert (options.agreements, options.events) == (100_000, 1_000_000)
    assert (options.seconds, options.rounds, options.min_ratio) == (5, 2, exports.MIN_RATIO)
    assert not options.smoke
    assert options.json is None


def test_a_smoke_run_is_tiny_unless_told_otherwise(tmp_path: Path) -> None:
    smoke = parse_options(["--smoke"])
    assert (smoke.agreements, smoke.events, smoke.seconds, smoke.rounds) == (300, 3000, 1, 1)
    assert smoke.smoke
    told = parse_options(
        ["--smoke", "--agreements", "50", "--events", "70", "--json", str(tmp_path / "f.json")]
    )
    assert (told.agreements, told.events, told.json) == (50, 70, tmp_path / "f.json")
    sized = parse_options(["--agreements", "1000", "--rounds", "3", "--min-ratio", "0.7"])
    assert (sized.agreements, sized.events, sized.rounds, sized.min_ratio) == (
        1000,
        1_000_000,
        3,
        0.7,
    )


@pytest.mark.parametrize(
    "arguments",
    [["--agreements", "0"], ["--events", "-1"], ["--min-ratio", "0"], ["--min-ratio", "1.5"]],
)
def test_options_out_of_range_are_usage_errors(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_options(arguments)
    assert exit_.value.code == 2


# --- verdicts ---------------------------------------------------------------------------------


def test_memory_holds_below_the_limit_only() -> None:
    before = 120 * 1024 * 1024
    assert memory_holds(before, before + MEMORY_LIMIT_BYTES - 1)
    assert not memory_holds(before, before + MEMORY_LIMIT_BYTES)
    assert memory_holds(before, before - 5)  # memory given back meanwhile


def test_the_first_byte_holds_within_three_pages() -> None:
    assert first_byte_holds(0.030, 0.010)
    assert not first_byte_holds(0.0301, 0.010)


def test_the_others_ratio_holds_at_the_minimum() -> None:
    assert ratio_holds(500, 1000, 0.5)
    assert not ratio_holds(499, 1000, 0.5)
    assert not ratio_holds(10, 0, 0.5)  # no rate without an export: nothing to compare


def test_tenths_are_consecutive_runs_of_pages_with_their_own_rate() -> None:
    pages = [(200, 0.01)] * 10 + [(200, 0.04)] * 10  # the second half four times slower
    rates = tenths(pages)
    assert rates == pytest.approx([20_000] * 5 + [5_000] * 5)
    assert tenths([(200, 0.1), (100, 0.1), (50, 0.1)]) == pytest.approx([2000, 1000, 500])
    assert tenths([]) == []
    assert len(tenths([(1, 1.0)] * 25)) == 10


def test_a_feed_is_steady_unless_its_end_slows_or_its_pages_stall() -> None:
    assert steady([1000, 900, 800], [0.01] * 200) == []
    slower = steady([1000, 900, 799], [0.01] * 200)
    assert len(slower) == 1
    assert "last tenth" in slower[0]
    # Three pages in 200 over 10 x the median: the 99th percentile is one of them.
    stalled = steady([1000, 1000], [0.01] * 197 + [0.11] * 3)
    assert len(stalled) == 1
    assert "p99 110.0 ms" in stalled[0]
    assert steady([1000, 1000], [0.01] * 198 + [0.11] * 2) == []  # one page in a hundred may
    assert steady([1000, 1000], [0.01] * 197 + [0.1] * 3) == []  # 10 x the median is still fine


# --- memory of a process ----------------------------------------------------------------------

STATUS = """Name:\tpython
VmPeak:\t  900000 kB
VmHWM:\t  {hwm} kB
VmRSS:\t  {rss} kB
Threads:\t3
"""


def write_status(proc: Path, pid: int, rss: int, hwm: int) -> None:
    """A process's status file, replaced whole (as the kernel's is read: never half written),
    so that a sampler reading it meanwhile never finds it empty."""
    (proc / str(pid)).mkdir(parents=True, exist_ok=True)
    written = proc / str(pid) / "status.new"
    written.write_text(STATUS.format(rss=rss, hwm=hwm))
    written.replace(proc / str(pid) / "status")


def test_the_status_gives_rss_and_its_peak_in_bytes(tmp_path: Path) -> None:
    assert parse_status(STATUS.format(rss=1000, hwm=2000)) == {
        "VmRSS": 1000 * 1024,
        "VmHWM": 2000 * 1024,
    }
    with pytest.raises(ValueError, match="VmRSS or VmHWM"):
        parse_status("Name:\tkthreadd\nThreads:\t1\n")  # a kernel thread has no memory lines
    write_status(tmp_path, 42, rss=3000, hwm=4000)
    assert read_memory(42, tmp_path)["VmRSS"] == 3000 * 1024


def test_this_process_s_status_reads(tmp_path: Path) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc")
    memory = read_memory(os.getpid())
    assert 0 < memory["VmRSS"] <= memory["VmHWM"]


def test_the_sampler_keeps_the_highest_reading(tmp_path: Path) -> None:
    write_status(tmp_path, 7, rss=1000, hwm=1000)
    with RssSampler(7, interval=0.001, proc=tmp_path) as sampler:
        write_status(tmp_path, 7, rss=5000, hwm=5000)
        while sampler.peak < 5000 * 1024:
            pass  # until a reading saw it
        write_status(tmp_path, 7, rss=2000, hwm=5000)
    assert sampler.peak == 5000 * 1024
    assert sampler.samples >= 3


def test_the_sampler_reads_once_more_at_the_end(tmp_path: Path) -> None:
    write_status(tmp_path, 8, rss=1000, hwm=1000)
    with RssSampler(8, interval=60, proc=tmp_path) as sampler:
        write_status(tmp_path, 8, rss=3000, hwm=3000)
    assert (sampler.peak, sampler.samples) == (3000 * 1024, 2)


def test_vmhwm_counts_only_when_it_rose() -> None:
    assert peak_of(sampled=300, hwm_before=500, hwm_after=500) == 300  # an earlier peak
    assert peak_of(sampled=300, hwm_before=250, hwm_after=320) == 320  # between readings
    assert peak_of(sampled=300, hwm_before=250, hwm_after=290) == 300


# --- the feed's follower ----------------------------------------------------------------------


def feed_transport(ids: list[int]) -> Callable[[httpx.Request], httpx.Response]:
    """A feed of these ids, 200 a page, its cursor the position reached."""

    def answer(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        assert query["after_id"] == ["0"]
        assert query["limit"] == ["200"]
        start = int(query.get("cursor", ["0"])[0])
        chosen = ids[start : start + 200]
        more = start + 200 < len(ids)
        return httpx.Response(
            200,
            json={
                "items": [{"id": id_} for id_ in chosen],
                "next_cursor": str(start + 200) if more else None,
            },
        )

    return answer


def test_the_follower_reads_every_page_and_counts_what_it_saw() -> None:
    transport = httpx.MockTransport(feed_transport(list(range(1, 1001))))
    with httpx.Client(transport=transport, base_url="http://feed") as client:
        figures = follow_feed(client, {}, expected=1000)
    assert (figures.pages, figures.seen, figures.missed, figures.in_order) == (5, 1000, 0, True)
    assert len(figures.tenths) == 5
    assert "events seen" not in " ".join(figures.reasons)


def test_the_rates_leave_out_a_last_page_that_is_not_full() -> None:
    transport = httpx.MockTransport(feed_transport(list(range(1, 1002))))
    with httpx.Client(transport=transport, base_url="http://feed") as client:
        figures = follow_feed(client, {}, expected=1001)
    assert (figures.pages, figures.seen, figures.missed) == (6, 1001, 0)
    assert len(figures.tenths) == 5  # the sixth page, of one event, is not a tenth of its own


def test_the_follower_fails_a_feed_that_misses_or_repeats_events() -> None:
    with httpx.Client(
        transport=httpx.MockTransport(feed_transport([*range(1, 300), *range(301, 401)])),
        base_url="http://feed",
    ) as client:
        missing = follow_feed(client, {}, expected=400)
    assert (missing.missed, missing.holds) == (1, False)
    assert any("399 events seen of 400" in reason for reason in missing.reasons)
    with httpx.Client(
        transport=httpx.MockTransport(feed_transport([1, 2, 3, 3, 4])), base_url="http://feed"
    ) as client:
        repeated = follow_feed(client, {}, expected=5)
    assert (repeated.in_order, repeated.holds) == (False, False)


# --- the events in bulk (PostgreSQL) ----------------------------------------------------------


async def read_feed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    path = "/v1/audit-events?after_id=0&limit=200"
    while True:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["items"]
        if not page["next_cursor"]:
            return events
        path = f"/v1/audit-events?after_id=0&limit=200&cursor={page['next_cursor']}"


@pytest.mark.postgres_only
async def test_events_copied_in_bulk_take_the_next_ids_and_the_feed_serves_them_all(
    app: Any, client: httpx.AsyncClient, database_url: str
) -> None:
    follower = await register_client(app, "integration", name="feed follower")
    token = (
        await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=follower)
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    before = await read_feed(client, headers)
    assert [event["id"] for event in before] == list(range(1, len(before) + 1))

    first, last = await insert_events(database_url, 450, batch=200)  # three copies

    assert (first, last) == (len(before) + 1, len(before) + 450)
    events = await read_feed(client, headers)
    assert [event["id"] for event in events] == list(range(1, last + 1))
    copied = events[len(before) :]
    created = next(event for event in copied if event["action"] == "create")
    assert created["changes"] == {"name": {"before": None, "after": f"N {created['id']}"}}
    assert copied[0]["actor"]["subject"] == "bench@secretariat.example"
    assert {event["action"] for event in copied} == {"create", "update", "archive"}
    assert all(event["occurred_at"].endswith("Z") for event in copied)
    # The service's next event takes the id after them: the sequence was moved past them.
    await register_client(app, "bureau", name="after the copy")
    after = await read_feed(client, headers)
    assert [event["id"] for event in after[last:]] == [last + 1]


# --- a smoke run, end to end (PostgreSQL) -----------------------------------------------------


@pytest.mark.postgres_only
def test_a_smoke_run_measures_everything_and_writes_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IPPC_BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL)
    figures_file = tmp_path / "figures.json"
    status = exports.main(
        ["--smoke", "--agreements", "100", "--events", "500", "--json", str(figures_file)]
    )
    assert status == exports.EXIT_OK, capsys.readouterr()
    figures = json.loads(figures_file.read_text())
    internal, public = figures["exports"]
    assert internal["path"] == "/v1/agreements?format=csv"
    assert internal["rows"] == 100
    assert 0 < public["rows"] < 100  # the approved ones only
    assert internal["rss_before_mb"] > 0
    assert internal["first_byte_ms"] > 0
    assert [r["export"] for r in figures["load"]["rounds"]] == [False, True]
    assert figures["load"]["exports_completed"] >= 1
    assert figures["feed"]["missed"] == 0
    assert figures["feed"]["in_order"]
    assert figures["feed"]["seen"] == 501  # and the client the seed registered
    assert "GET /v1/audit-events, 501 events" in capsys.readouterr().out
