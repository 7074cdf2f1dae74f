"""CSV exports that no client can starve the service with: no pooled connection held while a
client reads, a cap on exports at once, a send timeout, and an export that stops when its
reader goes away. Driven at the ASGI level, where a reader can be made to stall exactly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core import csv_export
from app.core.config import Settings
from app.main import create_app
from tests.conftest import fetch_token, make_settings, register_client

URL = "/v1/organizations"
ROWS = 23
CHUNK = 5


@pytest.fixture
def export_settings(database_url: str) -> Settings:
    return make_settings(database_url, max_concurrent_exports=1, export_send_timeout_seconds=0.5)


@pytest.fixture
async def app(export_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(export_settings)
    yield application
    await application.state.database.dispose()


@pytest.fixture
async def token(app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> str:
    client_id, secret = await register_client(app, "secretariat")
    bearer = await fetch_token(client, client_id, secret)
    for index in range(ROWS):
        response = await client.post(
            URL,
            json={"name": f"Organization {index:02d}"},
            headers={"Authorization": f"Bearer {bearer}"},
        )
        assert response.status_code == 201
    monkeypatch.setattr(csv_export, "CHUNK_ROWS", CHUNK)
    return bearer


def _scope(token: str | None, path: str = URL) -> dict[str, Any]:
    authorization = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"format=csv",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *authorization],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }


class Reader:
    """A client of an export: records what it is sent, can stop reading, can go away."""

    def __init__(
        self,
        *,
        stall_after: int | None = None,
        leave_after: int | None = None,
        stall_at_start: bool = False,
    ) -> None:
        self.bodies: list[bytes] = []
        self.status: int | None = None
        self.stall_after = stall_after
        self.leave_after = leave_after
        self.stall_at_start = stall_at_start
        self.stalled = asyncio.Event()
        self.left = asyncio.Event()

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            if self.stall_at_start:
                self.stalled.set()
                await asyncio.Event().wait()  # the connection has no room, even for headers
            self.status = message["status"]
        elif message.get("body"):
            self.bodies.append(message["body"])
            if self.leave_after is not None and len(self.bodies) >= self.leave_after:
                self.left.set()
            if self.stall_after is not None and len(self.bodies) >= self.stall_after:
                self.stalled.set()
                await asyncio.Event().wait()  # it reads no more

    async def receive(self) -> MutableMapping[str, Any]:
        await self.left.wait()
        return {"type": "http.disconnect"}


def _run(app: FastAPI, token: str, reader: Reader) -> asyncio.Task[None]:
    return asyncio.create_task(app(_scope(token), reader.receive, reader.send))


def _checked_out(app: FastAPI) -> Callable[[], int]:
    return app.state.database.engine.pool.checkedout  # type: ignore[no-any-return]


async def test_a_stalled_reader_holds_no_connection_and_is_cut_off(
    app: FastAPI, client: httpx.AsyncClient, token: str
) -> None:
    reader = Reader(stall_after=2)  # the header line, then one chunk of rows
    export = _run(app, token, reader)
    await asyncio.wait_for(reader.stalled.wait(), 5)
    assert _checked_out(app)() == 0  # the chunk's connection went back before it was sent
    # Meanwhile the service answers everyone else.
    page = await client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    # The reader took nothing for the send timeout: the export ends (the server then closes
    # the connection, the response being incomplete).
    await asyncio.wait_for(export, 5)
    assert reader.status == 200
    assert len(reader.bodies) == 2
    assert app.state.export_slots.active == 0


async def test_exports_past_the_cap_are_429_until_one_ends(
    app: FastAPI, client: httpx.AsyncClient, token: str
) -> None:
    reader = Reader(stall_after=2)
    export = _run(app, token, reader)
    await asyncio.wait_for(reader.stalled.wait(), 5)
    refused = await client.get(
        URL, params={"format": "csv"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/too-many-exports"
    assert refused.headers["retry-after"] == str(csv_export.RETRY_AFTER_SECONDS)
    await asyncio.wait_for(export, 5)
    served = await client.get(
        URL, params={"format": "csv"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert served.status_code == 200
    assert served.text.count("\r\n") == ROWS + 1


async def test_anonymous_exports_cannot_take_the_internal_ones(
    app: FastAPI, client: httpx.AsyncClient, token: str
) -> None:
    """The public register's open data has export slots of its own: an anonymous reader who
    holds them all leaves the internal exports free."""
    reader = Reader(stall_at_start=True)
    anonymous = asyncio.create_task(
        app(_scope(None, "/v1/public/interactions"), reader.receive, reader.send)
    )
    await asyncio.wait_for(reader.stalled.wait(), 5)
    assert app.state.public_export_slots.active == 1
    another = await client.get("/v1/public/interactions", params={"format": "csv"})
    assert another.status_code == 429
    assert another.json()["type"] == "/problems/too-many-exports"
    internal = await client.get(
        URL, params={"format": "csv"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert internal.status_code == 200
    await asyncio.wait_for(anonymous, 5)  # cut off at the send timeout
    assert app.state.public_export_slots.active == 0


async def test_a_reader_that_goes_away_stops_the_export(
    app: FastAPI, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks_read = 0
    original = csv_export.export_chunks

    async def counting(*args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        nonlocal chunks_read
        async for chunk in original(*args, **kwargs):
            chunks_read += 1
            yield chunk

    monkeypatch.setattr(csv_export, "export_chunks", counting)
    reader = Reader(leave_after=2)
    await asyncio.wait_for(_run(app, token, reader), 5)
    whole = 1 + -(-ROWS // CHUNK)  # the header line and every chunk
    assert chunks_read < whole
    assert app.state.export_slots.active == 0


async def test_every_row_once_in_order_across_chunks(client: httpx.AsyncClient, token: str) -> None:
    for sort in ("name", "-name", "created_at", "-updated_at"):
        response = await client.get(
            URL,
            params={"format": "csv", "sort": sort},
            headers={"Authorization": f"Bearer {token}"},
        )
        names = [line.split(",")[1] for line in response.text.split("\r\n")[1:] if line]
        expected = [f"Organization {index:02d}" for index in range(ROWS)]
        assert names == (expected[::-1] if sort.startswith("-") else expected), sort


async def test_an_export_waits_after_each_chunk_as_long_as_the_chunk_took(
    client: httpx.AsyncClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export shares its process: after each chunk it sleeps `EXPORT_WAIT` times the chunk's
    time (read and written), so that it takes at most half of the process's time."""
    ticks = iter(float(second) for second in range(10_000))
    monkeypatch.setattr(csv_export, "_clock", lambda: next(ticks))
    waits: list[float] = []

    async def recorded(delay: float) -> None:
        waits.append(delay)
        await asyncio.sleep(0)

    monkeypatch.setattr(csv_export, "_wait", recorded)
    response = await client.get(
        URL, params={"format": "csv"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert len(response.text.split("\r\n")) == ROWS + 2  # the header, the rows, the last end
    # Each chunk read the clock once as it began and once when written: one second each.
    assert waits == [csv_export.EXPORT_WAIT * 1.0] * -(-ROWS // CHUNK)


async def test_a_reader_cut_off_mid_export_leaves_the_slot_free_for_the_next(
    app: FastAPI, client: httpx.AsyncClient, token: str
) -> None:
    for _ in range(3):
        reader = Reader(stall_after=1)
        export = _run(app, token, reader)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(export, 5)
        assert app.state.export_slots.active == 0


async def test_a_reader_with_no_room_even_for_the_headers_is_cut_off(
    app: FastAPI, client: httpx.AsyncClient, token: str
) -> None:
    reader = Reader(stall_at_start=True)
    export = _run(app, token, reader)
    await asyncio.wait_for(reader.stalled.wait(), 5)
    assert app.state.export_slots.active == 1
    await asyncio.wait_for(export, 5)
    assert app.state.export_slots.active == 0
    served = await client.get(
        URL, params={"format": "csv"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert served.status_code == 200
