"""The load generators: wrk when it is installed, else the bench's own (`bench.loadgen`).

Either runs as a separate process, driving one server over keep-alive connections for a fixed
time, and reports requests, latency percentiles and errors. The bench also takes the CPU time
the generator's process used (from the kernel, when the process is reaped), which is how it
tells a generator that limits the rate from a server that does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.scenarios import Request

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
MARKER = "BENCH-RESULT "


class GeneratorFailed(RuntimeError):
    """The load generator crashed or printed no result."""


@dataclass(frozen=True)
class GeneratorRun:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    cpu_seconds: float  # the generator's own, user and system


def write_requests(requests: Sequence[Request], directory: Path) -> Path:
    """The requests file both generators read: one request a line, its fields separated by tabs
    (method, path, then `Name: value` headers)."""
    lines = []
    for request in requests:
        fields = [request.method, request.path, *(f"{n}: {v}" for n, v in request.headers)]
        if any(not value or any(c in value for c in "\t\r\n") for value in fields):
            raise ValueError(
                f"a request field is empty, or holds a tab or a line break: {fields!r}"
            )
        lines.append("\t".join(fields))
    if not lines:
        raise ValueError("a scenario without requests")
    handle, name = tempfile.mkstemp(prefix="requests-", suffix=".tsv", dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    return Path(name)


def _run(argv: list[str], seconds: float) -> tuple[str, float]:
    """Run a generator to its end: its output, and the CPU seconds it used."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as output:
        process = subprocess.Popen(  # noqa: S603 (our own arguments)
            argv, stdout=output, stderr=subprocess.STDOUT, cwd=REPOSITORY
        )
        deadline = time.monotonic() + seconds + 60
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise GeneratorFailed(f"{argv[0]} exited with {process.returncode}: {text[-2000:]}")
    return text, usage.ru_utime + usage.ru_stime


class Wrk:
    """wrk (a Debian package), with one thread: it needs a fraction of a core to saturate one
    uvicorn worker, and leaves the other core to the servers and the database."""

    name = "wrk"
    cores = 1.0

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def run(
        self, base_url: str, requests_file: Path, connections: int, seconds: int
    ) -> GeneratorRun:
        argv = [
            self.executable,
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "10s",
            "--script",
            str(HERE / "wrk.lua"),
            base_url,
            "--",
            str(requests_file),
        ]
        text, cpu = _run(argv, seconds)
        return parse_wrk_output(text, cpu)


def parse_wrk_output(text: str, cpu_seconds: float) -> GeneratorRun:
    """The figures the bench's wrk script prints when done (`bench/wrk.lua`)."""
    lines = [line for line in text.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise GeneratorFailed(f"wrk printed no result: {text[-2000:]}")
    result = json.loads(lines[-1][len(MARKER) :])
    errors = {kind: int(count) for kind, count in result["errors"].items() if count}
    if "status" in errors:  # wrk counts the responses of status 400 and above
        errors["status >= 400"] = errors.pop("status")
    return GeneratorRun(
        requests=int(result["requests"]),
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1e3,
        p99_ms=result["p99_us"] / 1e3,
        errors=errors,
        cpu_seconds=cpu_seconds,
    )


class PythonGenerator:
    """`bench.loadgen` in a process of its own, on one event loop."""

    name = "python"
    cores = 1.0

    def run(
        self, base_url: str, requests_file: Path, connections: int, seconds: int
    ) -> GeneratorRun:
        argv = [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--url",
            base_url,
            "--requests",
            str(requests_file),
            "--connections",
            str(connections),
            "--seconds",
            str(seconds),
        ]
        text, cpu = _run(argv, seconds)
        try:
            result = json.loads(text.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise GeneratorFailed(f"bench.loadgen printed no result: {text[-2000:]}") from None
        return GeneratorRun(
            requests=int(result["requests"]),
            seconds=float(result["seconds"]),
            p50_ms=float(result["p50_ms"]),
            p99_ms=float(result["p99_ms"]),
            errors={kind: int(count) for kind, count in result["errors"].items()},
            # Its own reading leaves out the interpreter's start-up, which a short run would
            # otherwise count as load.
            cpu_seconds=float(result.get("cpu_seconds", cpu)),
        )


Generator = Wrk | PythonGenerator


def choose(name: str) -> Generator:
    """`wrk`, `python`, or `auto`: wrk when it is on the PATH, else the bench's own."""
    executable = shutil.which("wrk")
    if name == "python" or (name == "auto" and executable is None):
        return PythonGenerator()
    if executable is None:
        raise GeneratorFailed("--generator wrk: wrk is not installed (apt-get install wrk)")
    return Wrk(executable)
