"""The request's database session: one transaction per request, committed before the response.

The dependency is declared with `scope="function"`, so its exit runs as soon as the endpoint
returns and before the response is sent: a commit that fails becomes the request's error
response, never a 201 that did not happen. An exception in the endpoint rolls back.

The changes of a writing request are audited as the caller's: the access dependency leaves the
caller on the request (`request.state.principal`), and the session takes it as its actor
before committing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database
from app.core.tracking import set_actor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


T = TypeVar("T")


def per_app(request: Request, name: str, make: Callable[[], T]) -> T:
    """The application's one `name` (a cache, a counter of exports), made on first use and kept
    as long as the application: on `app.state`, where tests can reach it too."""
    state = request.app.state
    value: T | None = getattr(state, name, None)
    if value is None:
        value = make()
        setattr(state, name, value)
    return value


def database_of(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


# Dependencies are `async def`: FastAPI runs a plain `def` dependency in a thread pool, a thread
# hop on every request for what is an attribute read.
async def get_database(request: Request) -> Database:
    return database_of(request)


async def get_settings_of_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    writes = request.method not in SAFE_METHODS
    async with database_of(request).session(write=writes) as session:
        yield session
        if writes:
            caller = getattr(request.state, "principal", None)
            if caller is not None:
                set_actor(session, caller)
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_of_app)]
DatabaseDep = Annotated[Database, Depends(get_database)]
