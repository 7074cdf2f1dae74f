"""The bench's own logic, with no server: percentiles, medians and ratios, the order of rounds,
the floors of `--min`, the two verdicts, the requests file, and the parsing of what the load
generators print and receive."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from app import cli
from app.core.kept import MAX_KEPT_ANSWERS
from bench import hello, positions
from bench.cli import parse_options
from bench.generators import GeneratorFailed, parse_wrk_output, write_requests
from bench.loadgen import read_requests, read_response
from bench.scenarios import (
    DEFAULT,
    LISTS,
    LISTS_GROUP,
    NAMES,
    SCENARIOS,
    Fixtures,
    Request,
    by_name,
    in_groups,
)
from bench.stats import (
    GENERATOR_BUSY,
    SERVER_BUSY,
    WARM_UP,
    Measurement,
    bottleneck,
    floor_failures,
    parse_floor,
    percentile,
    rotation,
    schedule,
    summarize,
)
from tests.conftest import make_settings

# --- percentiles, medians, ratios ---------------------------------------------------------------


def test_percentile_is_the_nearest_rank_of_unsorted_values() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 100 .. 1, unsorted
    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile(values, 0.0) == 1
    assert percentile([7.0], 0.99) == 7
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2  # the rank is rounded up, never averaged


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_percentile_refuses_fractions_outside_zero_one(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], fraction)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def measurement(scenario: str, round_: int, rate: float, **extra: Any) -> Measurement:
    values: dict[str, Any] = {"p50_ms": rate / 1000, "p99_ms": rate / 100, **extra}
    return Measurement(
        scenario=scenario, round=round_, requests=int(rate * 10), seconds=10, **values
    )


def test_summaries_take_the_median_of_rounds_and_the_ratio_of_medians() -> None:
    runs = [
        measurement("baseline", 0, 10_000),
        measurement("baseline", 1, 12_000),
        measurement("baseline", 2, 30_000),  # an outlier the median ignores
        measurement("healthz", 0, 3_000, errors={"read": 1}),
        measurement("healthz", 1, 100, errors={"read": 2, "status 500": 0}),
        measurement("healthz", 2, 4_000),
    ]
    baseline, healthz = summarize(runs, "baseline")
    assert (baseline.scenario, baseline.rounds, baseline.rate) == ("baseline", 3, 12_000)
    assert baseline.ratio == 1
    assert healthz.rate == 3_000
    assert healthz.ratio == pytest.approx(0.25)
    assert healthz.p50_ms == pytest.approx(3.0)
    assert healthz.p99_ms == pytest.approx(30.0)
    assert dict(healthz.errors) == {"read": 3}  # added up over rounds; zero counts left out
    assert healthz.error_count == 3


def test_summaries_need_the_baseline() -> None:
    with pytest.raises(ValueError, match="baseline"):
        summarize([measurement("healthz", 0, 1_000)], "baseline")


def test_cpu_figures_are_medians_of_the_rounds_that_have_them() -> None:
    runs = [
        measurement("baseline", 0, 1_000, server_cpu=0.9, generator_cpu=None),
        measurement("baseline", 1, 1_000, server_cpu=0.95, generator_cpu=None),
        measurement("baseline", 2, 1_000, server_cpu=0.5, generator_cpu=None),
    ]
    (summary,) = summarize(runs, "baseline")
    assert summary.server_cpu == pytest.approx(0.9)
    assert summary.generator_cpu is None


# --- rotation ------------------------------------------------------------------------------------


def test_rotation_puts_each_scenario_once_in_every_position() -> None:
    names = ["baseline", "a", "b", "c"]
    orders = [rotation(names, index) for index in range(len(names))]
    assert orders[0] == names
    assert orders[1] == ["a", "b", "c", "baseline"]
    for position in range(len(names)):
        assert sorted(order[position] for order in orders) == sorted(names)
    for order in orders:
        assert sorted(order) == sorted(names)
    assert rotation(names, len(names)) == names  # round after round
    assert rotation([], 3) == []


def test_each_measurement_follows_a_warm_up_of_its_own() -> None:
    names = ["baseline", "a", "b"]
    order = schedule(names, 2, warm_up=True)
    measured = [(name, index) for name, index in order if index != WARM_UP]
    assert measured == [(name, 0) for name in names] + [(name, 1) for name in rotation(names, 1)]
    for place, (name, index) in enumerate(order):
        if index != WARM_UP:
            assert order[place - 1] == (name, WARM_UP)  # right before it, not rounds before
    assert len(order) == 2 * len(measured)
    assert schedule(names, 2, warm_up=False) == measured


# --- floors --------------------------------------------------------------------------------------


def test_a_floor_is_a_known_scenario_and_a_positive_ratio() -> None:
    assert parse_floor("healthz=0.6", ["healthz"]) == ("healthz", 0.6)
    assert parse_floor(" healthz =1", ["healthz"]) == ("healthz", 1.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("healthz", "scenario=ratio"),
        ("=0.5", "scenario=ratio"),
        ("nothing=0.5", "unknown scenario"),
        ("healthz=fast", "needs a number"),
        ("healthz=0", "positive"),
        ("healthz=-1", "positive"),
        ("healthz=nan", "positive"),
        ("healthz=inf", "positive"),
    ],
)
def test_malformed_floors_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_floor(text, ["healthz"])


def test_floors_fail_below_them_and_on_errors() -> None:
    runs = [
        measurement("baseline", 0, 10_000),
        measurement("healthz", 0, 5_000),
        measurement("objectives", 0, 1_000),
        measurement("organization-read", 0, 9_000, errors={"status >= 400": 4}),
    ]
    summaries = summarize(runs, "baseline")
    assert floor_failures(summaries, {"healthz": 0.5}) == []
    (below,) = floor_failures(summaries, {"objectives": 0.5})
    assert below.startswith("objectives: 0.100")
    (errors,) = floor_failures(summaries, {"organization-read": 0.1})
    assert "4 errors" in errors
    (missing,) = floor_failures(summaries, {"organizations-list": 0.1})
    assert "not measured" in missing


def test_the_command_line_checks_floors_against_the_scenarios_chosen() -> None:
    options = parse_options(["--min", "healthz=0.6", "--scenario", "healthz"])
    assert options.floors == {"healthz": 0.6}
    assert [s.name for s in options.scenarios] == ["baseline", "healthz"]
    with pytest.raises(SystemExit) as exit_:
        parse_options(["--min", "objectives=0.5", "--scenario", "healthz"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        parse_options(["--min", "baseline=1"])  # the baseline is 1 by definition
    with pytest.raises(SystemExit):
        parse_options(["--smoke", "--min", "healthz=0.6"])  # a smoke run has no floors


def test_a_smoke_run_is_short_unless_told_otherwise() -> None:
    smoke = parse_options(["--smoke"])
    assert (smoke.rows, smoke.seconds, smoke.rounds, smoke.warmup) == (1000, 1, 1, 0)
    assert [s.name for s in smoke.scenarios] == list(NAMES)  # every scenario of every group
    assert parse_options(["--smoke", "--rows", "50"]).rows == 50
    real = parse_options([])
    assert (real.rows, real.seconds, real.rounds, real.connections) == (10_000, 10, 3, 8)
    assert [s.name for s in real.scenarios] == in_groups([DEFAULT])  # the run's own only


def test_groups_and_scenarios_choose_what_runs() -> None:
    lists = parse_options(["--group", "lists"])
    assert [s.name for s in lists.scenarios] == in_groups([LISTS_GROUP])
    both = parse_options(["--group", "lists", "--group", "default"])
    assert [s.name for s in both.scenarios] == list(NAMES)
    one = parse_options(["--scenario", "agreements-q"])  # any group's scenario, by name
    assert [s.name for s in one.scenarios] == ["baseline", "agreements-q"]
    with pytest.raises(SystemExit):
        parse_options(["--group", "nothing"])


def test_a_scale_run_takes_its_sizes_and_floors() -> None:
    options = parse_options(
        ["--scale", "10000,1_000_000", "--min-scale", "0.8", "--min-scale", "agreements-q=0.5"]
    )
    assert options.sizes == (10_000, 1_000_000)
    assert options.rows == 10_000
    assert [s.name for s in options.scenarios] == in_groups([LISTS_GROUP])  # every list
    assert options.scale_floors.of("organizations-list") == 0.8
    assert options.scale_floors.of("agreements-q") == 0.5
    chosen = parse_options(["--scale", "100,200", "--scenario", "healthz"])
    assert [s.name for s in chosen.scenarios] == ["baseline", "healthz"]
    assert not chosen.scale_floors
    for argv in (
        ["--scale", "10000"],  # one size is no scale
        ["--scale", "1000,100"],  # sizes rise
        ["--scale", "100,100"],
        ["--scale", "0,100"],
        ["--scale", "10k,1M"],
        ["--scale", "100,200", "--rows", "5"],  # the sizes are the rows
        ["--min-scale", "0.8"],  # no floor without --scale
        ["--scale", "100,200", "--min-scale", "0"],
        ["--scale", "100,200", "--min-scale", "fast"],
        ["--scale", "100,200", "--min-scale", "healthz=0.5"],  # not in the lists group
        ["--scale", "100,200", "--min-scale", "=0.5"],
        ["--smoke", "--scale", "100,200", "--min-scale", "0.5"],  # a smoke run has no floors
    ):
        with pytest.raises(SystemExit) as exit_:
            parse_options(argv)
        assert exit_.value.code == 2, argv


# --- the generator-bottleneck verdict ------------------------------------------------------------


def test_a_baseline_server_not_kept_busy_means_the_generator_limits() -> None:
    idle = summarize(
        [measurement("baseline", 0, 10_000, server_cpu=SERVER_BUSY - 0.05, generator_cpu=0.3)],
        "baseline",
    )
    (reason,) = bottleneck(idle, "baseline", generator_cores=1.0)
    assert "not kept busy" in reason
    busy = summarize(
        [measurement("baseline", 0, 10_000, server_cpu=0.98, generator_cpu=0.3)], "baseline"
    )
    assert bottleneck(busy, "baseline", generator_cores=1.0) == []


def test_a_generator_near_its_cores_limits_in_any_scenario() -> None:
    summaries = summarize(
        [
            measurement("baseline", 0, 10_000, server_cpu=0.99, generator_cpu=0.4),
            measurement("healthz", 0, 3_000, server_cpu=0.5, generator_cpu=GENERATOR_BUSY),
        ],
        "baseline",
    )
    (reason,) = bottleneck(summaries, "baseline", generator_cores=1.0)
    assert "healthz" in reason
    # The same CPU is only half of what a generator with two cores may use.
    assert bottleneck(summaries, "baseline", generator_cores=2.0) == []


def test_without_cpu_readings_nothing_is_concluded_from_them() -> None:
    summaries = summarize([measurement("baseline", 0, 10_000)], "baseline")
    assert bottleneck(summaries, "baseline", generator_cores=1.0) == []


# --- scenarios, the requests file, the generators' output ---------------------------------------


def fixtures() -> Fixtures:
    return Fixtures(
        token="t0k3n",
        pages={
            pages.name: [f"{pages.path}?limit=50", f"{pages.path}?limit=50&cursor=c-{pages.name}"]
            for pages in LISTS
        },
        organization_ids=["id-1", "id-2", "id-3"],
        objectives_etag='"abc"',
        decision_ids=["d-1", "d-2"],
        public_ids=["p-1"],
        public_etag='"def"',
    )


def test_every_scenario_has_requests_and_a_unique_name() -> None:
    assert len(set(NAMES)) == len(NAMES)
    for scenario in SCENARIOS:
        assert scenario.requests(fixtures()), scenario.name
    assert by_name("objectives-304").expect == 304
    (conditional,) = by_name("objectives-304").requests(fixtures())
    assert conditional.headers == (("If-None-Match", '"abc"'),)
    pages = by_name("organizations-list").requests(fixtures())
    assert [r.path for r in pages] == fixtures().pages["organizations-list"]
    reads = by_name("organization-read").requests(fixtures())
    assert [r.path for r in reads] == [f"/v1/organizations/id-{n}" for n in (1, 2, 3)]
    lists = [
        *by_name("interactions-list").requests(fixtures()),
        *by_name("agreements-q").requests(fixtures()),
    ]
    assert [r.path for r in lists] == [
        *fixtures().pages["interactions-list"],
        *fixtures().pages["agreements-q"],
    ]
    bearer = (("Authorization", "Bearer t0k3n"),)
    assert all(r.headers == bearer for r in [*pages, *reads, *lists])


def test_the_default_group_is_the_runs_own_and_the_lists_group_every_list() -> None:
    default = in_groups([DEFAULT])
    assert default == [
        "baseline",
        "healthz",
        "objectives",
        "objectives-304",
        "organizations-list",
        "interactions-list",
        "agreements-list",
        "decisions-list",
        "organization-read",
        "decision-read",
        "public-list",
        "public-list-repeated",
        "public-list-304",
        "public-read",
        "public-csv",
    ]
    lists = in_groups([LISTS_GROUP])
    assert lists == ["baseline", *(pages.name for pages in LISTS)]
    assert set(default) & set(lists) == {
        "baseline",
        "organizations-list",
        "interactions-list",
        "agreements-list",
        "decisions-list",
        "public-list",
    }


def test_the_list_scenarios_cover_every_sort_of_every_list() -> None:
    routes = positions.routes()
    assert {pages.path for pages in LISTS} == set(routes)
    for path, route in routes.items():
        sorted_by = set()
        for pages in LISTS:
            if pages.path == path:
                query = dict(parse_qsl(pages.query))
                sorted_by.add(query.get("sort", route.spec.sorts.default).removeprefix("-"))
        assert sorted_by == {token.removeprefix("-") for token in route.spec.sorts.tokens}, path
    for name in ("organizations-q", "interactions-q", "agreements-q", "public-list-q"):
        assert "q=" in next(pages.query for pages in LISTS if pages.name == name)


async def test_every_list_scenarios_query_is_one_its_route_accepts() -> None:
    routes = positions.routes()
    for pages in LISTS:
        filters, sort = await routes[pages.path].query(pages.query)
        routes[pages.path].spec.ordering(sort)
        given = {name for name, _ in parse_qsl(pages.query)} - {"sort"}
        assert given <= set(filters.model_fields_set), pages.name


def test_the_public_scenarios_are_anonymous_and_the_uncached_ones_never_repeat() -> None:
    for name in ("public-list", "public-list-q", "public-interactions-list"):
        uncached = by_name(name).requests(fixtures())
        assert len({r.path for r in uncached}) == len(uncached) > MAX_KEPT_ANSWERS
        assert {r.path.split("&bench-nonce=")[0] for r in uncached} == set(fixtures().pages[name])
        assert all(r.headers == () for r in uncached)
    (repeated,) = by_name("public-list-repeated").requests(fixtures())
    assert repeated.path == fixtures().pages["public-list"][0]
    (conditional,) = by_name("public-list-304").requests(fixtures())
    assert conditional.headers == (("If-None-Match", '"def"'),)
    assert by_name("public-list-304").expect == 304
    reads = by_name("public-read").requests(fixtures())
    assert [r.path for r in reads] == ["/v1/public/agreements/p-1"]
    public = [repeated, *reads, *by_name("public-csv").requests(fixtures())]
    assert all(r.headers == () for r in public)


def test_the_requests_file_renders_to_the_bytes_sent(tmp_path: Path) -> None:
    path = write_requests(
        [Request("GET", "/a"), Request("GET", "/b?x=1", (("If-None-Match", '"t"'),))], tmp_path
    )
    assert path.read_text() == 'GET\t/a\nGET\t/b?x=1\tIf-None-Match: "t"\n'
    assert read_requests(path, "127.0.0.1:9") == [
        b"GET /a HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n",
        b'GET /b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nIf-None-Match: "t"\r\n\r\n',
    ]


@pytest.mark.parametrize(
    "request_",
    [
        Request("GET", "/", (("X-Value", "a\tb"),)),
        Request("GET", "/", (("X-Value", "a\r\nX-Injected: 1"),)),
        Request("GET", "/a b\n"),
        Request("GET", ""),
    ],
)
def test_the_requests_file_refuses_what_it_cannot_hold(tmp_path: Path, request_: Request) -> None:
    with pytest.raises(ValueError, match="empty, or holds a tab or a line break"):
        write_requests([request_], tmp_path)


def test_wrk_figures_are_read_from_the_scripts_line() -> None:
    result = {
        "requests": 1200,
        "duration_us": 2_000_000,
        "p50_us": 650.0,
        "p99_us": 4100.5,
        "errors": {"connect": 0, "read": 1, "write": 0, "status": 3, "timeout": 0},
    }
    text = "Running 2s test @ http://127.0.0.1:1\n...\nBENCH-RESULT " + json.dumps(result)
    run = parse_wrk_output(text, cpu_seconds=0.5)
    assert (run.requests, run.seconds, run.cpu_seconds) == (1200, 2.0, 0.5)
    assert (run.p50_ms, run.p99_ms) == pytest.approx((0.65, 4.1005))
    assert run.errors == {"read": 1, "status >= 400": 3}
    with pytest.raises(GeneratorFailed, match="no result"):
        parse_wrk_output("unable to connect to 127.0.0.1:1", cpu_seconds=0)


async def responses(data: bytes, count: int) -> list[tuple[int, bool]]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    read = [await read_response(reader) for _ in range(count)]
    assert reader.at_eof() or await reader.read() == b""  # every byte was consumed
    return read


async def test_the_python_generator_reads_responses_of_every_framing() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n\r\nhello"
        b'HTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\n'
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    assert await responses(data, 4) == [(200, True), (304, True), (200, True), (503, False)]


async def test_the_python_generator_refuses_a_body_it_cannot_delimit() -> None:
    with pytest.raises(ValueError, match="without a length"):
        await responses(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nabc", 1)


# --- the baseline is served as the service is ----------------------------------------------------


def test_the_baseline_runs_under_the_same_server_options_as_ippc_serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    settings = make_settings(f"sqlite:///{tmp_path / 'unused.db'}")
    assert (
        cli.main(["serve", "--workers", "1", "--port", "8123", "--no-migrate"], settings=settings)
        == 0
    )
    ((args, options),) = calls
    assert args == ("app.main:create_served_app",)
    assert options == hello.server_options("127.0.0.1", 8123)
