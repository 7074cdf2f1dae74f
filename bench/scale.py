"""The scale table's arithmetic, with no server and no I/O: the same scenarios measured at
several sizes of data (`--scale 10000,1000000`), each as a ratio to the baseline of its own run;
per scenario the ratio at each size and its scale, the ratio at the largest size over the ratio
at the smallest; and the verdict on the floors of `--min-scale`."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from bench.stats import Summary


def parse_sizes(text: str) -> tuple[int, ...]:
    """`--scale 10000,1000000`: two sizes or more (agreements seeded), each at least 1, rising."""
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--scale takes sizes separated by commas, not {text!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"--scale needs two sizes or more, not {text!r}")
    if any(size < 1 for size in sizes):
        raise ValueError(f"--scale sizes must be at least 1, not {text!r}")
    if list(sizes) != sorted(set(sizes)):
        raise ValueError(f"--scale sizes must rise, each once, not {text!r}")
    return sizes


def parse_scale_floor(text: str, known: Collection[str]) -> tuple[str | None, float]:
    """`--min-scale RATIO` (every scenario) or `--min-scale SCENARIO=RATIO` (that one): the
    least scale allowed, a positive number."""
    name: str | None = None
    value = text
    if "=" in text:
        name, _, value = text.partition("=")
        name = name.strip()
        if not name:
            raise ValueError(f"--min-scale takes RATIO or scenario=RATIO, not {text!r}")
        if name not in known:
            raise ValueError(
                f"--min-scale names an unknown scenario {name!r} (known: {', '.join(known)})"
            )
    try:
        ratio = float(value)
    except ValueError:
        raise ValueError(f"--min-scale needs a number, not {value!r}") from None
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"--min-scale needs a positive ratio, not {value!r}")
    return name, ratio


@dataclass(frozen=True)
class ScaleFloors:
    """The least scale allowed: `every` scenario's, unless `named` gives its own."""

    every: float | None = None
    named: Mapping[str, float] | None = None

    def of(self, scenario: str) -> float | None:
        if self.named and scenario in self.named:
            return self.named[scenario]
        return self.every

    def __bool__(self) -> bool:
        return self.every is not None or bool(self.named)


@dataclass(frozen=True)
class ScaleRow:
    """A scenario at every size: its ratios (None: not measured, or no ratio at that size),
    its scale (the last ratio over the first), its floor, and why it failed it, if it did."""

    scenario: str
    ratios: tuple[float | None, ...]
    errors: bool
    floor: float | None

    @property
    def scale(self) -> float | None:
        first, last = self.ratios[0], self.ratios[-1]
        if first is None or last is None or first <= 0:
            return None
        return last / first

    @property
    def failure(self) -> str | None:
        if self.floor is None:
            return None
        if self.errors:
            return f"{self.scenario}: errors at some size (floor {self.floor:g})"
        scale = self.scale
        if scale is None:
            return f"{self.scenario}: no ratio at every size (floor {self.floor:g})"
        if scale < self.floor:
            return f"{self.scenario}: scale {scale:.3f}, below {self.floor:g}"
        return None


def scale_rows(
    runs: Sequence[Sequence[Summary] | None],
    floors: ScaleFloors,
    baseline: str,
    *,
    ratios: Sequence[bool] | None = None,
) -> list[ScaleRow]:
    """One row per scenario (the baseline left out), in the order of the first run that has
    it. `runs` has the summaries of each size, None for a size that was not measured; `ratios`
    says of each size whether its ratios stand (False: refused, the generator was the limit)."""
    names: list[str] = []
    for summaries in runs:
        for summary in summaries or ():
            if summary.scenario != baseline and summary.scenario not in names:
                names.append(summary.scenario)
    indexed = [{summary.scenario: summary for summary in summaries or ()} for summaries in runs]
    stands = list(ratios) if ratios is not None else [True] * len(runs)
    rows = []
    for name in names:
        found = [by_name.get(name) for by_name in indexed]
        rows.append(
            ScaleRow(
                scenario=name,
                ratios=tuple(
                    summary.ratio if summary is not None and stand else None
                    for summary, stand in zip(found, stands, strict=True)
                ),
                errors=any(summary is not None and summary.error_count for summary in found),
                floor=floors.of(name),
            )
        )
    return rows


def failures(rows: Sequence[ScaleRow]) -> list[str]:
    """The floors not met, each as a sentence."""
    return [row.failure for row in rows if row.failure is not None]


def _size(size: int) -> str:
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if size >= unit and size % unit == 0:
            return f"{size // unit:,}{name}"
    return f"{size:,}"


def table(
    sizes: Sequence[int], rows: Sequence[ScaleRow], seeded: Sequence[tuple[int, float]]
) -> str:
    """Per scenario its ratio at each size, its scale and its floor; then the seeding time of
    each size seeded (size, seconds)."""
    heads = [f"@{_size(size)}" for size in sizes]
    scale_head = f"{_size(sizes[-1])}/{_size(sizes[0])}"
    width = max([len("scenario"), *(len(row.scenario) for row in rows)])
    header = (
        f"{'scenario':<{width}} "
        + " ".join(f"{head:>9}" for head in heads)
        + f" {scale_head:>9} {'floor':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = " ".join("-".rjust(9) if r is None else f"{r:>9.3f}" for r in row.ratios)
        scale = "-" if row.scale is None else f"{row.scale:.2f}"
        floor = "" if row.floor is None else f"{row.floor:g}"
        flag = ""
        if row.errors:
            flag = "  ERRORS"
        elif row.scale is None:
            flag = "  NO RATIO" if row.floor is not None else ""
        elif row.failure is not None:
            flag = "  BELOW FLOOR"
        lines.append(f"{row.scenario:<{width}} {cells} {scale:>9} {floor:>6}{flag}")
    lines.append("")
    lines.extend(f"seeded {size:,} agreements in {seconds:.1f} s" for size, seconds in seeded)
    return "\n".join(lines)
