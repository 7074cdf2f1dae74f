"""The harness's arithmetic, with no server and no I/O: percentiles, the order of each round,
the floors given with `--min`, the medians over rounds, and the two verdicts (is the load
generator the bottleneck; is a scenario below its floor)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

# A server is saturated when it kept at least this share of one core busy while the baseline was
# driven: the bare app runs on one thread, so below this the server waited for requests.
SERVER_BUSY = 0.85
# A load generator limits the rate when it used at least this share of the cores it may use.
GENERATOR_BUSY = 0.90


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (`fraction` in [0, 1]): the smallest value with at
    least that share of the values at or below it. The values need not be sorted."""
    if not values:
        raise ValueError("no values")
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be within [0, 1]")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def rotation(names: Sequence[str], round_index: int) -> list[str]:
    """The order of the scenarios in a round: each round starts one further along, so that over
    as many rounds as there are scenarios each runs once in every position (a scenario is never
    always first, after a warm server, or always after the same neighbour)."""
    if not names:
        return []
    shift = round_index % len(names)
    return [*names[shift:], *names[:shift]]


# The round of a warm-up in a `schedule`: run, not measured.
WARM_UP = -1


def schedule(names: Sequence[str], rounds: int, *, warm_up: bool) -> list[tuple[str, int]]:
    """What a run runs, in order: (scenario, round) for each round's scenarios in `rotation`,
    each measurement right after a warm-up of its own (round `WARM_UP`) when there is one.

    A warm-up just before each measurement, not all of them before the first round: what a
    scenario reads must be in the database's memory when it is measured, and at a million rows
    what one scenario reads is not what the forty before it left there. The machines here also
    page out file cache that was not touched for a minute, so that a warm-up minutes earlier
    left nothing warm by the time of the measurement (docs/performance.md, "Scale")."""
    order: list[tuple[str, int]] = []
    for round_index in range(rounds):
        for name in rotation(names, round_index):
            if warm_up:
                order.append((name, WARM_UP))
            order.append((name, round_index))
    return order


def parse_floor(text: str, known: Collection[str]) -> tuple[str, float]:
    """`scenario=ratio` (`--min`): a scenario of `known` and a positive ratio to the baseline."""
    name, separator, value = text.partition("=")
    name = name.strip()
    if not separator or not name:
        raise ValueError(f"--min takes scenario=ratio, not {text!r}")
    if name not in known:
        raise ValueError(f"--min names an unknown scenario {name!r} (known: {', '.join(known)})")
    try:
        ratio = float(value)
    except ValueError:
        raise ValueError(f"--min {name}= needs a number, not {value!r}") from None
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"--min {name}= needs a positive ratio, not {value!r}")
    return name, ratio


@dataclass(frozen=True)
class Measurement:
    """One scenario driven once for a fixed time."""

    scenario: str
    round: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: Mapping[str, int] = field(default_factory=dict)
    # Cores used during the measurement: by the server driven, by the load generator, and by
    # the whole machine (the database and anything else included). None where not measurable.
    server_cpu: float | None = None
    generator_cpu: float | None = None
    machine_cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class Summary:
    """A scenario over all rounds: the median of each figure, and its rate to the baseline's."""

    scenario: str
    rounds: int
    rate: float
    p50_ms: float
    p99_ms: float
    ratio: float
    errors: Mapping[str, int]
    server_cpu: float | None
    generator_cpu: float | None
    machine_cpu: float | None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def _median(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def summarize(measurements: Sequence[Measurement], baseline: str) -> list[Summary]:
    """Per scenario, in the order of first appearance: the medians over rounds, the errors of
    every round added up, and the ratio of its median rate to the baseline's median rate."""
    by_scenario: dict[str, list[Measurement]] = {}
    for measurement in measurements:
        by_scenario.setdefault(measurement.scenario, []).append(measurement)
    if baseline not in by_scenario:
        raise ValueError(f"no measurement of the baseline {baseline!r}")
    baseline_rate = statistics.median(m.rate for m in by_scenario[baseline])
    summaries = []
    for name, runs in by_scenario.items():
        errors: dict[str, int] = {}
        for run in runs:
            for kind, count in run.errors.items():
                errors[kind] = errors.get(kind, 0) + count
        rate = statistics.median(run.rate for run in runs)
        summaries.append(
            Summary(
                scenario=name,
                rounds=len(runs),
                rate=rate,
                p50_ms=statistics.median(run.p50_ms for run in runs),
                p99_ms=statistics.median(run.p99_ms for run in runs),
                ratio=rate / baseline_rate if baseline_rate > 0 else 0.0,
                errors={kind: count for kind, count in errors.items() if count},
                server_cpu=_median([run.server_cpu for run in runs]),
                generator_cpu=_median([run.generator_cpu for run in runs]),
                machine_cpu=_median([run.machine_cpu for run in runs]),
            )
        )
    return summaries


def bottleneck(summaries: Sequence[Summary], baseline: str, generator_cores: float) -> list[str]:
    """Why the figures say more about the load generator than about the server, if they do.

    Two signs, read from CPU time: the baseline's server did not keep one core busy (it waited
    for requests: whatever sends them is the limit), or the load generator used nearly all the
    cores it may use in some scenario. An empty list: the servers were the bottleneck."""
    reasons = []
    for summary in summaries:
        server_cpu = summary.server_cpu
        if summary.scenario == baseline and server_cpu is not None and server_cpu < SERVER_BUSY:
            reasons.append(
                f"the baseline's server used {server_cpu:.0%} of a core "
                f"(saturated needs {SERVER_BUSY:.0%}): it was not kept busy"
            )
        if summary.generator_cpu is not None and generator_cores > 0:
            share = summary.generator_cpu / generator_cores
            if share >= GENERATOR_BUSY:
                reasons.append(
                    f"the load generator used {share:.0%} of its CPU in {summary.scenario} "
                    f"(the limit is {GENERATOR_BUSY:.0%})"
                )
    return reasons


def floor_failures(summaries: Sequence[Summary], floors: Mapping[str, float]) -> list[str]:
    """The floors (`--min`) not met, each as a sentence; a scenario with errors meets none."""
    by_name = {summary.scenario: summary for summary in summaries}
    failures = []
    for name, floor in floors.items():
        summary = by_name.get(name)
        if summary is None:
            failures.append(f"{name}: not measured (floor {floor:g})")
        elif summary.error_count:
            failures.append(f"{name}: {summary.error_count} errors (floor {floor:g})")
        elif summary.ratio < floor:
            failures.append(f"{name}: {summary.ratio:.3f} of the baseline, below {floor:g}")
    return failures
