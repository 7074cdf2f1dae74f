"""`Idempotency-Key` on POSTs that create (design §8), as one wrapper that owns the order of its
steps.

Keys are scoped to the client, the method and the path, and kept 24 hours:
- the same key with the same body replays the first response (status, body, Location, ETag),
  marked `Idempotent-Replayed: true`;
- the same key with another body is a 422;
- the same key while the first request is still being processed is a 409 (`Retry-After`).

A creating endpoint takes a `CreateOnce` (the `idempotent(...)` dependency) instead of the
request's session, and hands it its work: `return await create.run(work)`. `run` does, in this
order and no other: claim the key in a short transaction of its own, committed at once so that
a second request sees the claim; open the write transaction and set its actor; do the work; keep
the response in that same transaction (so it is kept exactly when the work is); commit; and, if
anything failed, release the claim once the work's transaction is over, so that the key can be
used again. The claim is made only once the request passed validation (the endpoint runs only
then). A claim left by a process that died is taken over after `ABANDONED_AFTER`.

An endpoint that took both a `CreateOnce` and the request's session would run two transactions
whose order nobody owns: `check_routes` refuses such a route when the application is built.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Index,
    Text,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel
from starlette.responses import Response
from starlette.routing import BaseRoute

from app.core.actor import Actor
from app.core.db import Database, UTCDateTime, column_of, new_id, utcnow
from app.core.errors import Conflict, DomainError, FieldError, problem_type
from app.core.session import get_database, request_session
from app.core.tracking import set_actor

KEEP_FOR = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=10)
REPLAYED_HEADERS = ("location", "etag", "content-type")

IDEMPOTENCY_IN_FLIGHT = problem_type(
    "idempotency-key-in-flight",
    409,
    "Request in progress",
    "A request with this Idempotency-Key is still being processed: retry shortly.",
)
IDEMPOTENCY_KEY_REUSED = problem_type(
    "idempotency-key-reused",
    422,
    "Idempotency-Key reused",
    "This Idempotency-Key was used with another request body: use a new key for a new request.",
)


class IdempotencyRecord(SQLModel, table=True):
    """A claimed key and, once the work committed, the response to replay."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("client", "method", "path", "key"),
        Index("ix_idempotency_record_expires_at", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    client: str = Field(max_length=255, nullable=False)
    method: str = Field(max_length=10, nullable=False)
    path: str = Field(max_length=1000, nullable=False)
    key: str = Field(max_length=255, nullable=False)
    request_hash: str = Field(max_length=64, nullable=False)
    completed: bool = Field(default=False, nullable=False)
    response_status: int | None = Field(default=None)
    response_headers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    response_body: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


def request_fingerprint(body: bytes) -> str:
    """The same JSON (whatever its spacing or key order) gives the same fingerprint."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        data = canonical.encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = body
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Claim:
    """A key claimed for this request (`record_id`), or the response to replay."""

    record_id: uuid.UUID | None = None
    replay: Response | None = None


def _replay(record: IdempotencyRecord) -> Response:
    headers: Mapping[str, str] = record.response_headers or {}
    media_type = headers.get("content-type", "application/json")
    response = Response(
        (record.response_body or "").encode(),
        status_code=record.response_status or 200,
        media_type=media_type,
    )
    for name, value in headers.items():
        if name != "content-type":
            response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


CLAIM_ATTEMPTS = 3


async def _existing(session: AsyncSession, scope: ColumnElement[bool]) -> IdempotencyRecord | None:
    return (await session.execute(select(IdempotencyRecord).where(scope))).scalar_one_or_none()


async def claim(
    database: Database, *, client: str, method: str, path: str, key: str, fingerprint: str
) -> Claim:
    """Claim `key` in a transaction of its own; a claim already there decides the answer.

    The claim that stood in the way may be released (its work failed) between our attempt and
    our reading it: then the key is free, and we try again."""
    scope = (
        (column_of(IdempotencyRecord.client) == client)
        & (column_of(IdempotencyRecord.method) == method)
        & (column_of(IdempotencyRecord.path) == path)
        & (column_of(IdempotencyRecord.key) == key)
    )
    existing: IdempotencyRecord | None = None
    for _attempt in range(CLAIM_ATTEMPTS):
        now = utcnow()
        async with database.session(write=True) as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    scope
                    & (
                        (column_of(IdempotencyRecord.expires_at) < now)
                        | (
                            (column_of(IdempotencyRecord.completed).is_(False))
                            & (column_of(IdempotencyRecord.created_at) < now - ABANDONED_AFTER)
                        )
                    )
                )
            )
            record = IdempotencyRecord(
                client=client,
                method=method,
                path=path,
                key=key,
                request_hash=fingerprint,
                created_at=now,
                expires_at=now + KEEP_FOR,
            )
            session.add(record)
            try:
                await session.commit()
                return Claim(record_id=record.id)
            except IntegrityError:
                await session.rollback()
            existing = await _existing(session, scope)
        if existing is not None:
            break
    if existing is not None and existing.request_hash != fingerprint:
        raise _reused()
    if existing is None or not existing.completed:
        # Still being processed, or changing hands at every attempt: the caller retries.
        raise Conflict(
            IDEMPOTENCY_IN_FLIGHT.description,
            kind=IDEMPOTENCY_IN_FLIGHT,
            headers={"Retry-After": "1"},
        )
    return Claim(replay=_replay(existing))


def _reused() -> DomainError:
    return DomainError(
        IDEMPOTENCY_KEY_REUSED.description,
        kind=IDEMPOTENCY_KEY_REUSED,
        errors=[
            FieldError("Already used with another body", parameter="Idempotency-Key").as_dict()
        ],
    )


async def _keep(session: AsyncSession, record_id: uuid.UUID, response: Response) -> None:
    """Store `response` for replays, in the work's own transaction."""
    headers = {
        name: value for name, value in response.headers.items() if name.lower() in REPLAYED_HEADERS
    }
    await session.execute(
        update(IdempotencyRecord)
        .where(column_of(IdempotencyRecord.id) == record_id)
        .values(
            completed=True,
            response_status=response.status_code,
            response_headers=headers,
            response_body=bytes(response.body).decode(),
        )
    )


async def release(database: Database, record_id: uuid.UUID) -> None:
    """Free a claim whose work failed (even while the request is being cancelled)."""
    with anyio.CancelScope(shield=True):
        async with database.session(write=True) as session:
            await session.execute(
                delete(IdempotencyRecord).where(column_of(IdempotencyRecord.id) == record_id)
            )
            await session.commit()


Work = Callable[[AsyncSession], Awaitable[Response]]


@dataclass(frozen=True)
class CreateOnce:
    """What a creating endpoint gets: `run(work)` runs the work once per Idempotency-Key."""

    database: Database
    actor: Actor
    method: str
    path: str
    key: str | None
    body: bytes

    async def _transaction(self, work: Work, record_id: uuid.UUID | None) -> Response:
        async with self.database.session(write=True) as session:
            set_actor(session, self.actor)
            response = await work(session)
            if record_id is not None:
                await _keep(session, record_id, response)
            await session.commit()
        return response

    async def run(self, work: Work) -> Response:
        """Claim the key, then do `work` in a transaction of its own, keep its response, commit;
        release the claim if any of it fails."""
        if self.key is None:
            return await self._transaction(work, None)
        claimed = await claim(
            self.database,
            client=self.actor.client_id or self.actor.subject,
            method=self.method,
            path=self.path,
            key=self.key,
            fingerprint=request_fingerprint(self.body),
        )
        if claimed.replay is not None:
            return claimed.replay
        assert claimed.record_id is not None
        try:
            return await self._transaction(work, claimed.record_id)
        except BaseException:
            await release(self.database, claimed.record_id)
            raise


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes a create safe to retry: the same key and body replay the first "
        "response for 24 hours.",
    ),
]


def idempotent(caller: Any) -> Any:
    """The dependency of a creating POST: `create: Annotated[CreateOnce, idempotent(require(
    Scope.registry_write))]`. `caller` is the route's access dependency, so keys are scoped to
    the calling client and the work's changes are audited as its."""

    async def create_once(
        request: Request,
        database: Annotated[Database, Depends(get_database)],
        key: IdempotencyKeyHeader = None,
        # A default rather than Annotated: `caller` is local to this factory, and annotations
        # are resolved in the module's namespace.
        principal: Actor = caller,
    ) -> CreateOnce:
        return CreateOnce(
            database=database,
            actor=principal,
            method=request.method,
            path=request.url.path,
            key=key,
            body=await request.body() if key is not None else b"",
        )

    create_once.ippc_create_once = True  # type: ignore[attr-defined]
    return Depends(create_once)


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for child in dependant.dependencies:
        yield from _calls(child)


def check_routes(routes: Sequence[BaseRoute]) -> None:
    """Refuse a route that takes both a `CreateOnce` and the request's session."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        calls = list(_calls(context.dependant))
        creates = any(getattr(call, "ippc_create_once", False) for call in calls)
        if creates and request_session in calls:
            raise RuntimeError(
                f"{route.name}: an idempotent create runs its work through CreateOnce.run, "
                "which owns its transaction; it must not also take the request's session"
            )
