"""`Idempotency-Key` on POSTs that create (design §8).

Keys are scoped to the client, the method and the path, and kept 24 hours:
- the same key with the same body replays the first response (status, body, Location, ETag),
  marked `Idempotent-Replayed: true`;
- the same key with another body is a 422;
- the same key while the first request is still being processed is a 409 (`Retry-After`).

The key is claimed in a transaction of its own, committed before the work starts, so that a
second request sees the claim at once. The response is stored in the request's own transaction,
so that it is kept exactly when the work is. If the work fails, the claim is released and the key
can be used again. A claim left by a process that died is taken over after `ABANDONED_AFTER`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Protocol

from fastapi import Depends, Header, Request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.core.db import Database, column_of, utcnow
from app.core.errors import Conflict, DomainError, FieldError, problem_type
from app.core.session import get_database
from app.models.idempotency import IdempotencyRecord

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


class Caller(Protocol):
    subject: str
    client_id: str | None


def request_fingerprint(body: bytes) -> str:
    """The same JSON (whatever its spacing or key order) gives the same fingerprint."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        data = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        data = body
    return hashlib.sha256(data).hexdigest()


@dataclass
class Idempotency:
    """What the endpoint needs: a response to replay, or a way to keep its own response."""

    record_id: uuid.UUID | None = None
    replay: Response | None = None
    completed: bool = field(default=False)

    async def keep(self, session: AsyncSession, response: Response) -> Response:
        """Store `response` for replays, in the request's transaction, and return it."""
        if self.record_id is not None:
            headers = {
                name: value
                for name, value in response.headers.items()
                if name.lower() in REPLAYED_HEADERS
            }
            await session.execute(
                update(IdempotencyRecord)
                .where(column_of(IdempotencyRecord.id) == self.record_id)
                .values(
                    completed=True,
                    response_status=response.status_code,
                    response_headers=headers,
                    response_body=bytes(response.body).decode(),
                )
            )
            self.completed = True
        return response


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


async def _claim(
    database: Database, *, client: str, method: str, path: str, key: str, fingerprint: str
) -> Idempotency:
    now = utcnow()
    scope = (
        (column_of(IdempotencyRecord.client) == client)
        & (column_of(IdempotencyRecord.method) == method)
        & (column_of(IdempotencyRecord.path) == path)
        & (column_of(IdempotencyRecord.key) == key)
    )
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
            return Idempotency(record_id=record.id)
        except IntegrityError:
            await session.rollback()
        existing = (await session.execute(select(IdempotencyRecord).where(scope))).scalar_one()
    if existing.request_hash != fingerprint:
        raise DomainError(
            IDEMPOTENCY_KEY_REUSED.description,
            kind=IDEMPOTENCY_KEY_REUSED,
            errors=[
                FieldError("Already used with another body", parameter="Idempotency-Key").as_dict()
            ],
        )
    if not existing.completed:
        raise Conflict(
            IDEMPOTENCY_IN_FLIGHT.description,
            kind=IDEMPOTENCY_IN_FLIGHT,
            headers={"Retry-After": "1"},
        )
    return Idempotency(replay=_replay(existing))


async def _release(database: Database, record_id: uuid.UUID) -> None:
    async with database.session(write=True) as session:
        await session.execute(
            delete(IdempotencyRecord).where(column_of(IdempotencyRecord.id) == record_id)
        )
        await session.commit()


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
    """The dependency for a creating POST. `caller` is the route's own access dependency
    (e.g. `require(Scope.registry_write)`), so keys are scoped to the calling client.

    Declare it before the request's session in the endpoint's signature: dependencies exit in
    reverse order, so it then exits after the session's commit and sees a failed commit."""

    async def dependency(
        request: Request,
        database: Annotated[Database, Depends(get_database)],
        key: IdempotencyKeyHeader = None,
        # A default rather than Annotated: `caller` is local to this factory, and annotations
        # are resolved in the module's namespace.
        principal: Caller = caller,
    ) -> AsyncIterator[Idempotency]:
        if key is None:
            yield Idempotency()
            return
        state = await _claim(
            database,
            client=principal.client_id or principal.subject,
            method=request.method,
            path=request.url.path,
            key=key,
            fingerprint=request_fingerprint(await request.body()),
        )
        try:
            yield state
        except BaseException:
            # The work failed, or its commit did: the key may be used again.
            if state.record_id is not None:
                await _release(database, state.record_id)
            raise
        if state.record_id is not None and not state.completed:
            await _release(database, state.record_id)

    return Depends(dependency, scope="function")
