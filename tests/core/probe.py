"""A router used only by the tests of the plumbing: a JSON body, a crash, a write."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI
from pydantic import ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

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
