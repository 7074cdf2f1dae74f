"""`python -m bench.exports` (or `scripts/bench-exports`): the CSV exports and the audit change
feed at scale, on PostgreSQL, with one service process, as the bench runs it. docs/performance.md
("Exports and the change feed at scale") says what it shows.

Four measurements, each with a verdict:

1. **The export's memory and first byte.** `GET /v1/agreements?format=csv` of every agreement
   (100,000 by default), then the public register's `GET /v1/public/agreements?format=csv`, each
   read by a streaming client: the server process's resident memory before (after a warm-up), its
   peak while the export streams (VmRSS sampled every 20 ms, and VmHWM), the time to the CSV's
   first byte, the whole export's time and rows/s; and, just before, the median time of a page of
   50 of the same list in the same order. Verdicts: the peak grows less than 100 MB; the first
   byte comes within 3 x the page's median.
2. **Others keep their rate meanwhile.** Pages of `/v1/organizations?limit=50` driven by the
   bench's own load generator, alone and while an export streams (started again whenever it ends),
   alternately in the same run: the ratio of their rates (with / without). Verdict: at least
   `--min-ratio` (default 0.5, see `MIN_RATIO`).
3. **The change feed followed from its start.** A million audit events copied into `audit_event`
   (ids as the service would give them: the next of its sequence, rising, under its lock), then
   followed as a client would, `after_id=0&limit=200` and each `next_cursor` to the end, each page
   timed. Verdict "steady": the last tenth's rate (events/s) is at least 0.8 x the first tenth's,
   and the pages' 99th percentile is within 10 x their median; and not one event was missed.

Exit status: 0 every verdict holds (a `--smoke` run: it ran); 1 a verdict failed; 2 usage;
4 failed: a request answered an unexpected status, or a server, the load generator or the
database could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.cli import positive
from bench.generators import Generator, GeneratorFailed, choose, write_requests
from bench.scenarios import Request, fetch_token
from bench.seed import DatabaseUnavailable, bench_database, seed, settle
from bench.servers import KEEP_ALIVE, Server, ServerFailed, start_service
from bench.stats import percentile

EXIT_OK = 0
EXIT_VERDICT_FAILED = 1
EXIT_ERRORS = 4

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TOKEN_TTL_SECONDS = 3600

# The sizes, and the smoke run's.
DEFAULTS = {"agreements": 100_000, "events": 1_000_000, "seconds": 5, "rounds": 2, "pages": 30}
SMOKE = {"agreements": 300, "events": 3_000, "seconds": 1, "rounds": 1, "pages": 5}

# The verdicts' lines.
MEMORY_LIMIT_BYTES = 100 * 1024 * 1024
FIRST_BYTE_FACTOR = 3.0
STEADY_RATIO = 0.8
SLOWEST_PAGE_FACTOR = 10.0
# The other requests' rate while an export streams, as a share of their rate without one. The
# service is one process on one event loop: the export's chunks (500 rows read, formatted and
# sent) take turns with the other requests on the same core, and on a two-core machine the load
# generator, PostgreSQL and the export's own client share the other. A fair loop would leave the
# others C/(C+1) of the process with C connections of theirs; the line asks for half, so that it
# fails when an export takes the process over (a chunk that blocks the loop, a query that holds
# the pool), not on the fair cost of one more busy connection on a small machine.
MIN_RATIO = 0.5

PAGE_SIZE = 50
FEED_PAGE = 200
LOAD_CONNECTIONS = 4
LOAD_PAGES = 40
SAMPLE_SECONDS = 0.02
COPY_BATCH = 50_000
# The advisory lock the service's audit writer takes (app.audit.service.AUDIT_ID_LOCK_KEY).
AUDIT_LOCK_SQL = "SELECT pg_advisory_xact_lock($1)"


# --- Options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    agreements: int
    events: int
    seconds: int
    rounds: int
    pages: int
    min_ratio: float
    smoke: bool
    json: Path | None


def _ratio(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be within (0, 1], not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.exports",
        description="The CSV exports (memory, first byte, rate, others' rate meanwhile) and the "
        "audit change feed (rate along a long feed) at scale, on PostgreSQL, one service process.",
        epilog="Exit status: 0 every verdict holds (or a --smoke run ran), 1 a verdict failed, "
        "2 usage, 4 failed (unexpected statuses, or a server, the generator or the database "
        "that could not start).",
    )
    parser.add_argument(
        "--agreements",
        type=positive,
        help=f"agreements seeded (default {DEFAULTS['agreements']:,}; smoke {SMOKE['agreements']})",
    )
    parser.add_argument(
        "--events",
        type=positive,
        help=f"audit events in the feed (default {DEFAULTS['events']:,}; smoke "
        f"{SMOKE['events']:,})",
    )
    parser.add_argument(
        "--seconds",
        type=positive,
        help=f"length of each load measurement (default {DEFAULTS['seconds']})",
    )
    parser.add_argument(
        "--rounds",
        type=positive,
        help=f"load measurements with and without an export, each (default {DEFAULTS['rounds']})",
    )
    parser.add_argument(
        "--min-ratio",
        type=_ratio,
        default=MIN_RATIO,
        help=f"the others' rate with an export / without, at least (default {MIN_RATIO})",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, well under a minute; verdicts printed, never failing the run",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    return parser


def parse_options(argv: Sequence[str] | None = None) -> Options:
    arguments = build_parser().parse_args(argv)
    defaults = SMOKE if arguments.smoke else DEFAULTS
    return Options(
        agreements=arguments.agreements or defaults["agreements"],
        events=arguments.events or defaults["events"],
        seconds=arguments.seconds or defaults["seconds"],
        rounds=arguments.rounds or defaults["rounds"],
        pages=defaults["pages"],
        min_ratio=arguments.min_ratio,
        smoke=arguments.smoke,
        json=arguments.json,
    )


# --- Memory of a process ---------------------------------------------------------------------


def parse_status(text: str) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the resident peak of the process's life) of a
    /proc/<pid>/status text, in bytes."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            number, unit = rest.split()
            if unit != "kB":
                raise ValueError(f"{name} in {unit}, not kB")
            values[name] = int(number) * 1024
    if set(values) != {"VmRSS", "VmHWM"}:
        raise ValueError("no VmRSS or VmHWM in the status")
    return values


def read_memory(pid: int, proc: Path = Path("/proc")) -> dict[str, int]:
    return parse_status((proc / str(pid) / "status").read_text())


class RssSampler:
    """A thread that reads a process's VmRSS every `interval` seconds while in its `with` block:
    `peak` is the highest reading (and the one at the end). VmHWM would give the peak between
    readings too, but it holds the whole life's peak: `peak_of` takes it only when it rose."""

    def __init__(
        self, pid: int, interval: float = SAMPLE_SECONDS, proc: Path = Path("/proc")
    ) -> None:
        self.pid = pid
        self.interval = interval
        self.proc = proc
        self.samples = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> None:
        self.peak = max(self.peak, read_memory(self.pid, self.proc)["VmRSS"])
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._read()

    def __enter__(self) -> RssSampler:
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()


def peak_of(sampled: int, hwm_before: int, hwm_after: int) -> int:
    """The peak while measured: the highest reading, or VmHWM when it rose meanwhile (a peak
    between two readings); a VmHWM that did not rise is an earlier peak, not this one's."""
    return max(sampled, hwm_after) if hwm_after > hwm_before else sampled


# --- Verdicts --------------------------------------------------------------------------------


def memory_holds(before: int, peak: int, limit: int = MEMORY_LIMIT_BYTES) -> bool:
    return peak - before < limit


def first_byte_holds(first_byte: float, page_median: float) -> bool:
    return first_byte <= FIRST_BYTE_FACTOR * page_median


def ratio_holds(with_export: float, without: float, minimum: float) -> bool:
    return without > 0 and with_export / without >= minimum


def tenths(pages: Sequence[tuple[int, float]]) -> list[float]:
    """The rate (events/s) of each tenth of a feed read page by page ((events, seconds) each), in
    order: ten runs of consecutive pages as equal as can be (as many as there are pages when
    fewer than ten)."""
    if not pages:
        return []
    parts = min(10, len(pages))
    rates = []
    for part in range(parts):
        chosen = pages[part * len(pages) // parts : (part + 1) * len(pages) // parts]
        seconds = sum(s for _, s in chosen)
        rates.append(sum(n for n, _ in chosen) / seconds if seconds > 0 else float("inf"))
    return rates


def steady(rates: Sequence[float], page_seconds: Sequence[float]) -> list[str]:
    """Why a feed was not read at a steady rate (nothing when it was): its last tenth slower than
    `STEADY_RATIO` x its first, or its pages' 99th percentile slower than `SLOWEST_PAGE_FACTOR` x
    the median page. The percentile, not the slowest page: on a small shared machine one page in
    thousands may wait for another process (a checkpoint, a neighbour's burst), which says nothing
    of the feed; a feed whose pages slow with depth moves the tenths' rates and the percentile."""
    reasons = []
    if rates and rates[-1] < STEADY_RATIO * rates[0]:
        reasons.append(
            f"the last tenth's rate {rates[-1]:,.0f} events/s is below {STEADY_RATIO} x the "
            f"first's {rates[0]:,.0f}"
        )
    if page_seconds:
        median = statistics.median(page_seconds)
        slow = percentile(page_seconds, 0.99)
        if slow > SLOWEST_PAGE_FACTOR * median:
            reasons.append(
                f"the pages' p99 {slow * 1000:.1f} ms is over {SLOWEST_PAGE_FACTOR:g} x their "
                f"median {median * 1000:.1f} ms"
            )
    return reasons


# --- The audit events, in bulk ---------------------------------------------------------------


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def event_records(first_id: int, count: int, start: datetime) -> Iterator[tuple[Any, ...]]:
    """`count` events from id `first_id`, one a millisecond from `start`: the columns of
    `EVENT_COLUMNS`, creations and updates of organizations, their changes as JSON text."""
    actions = ("create", "update", "update", "archive")
    for offset in range(count):
        id_ = first_id + offset
        action = actions[id_ % len(actions)]
        changes = {
            "name": {"before": None if action == "create" else f"Old {id_}", "after": f"N {id_}"}
        }
        yield (
            id_,
            start + timedelta(milliseconds=id_),
            "bench@secretariat.example",
            "bench-front-end" if id_ % 3 else None,
            action,
            "organization",
            str(uuid.UUID(int=id_ % 50_000 + 1, version=4)),
            json.dumps(changes),
            "archived in bulk" if action == "archive" else None,
        )


EVENT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_subject",
    "actor_client_id",
    "action",
    "resource_type",
    "resource_id",
    "changes",
    "note",
)


async def insert_events(url: str, count: int, *, batch: int = COPY_BATCH) -> tuple[int, int]:
    """Copy `count` audit events into the database at `url` (PostgreSQL) in one transaction:
    their first and last ids.

    The ids are what the service would give: under the audit writer's advisory lock (so no
    writer of the service takes an id meanwhile, and what readers see stays a prefix), the next
    value of the table's sequence and the `count - 1` after it, whose last the sequence is then
    set to. So the events commit below every id yet to come, and none is in flight when they are
    read."""
    from app.audit.service import AUDIT_ID_LOCK_KEY

    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute(AUDIT_LOCK_SQL, AUDIT_ID_LOCK_KEY)
            sequence = await connection.fetchval(
                "SELECT pg_get_serial_sequence('audit_event', 'id')"
            )
            first = int(await connection.fetchval("SELECT nextval($1::regclass)", sequence))
            last = first + count - 1
            await connection.execute("SELECT setval($1::regclass, $2)", sequence, last)
            start = datetime(2026, 1, 1, tzinfo=UTC)
            for offset in range(0, count, batch):
                size = min(batch, count - offset)
                await connection.copy_records_to_table(
                    "audit_event",
                    records=list(event_records(first + offset, size, start)),
                    columns=EVENT_COLUMNS,
                )
        await connection.execute("VACUUM ANALYZE audit_event")
    finally:
        await connection.close()
    return first, last


async def count_events(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM audit_event"))
    finally:
        await connection.close()


# --- Measurements ----------------------------------------------------------------------------


class RequestFailed(RuntimeError):
    """A request of the measurement answered an unexpected status."""


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise RequestFailed(f"{what} answered {response.status_code}: {response.text[:300]}")


def page_median(client: httpx.Client, path: str, headers: dict[str, str], count: int) -> float:
    """The median seconds of `count` requests for one page (after as many unmeasured)."""
    times = []
    for index in range(2 * count):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        elapsed = time.perf_counter() - started
        _check(response, f"GET {path}")
        if index >= count:
            times.append(elapsed)
    return statistics.median(times)


@dataclass
class StreamRun:
    headers_seconds: float
    first_byte_seconds: float
    seconds: float
    rows: int
    bytes: int


def stream(client: httpx.Client, path: str, headers: dict[str, str]) -> StreamRun:
    """Read a CSV export as it streams: times to its headers, its first byte and its end, and
    its rows (lines after the header; the seeded cells hold no line breaks)."""
    started = time.perf_counter()
    first_byte = 0.0
    lines = size = 0
    with client.stream("GET", path, headers=headers) as response:
        headers_at = time.perf_counter() - started
        if response.status_code != 200:
            response.read()
            _check(response, f"GET {path}")
        for chunk in response.iter_raw():
            if not size and chunk:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
    return StreamRun(headers_at, first_byte, time.perf_counter() - started, max(lines - 1, 0), size)


@dataclass
class ExportFigures:
    path: str
    page_path: str
    page_median_ms: float
    rss_before_mb: float
    rss_peak_mb: float
    rss_after_mb: float
    growth_mb: float
    samples: int
    headers_ms: float
    first_byte_ms: float
    seconds: float
    rows: int
    megabytes: float
    rows_per_second: float
    memory_holds: bool
    first_byte_holds: bool


MB = 1024 * 1024


def measure_export(
    service: Server,
    client: httpx.Client,
    path: str,
    page_path: str,
    headers: dict[str, str],
    pages: int,
) -> ExportFigures:
    pid = service.process.pid
    median = page_median(client, page_path, headers, pages)
    before = read_memory(pid)
    with RssSampler(pid) as sampler:
        run = stream(client, path, headers)
    after = read_memory(pid)
    peak = peak_of(sampler.peak, before["VmHWM"], after["VmHWM"])
    service.check_alive()
    return ExportFigures(
        path=path,
        page_path=page_path,
        page_median_ms=median * 1000,
        rss_before_mb=before["VmRSS"] / MB,
        rss_peak_mb=peak / MB,
        rss_after_mb=after["VmRSS"] / MB,
        growth_mb=(peak - before["VmRSS"]) / MB,
        samples=sampler.samples,
        headers_ms=run.headers_seconds * 1000,
        first_byte_ms=run.first_byte_seconds * 1000,
        seconds=run.seconds,
        rows=run.rows,
        megabytes=run.bytes / MB,
        rows_per_second=run.rows / run.seconds if run.seconds > 0 else 0.0,
        memory_holds=memory_holds(before["VmRSS"], peak),
        first_byte_holds=first_byte_holds(run.first_byte_seconds, median),
    )


class ExportLoop:
    """Exports one after another in a thread of their own, until stopped: the load that the
    others' requests meet."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str]) -> None:
        self.base_url = base_url
        self.path = path
        self.headers = headers
        self.completed = 0
        self.rows = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with httpx.Client(base_url=self.base_url, timeout=600, limits=KEEP_ALIVE) as client:
                while not self._stop.is_set():
                    with client.stream("GET", self.path, headers=self.headers) as response:
                        if response.status_code != 200:
                            response.read()
                            _check(response, f"GET {self.path}")
                        for chunk in response.iter_raw():
                            self.rows += chunk.count(b"\n")
                            if self._stop.is_set():
                                break
                        else:
                            self.completed += 1
        except Exception as error:  # reported once the loop is stopped
            self.error = error

    def __enter__(self) -> ExportLoop:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class LoadRound:
    export: bool
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]


@dataclass
class LoadFigures:
    title: str
    connections: int
    rounds: list[LoadRound] = field(default_factory=list)
    exports_completed: int = 0
    rate_without: float = 0.0
    rate_with: float = 0.0
    p99_without_ms: float = 0.0
    p99_with_ms: float = 0.0
    ratio: float = 0.0
    holds: bool = False

    def conclude(self, minimum: float) -> None:
        def median(export: bool, key: Callable[[LoadRound], float]) -> float:
            return statistics.median(key(r) for r in self.rounds if r.export == export)

        self.rate_without = median(False, lambda r: r.rate)
        self.rate_with = median(True, lambda r: r.rate)
        self.p99_without_ms = median(False, lambda r: r.p99_ms)
        self.p99_with_ms = median(True, lambda r: r.p99_ms)
        self.ratio = self.rate_with / self.rate_without if self.rate_without else 0.0
        self.holds = ratio_holds(self.rate_with, self.rate_without, minimum)


def first_pages(client: httpx.Client, path: str, headers: dict[str, str], count: int) -> list[str]:
    """The paths of a list's first `count` pages of 50."""
    pages = [f"{path}?limit={PAGE_SIZE}"]
    while len(pages) < count:
        response = client.get(pages[-1], headers=headers)
        _check(response, f"GET {pages[-1]}")
        cursor = response.json()["next_cursor"]
        if not cursor:
            break
        pages.append(f"{path}?limit={PAGE_SIZE}&cursor={cursor}")
    return pages


def measure_load(
    service: Server,
    generator: Generator,
    workdir: Path,
    requests: Sequence[Request],
    export_path: str,
    headers: dict[str, str],
    options: Options,
) -> LoadFigures:
    """The others' rate alone and with an export streaming, alternately, `rounds` times each."""
    figures = LoadFigures(
        title=f"GET /v1/organizations?limit={PAGE_SIZE}, {len(requests)} pages in turn",
        connections=LOAD_CONNECTIONS,
    )
    requests_file = write_requests(requests, workdir)
    try:
        for _ in range(options.rounds):
            for export in (False, True):
                with ExitStack() as stack:
                    loop = None
                    if export:
                        loop = stack.enter_context(
                            ExportLoop(service.base_url, export_path, headers)
                        )
                        time.sleep(0.5)  # the export is streaming when the load starts
                    run = generator.run(
                        service.base_url, requests_file, LOAD_CONNECTIONS, options.seconds
                    )
                if loop is not None:
                    if loop.error is not None:
                        raise RequestFailed(f"the export during the load failed: {loop.error}")
                    figures.exports_completed += loop.completed
                service.check_alive()
                figures.rounds.append(
                    LoadRound(
                        export=export,
                        requests=run.requests,
                        seconds=run.seconds,
                        rate=run.requests / run.seconds if run.seconds else 0.0,
                        p50_ms=run.p50_ms,
                        p99_ms=run.p99_ms,
                        errors=dict(run.errors),
                    )
                )
    finally:
        requests_file.unlink(missing_ok=True)
    figures.conclude(options.min_ratio)
    return figures


@dataclass
class FeedFigures:
    events: int
    pages: int
    seconds: float
    rate: float
    tenths: list[float]
    page_median_ms: float
    page_p99_ms: float
    page_max_ms: float
    slowest_page: int
    seen: int
    missed: int
    in_order: bool
    reasons: list[str]
    holds: bool


def follow_feed(client: httpx.Client, headers: dict[str, str], expected: int) -> FeedFigures:
    """Follow `/v1/audit-events` from its start to its end as a client would (`after_id=0`, then
    each `next_cursor`), timing each page."""
    pages: list[tuple[int, float]] = []
    last_id = 0
    seen = 0
    in_order = True
    path = f"/v1/audit-events?after_id=0&limit={FEED_PAGE}"
    started = time.perf_counter()
    while True:
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        _check(response, f"GET {path}")
        page = response.json()
        pages.append((len(page["items"]), time.perf_counter() - began))
        for item in page["items"]:
            in_order = in_order and item["id"] > last_id
            last_id = item["id"]
        seen += len(page["items"])
        if not page["next_cursor"]:
            break
        path = f"/v1/audit-events?after_id=0&limit={FEED_PAGE}&cursor={page['next_cursor']}"
    seconds = time.perf_counter() - started
    # The rates leave out a last page that is not full: it costs a page's time for fewer events.
    full = pages[:-1] if len(pages) > 1 and pages[-1][0] < FEED_PAGE else pages
    rates = tenths(full)
    page_seconds = [s for _, s in pages]
    reasons = steady(rates, page_seconds)
    if seen != expected or not in_order:
        reasons.append(f"{seen:,} events seen of {expected:,}, in order: {in_order}")
    return FeedFigures(
        events=expected,
        pages=len(pages),
        seconds=seconds,
        rate=seen / seconds if seconds else 0.0,
        tenths=rates,
        page_median_ms=statistics.median(page_seconds) * 1000,
        page_p99_ms=percentile(page_seconds, 0.99) * 1000,
        page_max_ms=max(page_seconds) * 1000,
        slowest_page=page_seconds.index(max(page_seconds)) + 1,
        seen=seen,
        missed=expected - seen,
        in_order=in_order,
        reasons=reasons,
        holds=not reasons,
    )


# --- The run ---------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def seed_agreements(url: str, agreements: int) -> tuple[str, str]:
    """Migrate and fill the database: `agreements` agreements (and the bench's organizations
    and interactions with them, `bench.seed.Sizes`), and a Secretariat client (audit:read among
    its scopes)."""
    return (await seed(url, agreements)).credentials


@dataclass
class Results:
    exports: list[ExportFigures] = field(default_factory=list)
    load: LoadFigures | None = None
    feed: FeedFigures | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def failures(self) -> list[str]:
        failed = []
        for export in self.exports:
            if not export.memory_holds:
                failed.append(f"{export.path}: memory grew {export.growth_mb:.1f} MB")
            if not export.first_byte_holds:
                failed.append(
                    f"{export.path}: first byte {export.first_byte_ms:.1f} ms over "
                    f"{FIRST_BYTE_FACTOR:g} x {export.page_median_ms:.1f} ms"
                )
        if self.load is not None and not self.load.holds:
            failed.append(f"others' rate with an export {self.load.ratio:.2f} x without")
        if self.feed is not None and not self.feed.holds:
            failed.extend(f"change feed: {reason}" for reason in self.feed.reasons)
        return failed


def _verdict(holds: bool) -> str:
    return "ok" if holds else "FAILED"


def table(results: Results, options: Options) -> str:
    lines = []
    for export in results.exports:
        lines += [
            f"{export.path}  ({export.rows:,} rows, {export.megabytes:.1f} MB)",
            f"  page of 50 ({export.page_path}) median   {export.page_median_ms:9.1f} ms",
            f"  headers after                              {export.headers_ms:9.1f} ms",
            f"  first byte after                           {export.first_byte_ms:9.1f} ms"
            f"   {export.first_byte_ms / export.page_median_ms:5.2f} x the page   "
            f"(<= {FIRST_BYTE_FACTOR:g})  {_verdict(export.first_byte_holds)}",
            f"  whole export                               {export.seconds:9.2f} s"
            f"    {export.rows_per_second:,.0f} rows/s",
            f"  server RSS before / peak / after           {export.rss_before_mb:6.1f} / "
            f"{export.rss_peak_mb:.1f} / {export.rss_after_mb:.1f} MB ({export.samples} samples)",
            f"  peak growth                                {export.growth_mb:9.1f} MB"
            f"   (< {MEMORY_LIMIT_BYTES // MB})  {_verdict(export.memory_holds)}",
            "",
        ]
    load = results.load
    if load is not None:
        lines += [
            f"{load.title}, {load.connections} connections, {options.rounds} x {options.seconds} s "
            "each way (medians)",
            f"  without an export   {load.rate_without:9,.0f} req/s   "
            f"p99 {load.p99_without_ms:7.1f} ms",
            f"  with an export      {load.rate_with:9,.0f} req/s   p99 {load.p99_with_ms:7.1f} ms"
            f"   ({load.exports_completed} exports completed meanwhile)",
            f"  ratio               {load.ratio:9.2f}   (>= {options.min_ratio:g})  "
            f"{_verdict(load.holds)}",
            "",
        ]
    feed = results.feed
    if feed is not None:
        lines += [
            f"GET /v1/audit-events, {feed.events:,} events, {feed.pages:,} pages of {FEED_PAGE}",
            f"  whole feed          {feed.seconds:9.1f} s   {feed.rate:,.0f} events/s",
            "  per tenth (events/s) " + " ".join(f"{rate:,.0f}" for rate in feed.tenths),
            f"  page median / p99 / max   {feed.page_median_ms:.1f} / {feed.page_p99_ms:.1f} / "
            f"{feed.page_max_ms:.1f} ms (the slowest: page {feed.slowest_page:,})",
            f"  seen {feed.seen:,}, missed {feed.missed:,}, in order: {feed.in_order}",
            f"  steady (last tenth >= {STEADY_RATIO} x first, p99 page <= "
            f"{SLOWEST_PAGE_FACTOR:g} x median)  {_verdict(feed.holds)}",
        ]
    return "\n".join(lines)


def measure(postgres_url: str, url: str, workdir: Path, options: Options, results: Results) -> None:
    timings = results.timings
    started = time.perf_counter()
    credentials = asyncio.run(seed_agreements(url, options.agreements))
    timings["seed_seconds"] = time.perf_counter() - started
    say(f"seeded {options.agreements:,} agreements in {timings['seed_seconds']:.1f} s")
    started = time.perf_counter()
    asyncio.run(insert_events(url, options.events))
    timings["events_seconds"] = time.perf_counter() - started
    say(f"copied {options.events:,} audit events in {timings['events_seconds']:.1f} s")
    asyncio.run(settle("postgresql", postgres_url, url))
    expected_events = asyncio.run(count_events(url))
    generator = choose("python")
    service = start_service(url, workdir, token_ttl=TOKEN_TTL_SECONDS, connections=1)
    try:
        with httpx.Client(base_url=service.base_url, timeout=600, limits=KEEP_ALIVE) as client:
            token = fetch_token(client, *credentials)
            headers = {"Authorization": f"Bearer {token}"}
            for path, page, auth in (
                ("/v1/agreements?format=csv", f"/v1/agreements?limit={PAGE_SIZE}", headers),
                (
                    "/v1/public/agreements?format=csv",
                    f"/v1/public/agreements?limit={PAGE_SIZE}",
                    {},
                ),
            ):
                say(f"exporting {path}")
                results.exports.append(
                    measure_export(service, client, path, page, auth, options.pages)
                )
            pages = first_pages(client, "/v1/organizations", headers, LOAD_PAGES)
            requests = [Request("GET", path, tuple(headers.items())) for path in pages]
            say(f"others' load, {options.rounds} x 2 x {options.seconds} s")
            results.load = measure_load(
                service,
                generator,
                workdir,
                requests,
                "/v1/agreements?format=csv",
                headers,
                options,
            )
            say(f"following the change feed ({expected_events:,} events)")
            results.feed = follow_feed(client, headers, expected_events)
    finally:
        service.stop()


def write_json(path: Path, results: Results, options: Options, status: int) -> None:
    document = {
        "settings": {
            "agreements": options.agreements,
            "events": options.events,
            "seconds": options.seconds,
            "rounds": options.rounds,
            "min_ratio": options.min_ratio,
            "smoke": options.smoke,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "timings": results.timings,
        "exports": [asdict(export) for export in results.exports],
        "load": asdict(results.load) if results.load else None,
        "feed": asdict(results.feed) if results.feed else None,
        "failures": results.failures(),
        "exit_status": status,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def run(options: Options) -> int:
    postgres_url = os.environ.get("IPPC_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    workdir = Path(tempfile.mkdtemp(prefix="ippc-bench-exports-"))
    results = Results()
    try:
        with bench_database("postgresql", postgres_url, workdir) as url:
            measure(postgres_url, url, workdir, options, results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    failures = results.failures()
    print(
        f"\nPostgreSQL, one service process, {options.agreements:,} agreements, "
        f"{options.events:,} audit events, {os.cpu_count()} CPUs\n"
    )
    print(table(results, options))
    status = EXIT_OK
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        if options.smoke:
            print("(a smoke run reports its verdicts and exits 0 on them)")
        else:
            status = EXIT_VERDICT_FAILED
    if options.json is not None:
        write_json(options.json, results, options, status)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    try:
        return run(options)
    except (ServerFailed, GeneratorFailed, DatabaseUnavailable, RequestFailed) as error:
        print(f"bench.exports: {error}", file=sys.stderr)
        return EXIT_ERRORS


if __name__ == "__main__":
    sys.exit(main())
