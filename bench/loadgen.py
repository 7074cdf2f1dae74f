"""The bench's own load generator, for machines without wrk: raw HTTP/1.1 over keep-alive
connections, on one event loop (uvloop when installed), in a process of its own.

    python -m bench.loadgen --url http://127.0.0.1:PORT --requests FILE --connections 8 --seconds 10

It reads the same requests file as the wrk script (one request a line: method, path, headers,
separated by tabs), sends them in turn over every connection, one request at a time on each,
and prints one JSON line: requests completed, seconds, the median and 99th percentile latency,
the errors by kind (any status other than 2xx or 304, a connection refused or broken), and the
CPU time it used while driving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.stats import percentile

# How long past the end a response may take before the run gives up on it.
GRACE_SECONDS = 30.0


def read_requests(path: Path, host: str) -> list[bytes]:
    """The requests of a file, each rendered once to the bytes sent."""
    rendered = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line:
            continue
        method, target, *headers = line.split("\t")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", *headers, "", ""]
        rendered.append("\r\n".join(lines).encode("latin-1"))
    if not rendered:
        raise ValueError(f"no requests in {path}")
    return rendered


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response: its status, and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lowered = head.lower()
    keep_alive = b"\r\nconnection: close" not in lowered
    if b"\r\ntransfer-encoding: chunked" in lowered:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        start = lowered.find(b"\r\ncontent-length:")
        if start >= 0:
            end = lowered.index(b"\r\n", start + 2)
            await reader.readexactly(int(lowered[start + 17 : end]))
        elif status not in (204, 304) and status >= 200:
            raise ValueError("a response without a length")
    return status, keep_alive


@dataclass
class Run:
    requests: Sequence[bytes]
    deadline: float
    next: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def take(self) -> bytes:
        request = self.requests[self.next]
        self.next = (self.next + 1) % len(self.requests)
        return request


async def drive(run: Run, host: str, port: int) -> None:
    """One connection: a request, its response, the next request, until the deadline."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < run.deadline:
        if writer is None or reader is None:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                run.errors["connect"] += 1
                await asyncio.sleep(0.05)
                continue
        started = time.perf_counter_ns()
        try:
            writer.write(run.take())
            status, keep_alive = await read_response(reader)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            run.errors["read"] += 1
            writer.close()
            reader = writer = None
            continue
        run.latencies_ns.append(time.perf_counter_ns() - started)
        if not (200 <= status < 300 or status == 304):
            run.errors[f"status {status}"] += 1
        if not keep_alive:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def main_async(
    url: str, requests_file: Path, connections: int, seconds: float
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = read_requests(requests_file, parts.netloc)
    started = time.perf_counter()
    cpu_started = time.process_time()
    run = Run(requests, deadline=started + seconds)
    tasks = [asyncio.create_task(drive(run, host, port)) for _ in range(connections)]
    _done, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_SECONDS)
    for task in pending:
        task.cancel()
        run.errors["timeout"] += 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    latencies = run.latencies_ns or [0]
    return {
        "requests": len(run.latencies_ns),
        "seconds": elapsed,
        "p50_ms": percentile(latencies, 0.50) / 1e6,
        "p99_ms": percentile(latencies, 0.99) / 1e6,
        "errors": dict(run.errors),
        # The CPU of the run itself, without the interpreter's start-up.
        "cpu_seconds": cpu,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The bench's own load generator.")
    parser.add_argument("--url", required=True, help="http://host:port of the server")
    parser.add_argument("--requests", required=True, type=Path, help="the requests file")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    arguments = parser.parse_args(argv)
    coroutine = main_async(
        arguments.url, arguments.requests, arguments.connections, arguments.seconds
    )
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(coroutine)
    else:
        result = uvloop.run(coroutine)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
