"""The bench's output: a table for people, and a JSON document for programs (`--json`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.stats import Measurement, Summary


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def table(
    summaries: Sequence[Summary],
    titles: Mapping[str, str],
    *,
    ratios: bool,
    floors: Mapping[str, float],
) -> str:
    """Per scenario: the median requests/s, p50 and p99 (ms), the ratio to the baseline, the
    floor if one was given, the CPU used (in cores: 100% is one) by the server driven, by the
    load generator and by the whole machine, and the errors."""
    width = max([20, *(len(summary.scenario) for summary in summaries)])
    header = (
        f"{'scenario':<{width}} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} {'floor':>6} "
        f"{'server':>7} {'load':>5} {'machine':>8} {'errors':>7}"
    )
    lines = [header, "-" * len(header)]
    for summary in summaries:
        floor = floors.get(summary.scenario)
        ratio = f"{summary.ratio:.3f}" if ratios else "-"
        flag = ""
        if summary.error_count:
            flag = "  ERRORS: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.errors.items()))
        elif ratios and floor is not None and summary.ratio < floor:
            flag = "  BELOW FLOOR"
        lines.append(
            f"{summary.scenario:<{width}} {summary.rate:>9,.0f} {summary.p50_ms:>8.2f} "
            f"{summary.p99_ms:>8.2f} {ratio:>7} {'' if floor is None else f'{floor:g}':>6} "
            f"{_cpu(summary.server_cpu):>7} {_cpu(summary.generator_cpu):>5} "
            f"{_cpu(summary.machine_cpu):>8} "
            f"{summary.error_count:>7}{flag}"
        )
    lines.append(
        "CPU in cores (100% = one core): the server driven, the load generator, the machine."
    )
    lines.append("")
    lines.extend(f"{name:<{width}} {titles[name]}" for name in (s.scenario for s in summaries))
    return "\n".join(lines)


def json_document(
    *,
    settings: Mapping[str, Any],
    summaries: Sequence[Summary],
    measurements: Sequence[Measurement],
    titles: Mapping[str, str],
    bottleneck: Sequence[str],
    refused: bool,
    floor_failures: Sequence[str],
    exit_status: int,
) -> dict[str, Any]:
    scenarios = []
    for summary in summaries:
        entry: dict[str, Any] = {"title": titles[summary.scenario], **asdict(summary)}
        entry["errors"] = dict(summary.errors)
        if refused:
            entry["ratio"] = None
        entry["runs"] = [
            {**asdict(m), "errors": dict(m.errors), "rate": m.rate}
            for m in measurements
            if m.scenario == summary.scenario
        ]
        scenarios.append(entry)
    return {
        "settings": dict(settings),
        # Why the generator may have limited the rate; `refused`: no ratio was reported for it.
        "bottleneck": list(bottleneck),
        "refused": refused,
        "floor_failures": list(floor_failures),
        "exit_status": exit_status,
        "scenarios": scenarios,
    }


def write_document(path: Path, document: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
