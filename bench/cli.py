"""`python -m bench` (or `scripts/bench`): the service's request rate over real HTTP, as a ratio
to a bare FastAPI app served the same way in the same run. docs/performance.md says more.

With `--scale 10000,1000000` the same scenarios (by default every list scenario) run at each
size of data, each in a database of its own, and a table gives each scenario's ratio at every
size and the ratio at the largest over the ratio at the smallest (`--min-scale` floors).

Exit status: 0 reported (and every `--min` and `--min-scale` floor met); 1 a floor not met;
2 a usage error; 3 refused: the load generator, not the server, limited the rate, so no ratio
is reported; 4 failed: some responses were not the expected status or connections failed, or a
server, the load generator or the database could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from bench import report, scale
from bench.generators import Generator, GeneratorFailed, choose, write_requests
from bench.scenarios import (
    BASELINE,
    DEFAULT,
    GROUPS,
    LISTS_GROUP,
    NAMES,
    SCENARIOS,
    Fixtures,
    Scenario,
    fetch_token,
    in_groups,
    prepare,
)
from bench.seed import (
    DatabaseUnavailable,
    Sizes,
    bench_database,
    database_bytes,
    seed,
    settle,
)
from bench.servers import (
    KEEP_ALIVE,
    Server,
    ServerFailed,
    machine_busy_seconds,
    start_baseline,
    start_service,
)
from bench.stats import (
    WARM_UP,
    Measurement,
    Summary,
    bottleneck,
    floor_failures,
    parse_floor,
    schedule,
    summarize,
)

EXIT_OK = 0
EXIT_BELOW_FLOOR = 1
EXIT_REFUSED = 3
EXIT_ERRORS = 4

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# The service's tokens live this long (the setting's maximum); the bench gets a new one before
# a measurement that would outlive its token.
TOKEN_TTL_SECONDS = 3600
TOKEN_MARGIN_SECONDS = 120

SMOKE = {"rows": 1000, "seconds": 1, "rounds": 1, "warmup": 0}
DEFAULTS = {"rows": 10_000, "seconds": 10, "rounds": 3, "warmup": 2}


@dataclass(frozen=True)
class Options:
    db: str
    rows: int
    seconds: int
    rounds: int
    warmup: int
    connections: int
    scenarios: tuple[Scenario, ...]
    floors: dict[str, float]
    smoke: bool
    generator: str
    json: Path | None
    # `--scale`: the sizes (agreements seeded) to run at, and the least scale allowed.
    sizes: tuple[int, ...] = ()
    scale_floors: scale.ScaleFloors = field(default_factory=scale.ScaleFloors)


def positive(text: str) -> int:
    """An argument that counts something: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    measured = [name for name in NAMES if name != BASELINE.name]
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Requests/s, p50 and p99 of the service's scenarios over real HTTP, each "
        "as a ratio to a bare FastAPI app served the same way in the same run.",
        epilog="Exit status: 0 reported, 1 a --min floor not met, 2 usage, 3 refused (the "
        "load generator was the bottleneck), 4 failed (unexpected statuses, failed connections, "
        "or a server, the generator or the database that could not start).",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--rows",
        type=positive,
        help=f"agreements seeded, with as many interactions and an organization for every ten "
        f"(default {DEFAULTS['rows']:,})",
    )
    parser.add_argument(
        "--seconds",
        type=positive,
        help=f"length of each measurement (default {DEFAULTS['seconds']})",
    )
    parser.add_argument(
        "--rounds", type=positive, help=f"measurements per scenario (default {DEFAULTS['rounds']})"
    )
    parser.add_argument(
        "--warmup",
        type=_not_negative,
        help=f"seconds each scenario runs before the rounds, unmeasured (default "
        f"{DEFAULTS['warmup']})",
    )
    parser.add_argument("--connections", type=positive, default=8, help="default 8")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=measured,
        metavar="NAME",
        help=f"run only these (repeatable): {', '.join(measured)}; the baseline always runs",
    )
    parser.add_argument(
        "--group",
        action="append",
        choices=GROUPS,
        help=f"run the scenarios of these groups (repeatable): {DEFAULT} (the run's own, the "
        f"default), {LISTS_GROUP} (every list with every sort and its common filters, the "
        f"default with --scale); a smoke run runs both",
    )
    parser.add_argument(
        "--scale",
        metavar="N,N,...",
        help="run at each of these sizes (agreements seeded, each in a database of its own) "
        "and print each scenario's ratio at every size and the last over the first",
    )
    parser.add_argument(
        "--min-scale",
        action="append",
        default=[],
        metavar="[SCENARIO=]RATIO",
        help="with --scale: exit 1 when a scenario's ratio at the largest size over its ratio "
        "at the smallest is below RATIO (every scenario, or the one named; repeatable)",
    )
    parser.add_argument(
        "--min",
        action="append",
        default=[],
        metavar="SCENARIO=RATIO",
        help="exit 1 when the scenario's ratio to the baseline is below RATIO (repeatable)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few seconds in all: every scenario once, 1 s each, 1,000 rows, no floors",
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="the load generator: wrk when installed (auto), or the bench's own",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    return parser


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    defaults = SMOKE if arguments.smoke else DEFAULTS
    sizes: tuple[int, ...] = ()
    if arguments.scale is not None:
        try:
            sizes = scale.parse_sizes(arguments.scale)
        except ValueError as error:
            parser.error(str(error))
        if arguments.rows is not None:
            parser.error("--scale gives the sizes: no --rows with it")
    elif arguments.min_scale:
        parser.error("--min-scale needs --scale")
    if arguments.scenario:
        chosen = set(arguments.scenario)
    elif arguments.group:
        chosen = set(in_groups(arguments.group))
    elif arguments.smoke:
        chosen = set(NAMES)
    else:
        chosen = set(in_groups([LISTS_GROUP] if sizes else [DEFAULT]))
    scenarios = tuple(s for s in SCENARIOS if s.name in chosen or s is BASELINE)
    measured = [s.name for s in scenarios if s is not BASELINE]
    if arguments.smoke and (arguments.min or arguments.min_scale):
        parser.error("--smoke takes no floors (--min, --min-scale)")
    floors: dict[str, float] = {}
    for text in arguments.min:
        try:
            name, ratio = parse_floor(text, measured)
        except ValueError as error:
            parser.error(str(error))
        floors[name] = ratio
    every: float | None = None
    named: dict[str, float] = {}
    for text in arguments.min_scale:
        try:
            scenario, ratio = scale.parse_scale_floor(text, measured)
        except ValueError as error:
            parser.error(str(error))
        if scenario is None:
            every = ratio
        else:
            named[scenario] = ratio
    return Options(
        db=arguments.db,
        rows=sizes[0] if sizes else arguments.rows or defaults["rows"],
        seconds=arguments.seconds or defaults["seconds"],
        rounds=arguments.rounds or defaults["rounds"],
        warmup=defaults["warmup"] if arguments.warmup is None else arguments.warmup,
        connections=arguments.connections,
        scenarios=scenarios,
        floors=floors,
        smoke=arguments.smoke,
        generator=arguments.generator,
        json=arguments.json,
        sizes=sizes,
        scale_floors=scale.ScaleFloors(every, named),
    )


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Harness:
    """The running servers, the generator, and what the scenarios need."""

    options: Options
    generator: Generator
    service: Server
    baseline: Server
    credentials: tuple[str, str]
    fixtures: Fixtures
    workdir: Path
    measurements: list[Measurement] = field(default_factory=list)

    def server_of(self, scenario: Scenario) -> Server:
        return self.baseline if scenario.server == "baseline" else self.service

    def refresh_token(self, seconds: float) -> None:
        """A new token when the current one could expire before the measurement ends."""
        age = time.monotonic() - self.fixtures.token_issued_at
        if age + seconds + TOKEN_MARGIN_SECONDS < TOKEN_TTL_SECONDS:
            return
        with httpx.Client(base_url=self.service.base_url, timeout=30, limits=KEEP_ALIVE) as client:
            self.fixtures.token = fetch_token(client, *self.credentials)
        self.fixtures.token_issued_at = time.monotonic()

    def preflight(self) -> list[str]:
        """Each scenario's first requests and its last, sent once: the status they must get."""
        problems = []
        for scenario in self.options.scenarios:
            requests = list(scenario.requests(self.fixtures))
            server = self.server_of(scenario)
            with httpx.Client(base_url=server.base_url, timeout=30, limits=KEEP_ALIVE) as client:
                for request in [*requests[:3], requests[-1]]:
                    response = client.request(
                        request.method, request.path, headers=dict(request.headers)
                    )
                    if response.status_code != scenario.expect:
                        problems.append(
                            f"{scenario.name}: {request.method} {request.path} answered "
                            f"{response.status_code}, not {scenario.expect}: "
                            f"{response.text[:300]}"
                        )
                        break
        return problems

    def measure(self, scenario: Scenario, seconds: int, round_index: int) -> Measurement:
        self.refresh_token(seconds)
        server = self.server_of(scenario)
        requests_file = write_requests(scenario.requests(self.fixtures), self.workdir)
        try:
            server_before = server.cpu_seconds()
            machine_before = machine_busy_seconds()
            run = self.generator.run(
                server.base_url, requests_file, self.options.connections, seconds
            )
            server_after = server.cpu_seconds()
            machine_after = machine_busy_seconds()
        finally:
            requests_file.unlink(missing_ok=True)
        server.check_alive()
        span = run.seconds or float(seconds)

        def per_second(before: float | None, after: float | None) -> float | None:
            return None if before is None or after is None else (after - before) / span

        return Measurement(
            scenario=scenario.name,
            round=round_index,
            requests=run.requests,
            seconds=run.seconds,
            p50_ms=run.p50_ms,
            p99_ms=run.p99_ms,
            errors=run.errors,
            server_cpu=per_second(server_before, server_after),
            generator_cpu=run.cpu_seconds / span,
            machine_cpu=per_second(machine_before, machine_after),
        )

    def run(self) -> None:
        options = self.options
        names = [scenario.name for scenario in options.scenarios]
        by_name = {scenario.name: scenario for scenario in options.scenarios}
        if options.warmup:
            say(f"warm-up: {options.warmup} s before each measurement")
        for name, round_index in schedule(names, options.rounds, warm_up=bool(options.warmup)):
            if round_index == WARM_UP:
                self.measure(by_name[name], options.warmup, WARM_UP)
                continue
            measurement = self.measure(by_name[name], options.seconds, round_index)
            self.measurements.append(measurement)
            errors = f", {measurement.error_count} errors" if measurement.error_count else ""
            say(
                f"round {round_index + 1}/{options.rounds}  {name:<30} "
                f"{measurement.rate:>9,.0f} req/s{errors}"
            )


def settings_of(options: Options, generator: Generator) -> dict[str, Any]:
    return {
        "db": options.db,
        "rows": options.rows,
        "seconds": options.seconds,
        "rounds": options.rounds,
        "warmup": options.warmup,
        "connections": options.connections,
        "generator": generator.name,
        "smoke": options.smoke,
        "floors": options.floors,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class Outcome:
    """A run at one size: its exit status, its figures (None: it stopped before measuring),
    whether its ratios stand, the seconds its data took to seed, and its JSON document."""

    status: int
    summaries: list[Summary] | None
    refused: bool
    seed_seconds: float
    document: dict[str, Any] | None = None


def conclude(harness: Harness, seed_seconds: float) -> Outcome:
    """Print the table and the verdict: the run's outcome."""
    options = harness.options
    summaries = summarize(harness.measurements, BASELINE.name)
    titles = {scenario.name: scenario.title for scenario in options.scenarios}
    reasons = bottleneck(summaries, BASELINE.name, harness.generator.cores)
    refused = bool(reasons) and not options.smoke
    failures = [] if refused else floor_failures(summaries, options.floors)
    errors = [s.scenario for s in summaries if s.error_count]
    baseline = next(s for s in summaries if s.scenario == BASELINE.name)

    print(
        f"\n{options.db}, {Sizes(options.rows).describe()}, {options.connections} connections, "
        f"{options.rounds} round(s) of {options.seconds} s, load from {harness.generator.name}, "
        f"{os.cpu_count()} CPUs; medians over rounds; ratio = req/s / baseline's "
        f"({baseline.rate:,.0f} req/s)\n"
    )
    print(report.table(summaries, titles, ratios=not refused, floors=options.floors))
    status = EXIT_OK
    if reasons:
        because = "; ".join(reasons)
        if refused:
            print(f"\nREFUSED: the load generator, not the server, limited the rate: {because}.")
            print("No ratio is reported: free the machine, or use another generator.")
            status = EXIT_REFUSED
        else:
            print(f"\nnote: {because} (a smoke run reports anyway)")
    if errors and status == EXIT_OK:
        print(f"\nERRORS in {', '.join(errors)}: those figures do not measure the scenario.")
        status = EXIT_ERRORS
    if failures and status == EXIT_OK:
        print("\nBELOW FLOOR: " + "; ".join(failures))
        status = EXIT_BELOW_FLOOR
    document = report.json_document(
        settings={**settings_of(options, harness.generator), "seed_seconds": seed_seconds},
        summaries=summaries,
        measurements=harness.measurements,
        titles=titles,
        bottleneck=reasons,
        refused=refused,
        floor_failures=failures,
        exit_status=status,
    )
    return Outcome(status, summaries, refused, seed_seconds, document)


def run_at(options: Options, generator: Generator, postgres_url: str) -> Outcome:
    """Seed a database of its own with `options.rows`, measure the scenarios, drop it."""
    workdir = Path(tempfile.mkdtemp(prefix="ippc-bench-"))
    try:
        with bench_database(options.db, postgres_url, workdir) as url, ExitStack() as servers:
            started = time.perf_counter()
            seeded = asyncio.run(seed(url, options.rows))
            asyncio.run(settle(options.db, postgres_url, url))
            seed_seconds = time.perf_counter() - started
            size = asyncio.run(database_bytes(options.db, postgres_url, url))
            say(
                f"seeded {seeded.sizes.describe()} in {seed_seconds:.1f} s ({seeded.seconds:.1f} "
                f"s, of which {seeded.rebuild_seconds:.1f} s making indexes again, then "
                f"{seed_seconds - seeded.seconds:.1f} s settling); the database takes "
                f"{size / 2**20:,.0f} MiB"
            )
            service = start_service(
                url, workdir, token_ttl=TOKEN_TTL_SECONDS, connections=options.connections
            )
            servers.callback(service.stop)
            baseline = start_baseline(workdir)
            servers.callback(baseline.stop)
            names = [scenario.name for scenario in options.scenarios]
            started = time.perf_counter()
            with httpx.Client(base_url=service.base_url, timeout=30, limits=KEEP_ALIVE) as client:
                token = fetch_token(client, *seeded.credentials)
                fixtures = prepare(client, token, url, names)
            say(f"drew the lists' positions in {time.perf_counter() - started:.1f} s")
            harness = Harness(
                options, generator, service, baseline, seeded.credentials, fixtures, workdir
            )
            problems = harness.preflight()
            if problems:
                print("ERRORS before measuring:\n" + "\n".join(problems))
                return Outcome(EXIT_ERRORS, None, False, seed_seconds)
            say(
                f"measuring {len(options.scenarios)} scenarios x {options.rounds} rounds x "
                f"{options.seconds} s with {generator.name}, {options.connections} connections"
            )
            harness.run()
            return conclude(harness, seed_seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(options: Options) -> int:
    generator = choose(options.generator)
    postgres_url = os.environ.get("IPPC_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    if not options.sizes:
        outcome = run_at(options, generator, postgres_url)
        if options.json is not None and outcome.document is not None:
            report.write_document(options.json, outcome.document)
        return outcome.status
    outcomes: list[Outcome] = []
    for size in options.sizes:
        say(f"== {options.db} at {Sizes(size).describe()}")
        outcomes.append(run_at(replace(options, rows=size), generator, postgres_url))
    return conclude_scale(options, outcomes)


def conclude_scale(options: Options, outcomes: Sequence[Outcome]) -> int:
    """Print the scale table and its verdict; write the JSON; the exit status."""
    rows = scale.scale_rows(
        [outcome.summaries for outcome in outcomes],
        options.scale_floors,
        BASELINE.name,
        ratios=[not outcome.refused for outcome in outcomes],
    )
    sizes = options.sizes[: len(outcomes)]
    print(
        f"\n{options.db}: each scenario's ratio to the baseline at each size (agreements "
        f"seeded), and the ratio at the largest over the ratio at the smallest\n"
    )
    seeded = [(size, outcome.seed_seconds) for size, outcome in zip(sizes, outcomes, strict=True)]
    print(scale.table(options.sizes, rows, seeded))
    statuses = {outcome.status for outcome in outcomes}
    failures = scale.failures(rows)
    status = EXIT_OK
    for worst in (EXIT_REFUSED, EXIT_ERRORS, EXIT_BELOW_FLOOR):
        if worst in statuses:
            status = worst
            break
    if failures and status == EXIT_OK:
        print("\nBELOW SCALE FLOOR: " + "; ".join(failures))
        status = EXIT_BELOW_FLOOR
    if options.json is not None:
        report.write_document(
            options.json,
            {
                "sizes": [
                    {"agreements": size, "seed_seconds": o.seed_seconds, "run": o.document}
                    for size, o in zip(sizes, outcomes, strict=True)
                ],
                "scale": [
                    {
                        "scenario": row.scenario,
                        "ratios": list(row.ratios),
                        "scale": row.scale,
                        "floor": row.floor,
                        "failure": row.failure,
                    }
                    for row in rows
                ],
                "scale_failures": failures,
                "exit_status": status,
            },
        )
    return status


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    try:
        return run(options)
    except (ServerFailed, GeneratorFailed, DatabaseUnavailable) as error:
        print(f"bench: {error}", file=sys.stderr)
        return EXIT_ERRORS
