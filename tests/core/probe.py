"""A router used only by the tests of the plumbing: a JSON body, a crash, a write, answers
to keep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.http import body_etag
from app.core.kept import keep_for_process
from app.core.session import SessionDep
from app.core.validation import InputModel
from app.models import StrategicObjective

router = APIRouter()


class ProbeIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=10)]
    count: int = Field(ge=0)
    tags: list[Annotated[str, Field(max_length=5)]] = Field(default_factory=list)


@router.post("/v1/probe", status_code=201)
async def create_probe(body: ProbeIn) -> dict[str, object]:
    return body.model_dump()


@router.get("/v1/probe/echo/{text}")
async def echo(text: str) -> dict[str, str]:
    """Answers any path segment, on either database: only the request guard refuses a NUL."""
    return {"text": text}


@router.get("/v1/public/boom")
async def public_boom() -> None:
    raise RuntimeError("secret internal detail: password=hunter2")


@router.get("/v1/internal-boom")
async def internal_boom() -> None:
    raise RuntimeError("secret internal detail")


PROBE_CODE = "probe.Z"


@router.post("/v1/probe/objectives", status_code=201)
async def write_objective(session: SessionDep) -> dict[str, str]:
    session.add(StrategicObjective(code=PROBE_CODE, framework="probe", letter="Z", title="Probe"))
    await session.flush()
    return {"code": PROBE_CODE}


@router.post("/v1/probe/objectives-then-fail", status_code=201)
async def write_then_fail(session: SessionDep) -> None:
    session.add(StrategicObjective(code=PROBE_CODE, framework="probe", letter="Z", title="Probe"))
    await session.flush()
    raise RuntimeError("failed after writing")


def _kept_answer(
    request: Request, mark: bool, status: int, vary: str, size: int, chunks: int = 1
) -> Response:
    """An answer that counts how often its route ran (`app.state.kept_calls`), shows the call
    and the request's Accept in its body, and is marked to be kept unless `mark` is false;
    `size` spaces follow, and with `chunks` over 1 the body is streamed in that many parts."""
    calls = getattr(request.app.state, "kept_calls", 0) + 1
    request.app.state.kept_calls = calls
    if mark:
        keep_for_process(request)
    shown = f'{{"calls": {calls}, "accept": "{request.headers.get("accept", "")}"}}'
    body = shown.encode() + b" " * size
    headers = {"ETag": body_etag(body), "Cache-Control": "public, max-age=60", "Vary": vary}
    if chunks > 1:
        parts = [body, *[b"+"] * (chunks - 1)]

        async def stream() -> AsyncIterator[bytes]:
            for part in parts:
                yield part

        return StreamingResponse(stream(), status_code=status, headers=headers)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


@router.get("/v1/public/kept")
async def public_kept(
    request: Request,
    mark: bool = True,
    status: int = 200,
    vary: str = "Accept",
    size: int = 0,
    chunks: int = 1,
) -> Response:
    return _kept_answer(request, mark, status, vary, size, chunks)


@router.get("/v1/probe/kept")
async def internal_kept(request: Request) -> Response:
    return _kept_answer(request, True, 200, "Accept", 0)


def install_probe(app: FastAPI) -> FastAPI:
    app.include_router(router)
    return app


SECRET = "s3cret-Value-that-must-not-be-logged"


@router.post("/v1/probe/failing-statement")
async def failing_statement(session: SessionDep) -> None:
    """A statement the database refuses, with request data among its parameters."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.execute(text("SELECT CAST(:value AS integer)"), {"value": SECRET})
    else:
        await session.execute(text("SELECT :value FROM no_such_table"), {"value": SECRET})


@router.post("/v1/probe/duplicate-objective", status_code=201)
async def duplicate_objective(session: SessionDep) -> None:
    """A unique violation no service foresaw."""
    for _ in range(2):
        session.add(
            StrategicObjective(code=PROBE_CODE, framework="probe", letter="Z", title="Probe")
        )
        await session.flush()


class _Deadlock(Exception):
    sqlstate = "40P01"


@router.post("/v1/probe/deadlock")
async def deadlock() -> None:
    """What the database says when it aborted this transaction so that another could go on."""
    raise DBAPIError("UPDATE organization ...", {}, _Deadlock("deadlock detected"))
