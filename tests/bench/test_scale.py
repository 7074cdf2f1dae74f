"""The scale table's arithmetic and verdict, with no server: the ratio of each scenario at each
size, its scale (the last over the first), the floors of `--min-scale`, and the table."""

from __future__ import annotations

from typing import Any

import pytest

from bench.scale import (
    ScaleFloors,
    failures,
    parse_scale_floor,
    parse_sizes,
    scale_rows,
    table,
)
from bench.stats import Measurement, Summary, summarize


def run(rates: dict[str, float], **errors: Any) -> list[Summary]:
    """One size's summaries: the baseline's rate and each scenario's."""
    return summarize(
        [
            Measurement(
                scenario=name,
                round=0,
                requests=int(rate * 10),
                seconds=10,
                p50_ms=1,
                p99_ms=2,
                errors=errors.get(name.replace("-", "_"), {}),
            )
            for name, rate in rates.items()
        ],
        "baseline",
    )


def test_the_scale_is_the_ratio_at_the_largest_size_over_the_ratio_at_the_smallest() -> None:
    small = run({"baseline": 10_000, "list": 1_000, "search": 800})
    large = run({"baseline": 5_000, "list": 450, "search": 200})  # a slower machine that day
    rows = scale_rows([small, large], ScaleFloors(0.8, {"search": 0.5}), "baseline")
    by_name = {row.scenario: row for row in rows}
    assert list(by_name) == ["list", "search"]  # the baseline is the yardstick, not a row
    assert by_name["list"].ratios == pytest.approx((0.1, 0.09))
    assert by_name["list"].scale == pytest.approx(0.9)
    assert by_name["list"].failure is None
    assert by_name["search"].ratios == pytest.approx((0.08, 0.04))
    assert by_name["search"].scale == pytest.approx(0.5)
    assert by_name["search"].floor == 0.5
    assert by_name["search"].failure is None  # at the floor is not below it
    assert failures(rows) == []


def test_a_scale_below_its_floor_fails_and_so_does_one_without_ratios() -> None:
    small = run({"baseline": 10_000, "list": 1_000, "read": 2_000, "other": 100})
    large = run({"baseline": 10_000, "list": 790, "read": 1_000}, read={"status >= 400": 3})
    rows = scale_rows([small, large], ScaleFloors(0.8), "baseline")
    (list_, read, other) = rows
    assert list_.scale == pytest.approx(0.79)
    assert list_.failure == "list: scale 0.790, below 0.8"
    assert read.errors
    assert read.failure is not None
    assert "errors" in read.failure
    assert other.ratios[0] == pytest.approx(0.01)
    assert other.ratios[1] is None  # not measured at the largest size
    assert other.scale is None
    assert other.failure is not None
    assert "no ratio" in other.failure
    assert len(failures(rows)) == 3


def test_without_floors_nothing_fails_and_refused_sizes_give_no_ratio() -> None:
    small = run({"baseline": 10_000, "list": 1_000})
    large = run({"baseline": 10_000, "list": 100})
    assert failures(scale_rows([small, large], ScaleFloors(), "baseline")) == []
    (row,) = scale_rows([small, large], ScaleFloors(), "baseline", ratios=[True, False])
    assert row.ratios[0] == pytest.approx(0.1)
    assert row.ratios[1] is None  # refused at that size: no ratio stands
    assert row.scale is None
    (stopped,) = scale_rows([small, None], ScaleFloors(0.8), "baseline")  # stopped before
    assert stopped.ratios[1] is None
    assert stopped.failure is not None


def test_a_middle_size_is_shown_but_the_scale_is_of_the_ends() -> None:
    rows = scale_rows(
        [
            run({"baseline": 1_000, "list": 100}),
            run({"baseline": 1_000, "list": 10}),
            run({"baseline": 1_000, "list": 90}),
        ],
        ScaleFloors(0.8),
        "baseline",
    )
    (row,) = rows
    assert row.ratios == pytest.approx((0.1, 0.01, 0.09))
    assert row.scale == pytest.approx(0.9)
    assert failures(rows) == []


def test_the_table_shows_each_size_the_scale_the_floor_and_the_seeding_times() -> None:
    small = run({"baseline": 10_000, "list": 1_000, "search": 800})
    large = run({"baseline": 10_000, "list": 950, "search": 200})
    rows = scale_rows([small, large], ScaleFloors(0.8, {"search": 0.5}), "baseline")
    text = table((10_000, 1_000_000), rows, [(10_000, 7.5), (1_000_000, 181.25)])
    lines = text.splitlines()
    assert lines[0].split() == ["scenario", "@10k", "@1M", "1M/10k", "floor"]
    assert lines[2].split() == ["list", "0.100", "0.095", "0.95", "0.8"]
    assert lines[3].split() == ["search", "0.080", "0.020", "0.25", "0.5", "BELOW", "FLOOR"]
    assert "seeded 10,000 agreements in 7.5 s" in lines
    missing = scale_rows([small, None], ScaleFloors(0.8), "baseline")
    assert "NO RATIO" in table((10_000, 1_000_000), missing, [(10_000, 7.5)])
    assert "seeded 1,000,000 agreements in 181.2 s" in lines


def test_sizes_and_scale_floors_are_parsed_strictly() -> None:
    assert parse_sizes("10000,1000000") == (10_000, 1_000_000)
    assert parse_sizes("10_000, 20000,30000") == (10_000, 20_000, 30_000)
    for text in ("10000", "1000,100", "5,5", "0,10", "a,b", ""):
        with pytest.raises(ValueError, match="--scale"):
            parse_sizes(text)
    assert parse_scale_floor("0.8", ["list"]) == (None, 0.8)
    assert parse_scale_floor("list=0.5", ["list"]) == ("list", 0.5)
    for text, message in (
        ("other=0.5", "unknown scenario"),
        ("=0.5", "RATIO"),
        ("list=", "a number"),
        ("list=-1", "positive"),
        ("nan", "positive"),
        ("0", "positive"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_scale_floor(text, ["list"])
    floors = ScaleFloors(0.8, {"search": 0.5})
    assert (floors.of("list"), floors.of("search")) == (0.8, 0.5)
    assert ScaleFloors(None, {"search": 0.5}).of("list") is None
