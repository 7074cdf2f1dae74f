"""Answers kept at the edge: a route's 200 that is the same for the life of the process, or as
long as nothing in the database changes.

Some answers cannot change while a process runs (the strategic objectives are reference data,
seeded by migrations, and a migration is deployed with a restart). A route says so by calling
`keep_for_process(request)` before it returns; the edge (`core/edge.py`) then keeps that
answer, its status, the route's own headers and its body, and answers the next identical GET or
HEAD itself, without entering FastAPI: 200 with the body, 304 when `If-None-Match` matches the
kept `ETag`, HEAD without the body. The headers the edge adds to every response (request id,
CORS, defaults) are not kept: they are added again to each answer, as to any other.

What is kept, and when:
- only GET and HEAD, only a 200, only an answer its route marked (never by default);
- keyed by the path, the raw query string and the request's `Accept` (the only request header
  a kept answer may vary on: an answer whose `Vary` names another is not kept);
- at most `MAX_KEPT_ANSWERS` answers, the least recently used going first; no answer whose key
  is longer than `MAX_KEY_BYTES` or whose body is larger than `MAX_KEPT_BODY_BYTES`, so that
  made-up queries cannot grow the memory past a known bound.

Other answers are the same as long as the data they are made of does not change (the public
register). A route that can say which version of the data it read calls `keep_while(request,
version)`; the edge keeps that answer with the version, and serves it again only after reading
the current version (`DataVersion.current`) and finding it unchanged. The version is read from
the database, never from the process, so that a change committed through any instance is seen
by every other at its next request: the version must rise with every committed change (the
service uses the id of the last audit event, which every change appends in the same
transaction, in commit order: docs/audit.md). A route reads the version in the same snapshot
as the data it answers with (its own statement selects it), or before that data, so the data
is at least as new as the version it is kept under; a change committed in between raises the
version, and the next request reads afresh.

Reading the version is one indexed statement, shared by the requests that wait for it at once
(`DataVersion`): a request joins the next read to start, never one already under way, since
that one may have begun before a change the request must see.

The 304 made from a kept answer carries the 200's headers without `Content-Length` and
`Content-Type` (RFC 9110 §15.4.5), which is what `core.http.prepared_response` answers too.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

# The marks, in the request's state (`scope["state"]`, shared by every copy of the scope): keep
# the answer, and (for `keep_while`) the version of the data it was made from.
KEEP_KEY = "ippc.keep_for_process"
VERSION_KEY = "ippc.keep_while_version"

MAX_KEPT_ANSWERS = 256
MAX_KEY_BYTES = 1024
MAX_KEPT_BODY_BYTES = 256 * 1024

# The request headers a key holds: those a kept answer may vary on.
KEY_HEADERS = frozenset({"accept"})

RawHeaders = tuple[tuple[bytes, bytes], ...]
Key = tuple[str, bytes, bytes]

_NOT_IN_304 = frozenset({b"content-length", b"content-type"})


def keep_for_process(request: HTTPConnection) -> None:
    """Mark this request's answer, should it be a 200, as the same for the life of the process:
    the edge keeps it and answers the same request itself from then on (module docstring)."""
    request.scope.setdefault("state", {})[KEEP_KEY] = True


def keep_while(request: HTTPConnection, version: int) -> None:
    """Mark this request's answer, should it be a 200, as the same while the data's version
    (read with the data, or before it) stays `version` (module docstring)."""
    state = request.scope.setdefault("state", {})
    state[KEEP_KEY] = True
    state[VERSION_KEY] = version


class DataVersion:
    """The current version of the data, read from the database by `read`, once for all the
    requests that ask while no read has started yet."""

    def __init__(self, read: Callable[[], Awaitable[int]]) -> None:
        self._read = read
        self._next: asyncio.Future[int] | None = None
        self._reader: asyncio.Task[None] | None = None

    async def current(self) -> int:
        """The version as a read begun after this call found it."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        waiting = self._next
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_for_waiters())
        # Shielded: a request cancelled while it waits leaves the read to the others.
        return await asyncio.shield(waiting)

    async def _read_for_waiters(self) -> None:
        waiting: asyncio.Future[int] | None = None
        try:
            while self._next is not None:
                waiting, self._next = self._next, None
                try:
                    waiting.set_result(await self._read())
                except Exception as exc:  # each waiter meets the error itself
                    waiting.set_exception(exc)
        finally:
            self._reader = None
            if waiting is not None and not waiting.done():  # the read itself was cancelled
                waiting.cancel()


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    headers: RawHeaders
    body: bytes
    etag: str | None
    not_modified_headers: RawHeaders
    # The version of the data it was made from; None: the same for the life of the process.
    version: int | None = None


def _varies_only_on_the_key(headers: RawHeaders) -> bool:
    for name, value in headers:
        if name == b"vary":
            for part in value.decode("latin-1").split(","):
                if part.strip() and part.strip().lower() not in KEY_HEADERS:
                    return False
    return True


class KeptAnswers:
    """The answers one process keeps, least recently used first out."""

    def __init__(self, max_answers: int = MAX_KEPT_ANSWERS) -> None:
        self.max_answers = max_answers
        self._answers: OrderedDict[Key, KeptAnswer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    @staticmethod
    def key(path: str, query: bytes, accept: bytes) -> Key | None:
        """The key of a request, or None when it is too long to be kept."""
        if len(path) + len(query) + len(accept) > MAX_KEY_BYTES:
            return None
        return (path, query, accept)

    def get(self, key: Key) -> KeptAnswer | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def drop(self, key: Key) -> None:
        self._answers.pop(key, None)

    def keep(self, key: Key, headers: RawHeaders, body: bytes, version: int | None = None) -> None:
        """Keep a 200's headers (the route's own) and whole body (the edge stops collecting a
        body past `MAX_KEPT_BODY_BYTES`), unless the answer varies on more than the key."""
        if not _varies_only_on_the_key(headers):
            return
        etag = next((value.decode("latin-1") for name, value in headers if name == b"etag"), None)
        not_modified = tuple(header for header in headers if header[0] not in _NOT_IN_304)
        self._answers[key] = KeptAnswer(headers, body, etag, not_modified, version)
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_answers:
            self._answers.popitem(last=False)
