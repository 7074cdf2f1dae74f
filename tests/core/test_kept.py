"""Answers kept at the edge (`core/kept.py`): a route marks its 200 as the same for the life of
the process, and the edge answers the same GET or HEAD again without running the route."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from app.core.kept import MAX_KEPT_ANSWERS, DataVersion, KeptAnswers

KEPT = "/v1/public/kept"
FRONT_END = "https://secretariat.example"


def _calls(app: FastAPI) -> int:
    return int(getattr(app.state, "kept_calls", 0))


def _without_request_id(response: httpx.Response) -> list[tuple[str, str]]:
    return [
        (name, value) for name, value in response.headers.multi_items() if name != "x-request-id"
    ]


async def test_the_same_request_is_answered_without_the_route(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    first = await probe_client.get(KEPT)
    again = await probe_client.get(KEPT)
    assert first.status_code == again.status_code == 200
    assert _calls(probe_app) == 1
    assert again.content == first.content
    assert _without_request_id(again) == _without_request_id(first)
    # What the edge adds is added to each answer, never kept: each has its own request id.
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert again.headers["access-control-allow-origin"] == "*"
    assert again.headers["x-content-type-options"] == "nosniff"


async def test_a_kept_answer_is_304_when_if_none_match_matches(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    etag = (await probe_client.get(KEPT)).headers["etag"]
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = await probe_client.get(KEPT, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert "content-length" not in response.headers
        assert "content-type" not in response.headers
        assert response.headers["vary"] == "Accept"
    stale = await probe_client.get(KEPT, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200
    assert stale.headers["etag"] == etag
    assert _calls(probe_app) == 1


async def test_a_304_from_a_kept_answer_is_the_routes_304(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    url = "/v1/strategic-objectives/2020-2030.A"
    from_the_route = await client.get(url, headers={"If-None-Match": "*"})  # not a 200: not kept
    assert from_the_route.status_code == 304
    assert len(app.state.kept_answers) == 0
    assert (await client.get(url)).status_code == 200
    assert len(app.state.kept_answers) == 1
    from_the_edge = await client.get(url, headers={"If-None-Match": "*"})
    assert from_the_edge.status_code == 304
    assert _without_request_id(from_the_edge) == _without_request_id(from_the_route)


async def test_head_is_answered_from_a_kept_answer_and_keeps_one(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    get = await probe_client.get(KEPT)
    head = await probe_client.head(KEPT)
    assert head.status_code == 200
    assert head.content == b""
    assert _without_request_id(head) == _without_request_id(get)
    assert int(head.headers["content-length"]) == len(get.content)
    assert _calls(probe_app) == 1
    # A HEAD that runs the route keeps the GET's answer, body included.
    first_head = await probe_client.head(KEPT, params={"size": 3})
    then_get = await probe_client.get(KEPT, params={"size": 3})
    assert first_head.content == b""
    assert then_get.content.startswith(b'{"calls": 2,')
    assert _calls(probe_app) == 2


async def test_a_streamed_answer_is_kept_whole(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    first = await probe_client.get(KEPT, params={"chunks": 3})
    again = await probe_client.get(KEPT, params={"chunks": 3})
    assert first.content.endswith(b"++")
    assert again.content == first.content
    assert _calls(probe_app) == 1


async def test_keys_hold_the_path_the_query_and_accept(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = [
        (KEPT, {}, {}),
        (KEPT, {"size": "1"}, {}),
        (KEPT, {"size": "01"}, {}),
        (KEPT, {}, {"Accept": "application/json"}),
        (KEPT, {}, {"Accept": "text/csv"}),
        ("/v1/probe/kept", {}, {}),
    ]
    for url, params, headers in requests:
        await probe_client.get(url, params=params, headers=headers)
    assert _calls(probe_app) == len(requests)
    for url, params, headers in requests:
        response = await probe_client.get(url, params=params, headers=headers)
        assert f'"accept": "{headers.get("Accept", "*/*")}"' in response.text
    assert _calls(probe_app) == len(requests)


async def test_internal_kept_answers_get_their_cors_headers_for_each_request(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    from_front_end = await probe_client.get("/v1/probe/kept", headers={"Origin": FRONT_END})
    from_nowhere = await probe_client.get("/v1/probe/kept")
    again_from_front_end = await probe_client.get("/v1/probe/kept", headers={"Origin": FRONT_END})
    assert _calls(probe_app) == 1
    assert from_front_end.headers["access-control-allow-origin"] == FRONT_END
    assert "access-control-allow-origin" not in from_nowhere.headers
    assert again_from_front_end.headers["access-control-allow-origin"] == FRONT_END
    for response in (from_front_end, from_nowhere, again_from_front_end):
        assert response.headers.get_list("vary") == ["Accept, Origin"]


async def test_only_marked_200s_of_gets_that_vary_on_accept_alone_are_kept(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    not_kept = [
        {"mark": "false"},
        {"status": "203"},
        {"status": "404"},
        {"vary": "Accept, Authorization"},
        {"vary": "*"},
        {"size": str(300 * 1024)},  # a body over the bound
        {"q": "x" * 1100},  # a key over the bound
    ]
    for params in not_kept:
        before = _calls(probe_app)
        first = await probe_client.get(KEPT, params=params)
        second = await probe_client.get(KEPT, params=params)
        assert first.status_code == second.status_code
        assert _calls(probe_app) == before + 2, params
    assert len(probe_app.state.kept_answers) == 0
    await probe_client.get(KEPT)
    writes = await probe_client.post(KEPT, json={})
    assert writes.status_code == 405  # other methods always reach the application
    assert _calls(probe_app) == len(not_kept) * 2 + 1


async def test_early_refusals_come_before_kept_answers(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    await probe_client.get(KEPT)
    not_json = await probe_client.request(
        "GET", KEPT, content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415
    too_many = await probe_client.get(KEPT, headers={f"x-h-{i}": "1" for i in range(101)})
    assert too_many.status_code == 431
    preflight = await probe_client.options(
        KEPT, headers={"Origin": FRONT_END, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    assert _calls(probe_app) == 1


async def test_kept_answers_are_bounded_least_recently_used_out(
    probe_app: FastAPI, probe_client: httpx.AsyncClient
) -> None:
    await probe_client.get(KEPT, params={"size": 0})
    for size in range(1, MAX_KEPT_ANSWERS + 1):
        await probe_client.get(KEPT, params={"size": size})
        if size == MAX_KEPT_ANSWERS // 2:
            await probe_client.get(KEPT, params={"size": 0})  # used again: not the oldest now
    kept: KeptAnswers = probe_app.state.kept_answers
    assert len(kept) == MAX_KEPT_ANSWERS
    calls = _calls(probe_app)
    await probe_client.get(KEPT, params={"size": 0})
    await probe_client.get(KEPT, params={"size": MAX_KEPT_ANSWERS})
    assert _calls(probe_app) == calls
    await probe_client.get(KEPT, params={"size": 1})  # the least recently used went first
    assert _calls(probe_app) == calls + 1
    assert len(kept) == MAX_KEPT_ANSWERS


# --- The data's version ---------------------------------------------------------------------


class Store:
    """A version held in memory, whose reads can be held back."""

    def __init__(self) -> None:
        self.value = 1
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.failing = False
        self.reading = asyncio.Event()

    async def read(self) -> int:
        self.reads += 1
        self.reading.set()
        seen = self.value
        if self.gate is not None:
            await self.gate.wait()
        if self.failing:
            raise RuntimeError("the database is away")
        return seen


async def test_callers_at_once_share_one_read() -> None:
    store = Store()
    versions = DataVersion(store.read)
    store.gate = asyncio.Event()
    first = asyncio.create_task(versions.current())
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(versions.current()) for _ in range(10)]
    await asyncio.sleep(0)
    store.gate.set()
    assert await first == 1
    assert [await task for task in waiting] == [1] * 10
    assert store.reads == 2  # the first read, and one for all who came while it ran


async def test_a_caller_never_takes_a_read_begun_before_it_asked() -> None:
    store = Store()
    versions = DataVersion(store.read)
    store.gate = asyncio.Event()
    early = asyncio.create_task(versions.current())
    await store.reading.wait()  # its read has begun, and sees version 1
    store.value = 2  # a change commits meanwhile
    late = asyncio.create_task(versions.current())
    await asyncio.sleep(0)
    store.gate.set()
    assert await early == 1
    assert await late == 2


async def test_an_error_reaches_the_callers_and_the_next_read_tries_again() -> None:
    store = Store()
    versions = DataVersion(store.read)
    store.failing = True
    with pytest.raises(RuntimeError):
        await versions.current()
    store.failing = False
    assert await versions.current() == 1


async def test_a_cancelled_caller_leaves_the_read_to_the_others() -> None:
    store = Store()
    versions = DataVersion(store.read)
    store.gate = asyncio.Event()
    gone = asyncio.create_task(versions.current())
    staying = asyncio.create_task(versions.current())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    store.gate.set()
    assert await staying == 1
    assert gone.cancelled()
