"""The two servers under test, each in a process of its own: the service (`ippc serve`, one
worker) and the bare baseline (`bench.hello`), both on 127.0.0.1 with a clean environment.

Also the CPU clocks the bench reads around each measurement: a process's user and system time
and the whole machine's busy time, from /proc (Linux). Elsewhere they read as None and the
bench's saturation check rests on the generator's CPU alone.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.generators import REPOSITORY

STARTUP_SECONDS = 60.0
# The service's rate limits during the bench (per address and per client): on, never reached.
BENCH_RATE_LIMIT = "100000000/minute"

# The servers close a connection idle for 5 s (uvicorn's keep-alive); the bench's own clients
# let theirs go sooner, so that a request never goes out on a connection the server is closing
# (a reset, seen once after the pause of drawing the lists' positions).
KEEP_ALIVE = httpx.Limits(keepalive_expiry=1.0)


class ServerFailed(RuntimeError):
    """A server did not start, or died."""


def clean_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without the service's settings, plus `overrides`."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("IPPC_") and key != "DATABASE_URL"
    }
    environment.update(overrides)
    return environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.process.pid)

    def log_tail(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        except OSError:
            return ""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServerFailed(
                f"the {self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Ask a server process to end (SIGTERM: it finishes what it serves); kill it if it has not
    within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def start(
    name: str,
    argv: list[str],
    *,
    port: int,
    ready_path: str,
    cwd: Path,
    environment: Mapping[str, str],
    log: Path,
) -> Server:
    """Start a server and wait until `ready_path` answers 200."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own arguments)
            argv, cwd=cwd, env=dict(environment), stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(name, process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        server.check_alive()
        try:
            if httpx.get(server.base_url + ready_path, timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise ServerFailed(f"the {name} did not answer within {STARTUP_SECONDS:g} s")
        time.sleep(0.1)


def start_service(database_url: str, workdir: Path, *, token_ttl: int, connections: int) -> Server:
    """`ippc serve --workers 1 --no-migrate` (the bench migrated the database), run from a
    directory of its own so that no `.env` file is read, logging at WARNING, with as many CSV
    exports allowed at once as twice the connections the load generator opens."""
    port = free_port()
    return start(
        "service",
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--workers",
            "1",
            "--port",
            str(port),
            "--no-migrate",
        ],
        port=port,
        ready_path="/healthz",
        cwd=workdir,
        environment=clean_environment(
            DATABASE_URL=database_url,
            IPPC_LOG_LEVEL="WARNING",
            IPPC_ACCESS_TOKEN_TTL_SECONDS=str(token_ttl),
            # Twice the connections: a connection's next export may start while its last one is
            # still giving its slot back (uvicorn takes the next request once a response ends).
            IPPC_MAX_CONCURRENT_EXPORTS=str(2 * max(connections, 1)),
            # Rate limits stay on, so that their cost is measured, with quotas the load
            # generator cannot spend (one address, one client, thousands of requests a second).
            IPPC_RATE_LIMIT_ANONYMOUS=BENCH_RATE_LIMIT,
            IPPC_RATE_LIMIT_CLIENT=BENCH_RATE_LIMIT,
        ),
        log=workdir / "service.log",
    )


def start_baseline(workdir: Path) -> Server:
    port = free_port()
    return start(
        "baseline",
        [sys.executable, "-m", "bench.hello", "--port", str(port)],
        port=port,
        ready_path="/hello",
        cwd=REPOSITORY,
        environment=clean_environment(),
        log=workdir / "baseline.log",
    )


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User and system time of a process (all its threads), or None where /proc is missing."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces) start at the state, field 3;
    # utime and stime are fields 14 and 15.
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _clock_ticks()


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy (every core, every process), or None."""
    try:
        line = Path("/proc/stat").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    values = [int(value) for value in line.split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle and iowait
    # guest time is already counted in user time
    total = sum(values[:8])
    return (total - idle) / _clock_ticks()
