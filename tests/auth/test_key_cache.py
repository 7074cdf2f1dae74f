"""The embedded issuer's keys as a token validator holds them: a snapshot of the published set,
honouring each key's publication window to the second, refreshed within a bounded time, and
costing a bounded number of queries whatever the tokens say.

Time is a fake: the validator's clock, its monotonic clock and its sleep all read and move one
`FakeTime`, which starts at the real time (the rows' `retired_at` are real times)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import ECKey
from sqlalchemy import delete, event, select
from sqlalchemy.exc import OperationalError

from app.auth import tokens
from app.auth.keys import (
    private_key_of,
    publication_window,
    published_public_keys,
    rotate_signing_key,
)
from app.auth.tokens import (
    EMBEDDED_POLICY,
    KEY_REFRESH_SECONDS,
    UNKNOWN_KID_REFRESH_SECONDS,
    DatabaseKeys,
    TokenValidator,
)
from app.core.config import Settings
from app.core.db import Database, column_of
from app.models.auth import SigningKey
from tests.auth.forge import bearer, embedded_key, sign, valid_claims
from tests.conftest import null_pool_database

ME = "/v1/me"


class FakeTime:
    """A clock that moves only when told to, or when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = time.time()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def install_validator(app: FastAPI, fake_time: FakeTime, **options: Any) -> DatabaseKeys:
    """The app's token validator, on `fake_time`, with a cold key cache."""
    settings: Settings = app.state.settings
    keys = DatabaseKeys(
        app.state.database,
        settings,
        **{"clock": fake_time, "monotonic": fake_time, "sleep": fake_time.sleep, **options},
    )
    app.state.token_validator = TokenValidator(
        issuer=settings.issuer,
        audience=settings.audience,
        leeway_seconds=settings.clock_leeway_seconds,
        keys=keys,
        policy=EMBEDDED_POLICY,
        clock=fake_time,
    )
    return keys


@contextmanager
def key_queries(database: Database) -> Iterator[list[str]]:
    """The statements sent to the database that read the signing keys, as they happen."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "signing_key" in statement:
            statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)


def long_lived(settings: Settings, key: ECKey, kid: str) -> str:
    """A token whose own claims stay valid for days: only its key can make it fail."""
    return sign(valid_claims(settings, exp=int(time.time()) + 10 * 86_400), key, kid=kid)


def forged(settings: Settings) -> str:
    """A token naming a made-up kid, signed by a key nobody published."""
    stranger = ECKey.generate_key("P-256")
    return sign(valid_claims(settings), stranger, kid=uuid.uuid4().hex)


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def rotate_elsewhere(url: str, settings: Settings, **options: bool) -> SigningKey:
    """`ippc keys rotate` as another instance does it: its own engine, its own transaction."""
    other = null_pool_database(url)
    try:
        async with other.session(write=True) as session:
            key = await rotate_signing_key(session, settings, **options)
            await session.commit()
        return key
    finally:
        await other.dispose()


async def test_a_rotated_key_verifies_inside_its_window_and_not_a_second_after(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    settings: Settings = app.state.settings
    old_kid, old_key = await embedded_key(app)
    new = await rotate_elsewhere(str(app.state.database.url), settings)
    async with app.state.database.session(write=False) as session:
        retired_at = (
            await session.execute(
                select(column_of(SigningKey.retired_at)).where(column_of(SigningKey.kid) == old_kid)
            )
        ).scalar_one()
    assert retired_at is not None
    end_of_window = (retired_at + publication_window(settings)).timestamp()
    # The snapshot is never refreshed here: the window is honoured from what it holds.
    keys = install_validator(app, fake_time, refresh_seconds=10 * 86_400)
    old_token = long_lived(settings, old_key, old_kid)
    new_token = long_lived(settings, private_key_of(new, None), new.kid)

    with key_queries(app.state.database) as queries:
        fake_time.now = retired_at.timestamp()
        assert (await client.get(ME, headers=bearer(old_token))).status_code == 200
        fake_time.now = end_of_window - 0.001
        assert (await client.get(ME, headers=bearer(old_token))).status_code == 200
        fake_time.now = end_of_window
        assert_invalid_token(await client.get(ME, headers=bearer(old_token)))
        assert (await client.get(ME, headers=bearer(new_token))).status_code == 200
    assert len(queries) == 1
    assert keys.refreshes == 1


async def test_a_warm_validator_answers_without_a_query(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    kid, key = await embedded_key(app)
    install_validator(app, fake_time)
    token = long_lived(app.state.settings, key, kid)
    assert (await client.get(ME, headers=bearer(token))).status_code == 200
    with key_queries(app.state.database) as queries:
        for _ in range(20):
            fake_time.now += KEY_REFRESH_SECONDS / 40
            assert (await client.get(ME, headers=bearer(token))).status_code == 200
    assert queries == []


async def test_a_deleted_key_is_refused_once_the_snapshot_is_refreshed(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    kid, key = await embedded_key(app)
    keys = install_validator(app, fake_time)
    token = long_lived(app.state.settings, key, kid)
    assert (await client.get(ME, headers=bearer(token))).status_code == 200

    # Another instance deletes the key.
    other = null_pool_database(str(app.state.database.url))
    try:
        async with other.session(write=True) as session:
            await session.execute(delete(SigningKey).where(column_of(SigningKey.kid) == kid))
            await session.commit()
    finally:
        await other.dispose()

    # Within the refresh interval the snapshot answers (the documented bound)...
    fake_time.now += KEY_REFRESH_SECONDS - 0.001
    assert (await client.get(ME, headers=bearer(token))).status_code == 200
    assert keys.refreshes == 1
    # ...and once it is that old, it is read again and the key is gone.
    fake_time.now += 0.001
    assert_invalid_token(await client.get(ME, headers=bearer(token)))
    assert keys.refreshes == 2


async def test_a_withdrawn_key_is_refused_by_every_instance_within_the_refresh_interval(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    """`ippc keys rotate --withdraw-previous` on another instance: no publication window."""
    settings: Settings = app.state.settings
    kid, key = await embedded_key(app)
    install_validator(app, fake_time)
    token = long_lived(settings, key, kid)
    assert (await client.get(ME, headers=bearer(token))).status_code == 200

    new = await rotate_elsewhere(str(app.state.database.url), settings, withdraw_previous=True)

    published = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert [jwk["kid"] for jwk in published] == [new.kid]
    fake_time.now += KEY_REFRESH_SECONDS
    assert_invalid_token(await client.get(ME, headers=bearer(token)))
    new_token = long_lived(settings, private_key_of(new, None), new.kid)
    assert (await client.get(ME, headers=bearer(new_token))).status_code == 200


async def test_a_key_made_by_another_instance_is_found(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    settings: Settings = app.state.settings
    kid, key = await embedded_key(app)
    keys = install_validator(app, fake_time)
    assert (await client.get(ME, headers=bearer(long_lived(settings, key, kid)))).status_code == 200

    new = await rotate_elsewhere(str(app.state.database.url), settings)
    fake_time.now += UNKNOWN_KID_REFRESH_SECONDS / 4
    new_token = long_lived(settings, private_key_of(new, None), new.kid)
    assert (await client.get(ME, headers=bearer(new_token))).status_code == 200
    # The request waited for the next allowed read rather than being refused.
    assert fake_time.slept == [pytest.approx(UNKNOWN_KID_REFRESH_SECONDS * 3 / 4)]
    assert keys.refreshes == 2


async def test_unknown_kids_cost_a_bounded_number_of_queries(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    settings: Settings = app.state.settings
    kid, key = await embedded_key(app)
    install_validator(app, fake_time)
    assert (await client.get(ME, headers=bearer(long_lived(settings, key, kid)))).status_code == 200

    # A flood at once: every request waits for one read.
    fake_time.now += UNKNOWN_KID_REFRESH_SECONDS / 10
    with key_queries(app.state.database) as queries:
        flood = [client.get(ME, headers=bearer(forged(settings))) for _ in range(50)]
        for response in await asyncio.gather(*flood):
            assert_invalid_token(response)
    assert len(queries) == 1

    # One after another: at most one read per interval, however many tokens.
    started = fake_time.now
    with key_queries(app.state.database) as queries:
        for _ in range(30):
            fake_time.now += UNKNOWN_KID_REFRESH_SECONDS / 10
            assert_invalid_token(await client.get(ME, headers=bearer(forged(settings))))
    elapsed = fake_time.now - started
    assert 1 <= len(queries) <= 1 + elapsed / UNKNOWN_KID_REFRESH_SECONDS


async def test_concurrent_misses_wait_for_one_read(
    app: FastAPI, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Settings = app.state.settings
    kid, _ = await embedded_key(app)
    keys = DatabaseKeys(
        app.state.database, settings, clock=fake_time, monotonic=fake_time, sleep=fake_time.sleep
    )
    assert await keys.key_for(kid) is not None
    new = await rotate_elsewhere(str(app.state.database.url), settings)
    fake_time.now += UNKNOWN_KID_REFRESH_SECONDS

    # The read waits until every request has asked for the new key.
    size = 10
    everyone_asked = asyncio.Event()
    asked = 0
    reads = 0
    original = published_public_keys

    async def paused_read(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        await everyone_asked.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(tokens, "published_public_keys", paused_read)

    async def ask() -> object:
        nonlocal asked
        asked += 1
        if asked == size:
            everyone_asked.set()
        return await keys.key_for(new.kid)

    found = await asyncio.wait_for(asyncio.gather(*(ask() for _ in range(size))), timeout=30)
    assert all(key is not None for key in found)
    assert reads == 1
    assert keys.refreshes == 2


async def test_a_failed_read_is_503_and_never_a_pass(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    kid, key = await embedded_key(app)
    install_validator(app, fake_time)
    token = long_lived(app.state.settings, key, kid)
    assert (await client.get(ME, headers=bearer(token))).status_code == 200

    async def unreachable(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(tokens, "published_public_keys", unreachable)
    fake_time.now += KEY_REFRESH_SECONDS
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    monkeypatch.undo()
    fake_time.now += UNKNOWN_KID_REFRESH_SECONDS
    assert (await client.get(ME, headers=bearer(token))).status_code == 200


async def test_unknown_kids_never_refresh_more_often_than_stale_snapshots(app: FastAPI) -> None:
    with pytest.raises(ValueError, match="at most as often"):
        DatabaseKeys(
            app.state.database,
            app.state.settings,
            refresh_seconds=1,
            unknown_kid_refresh_seconds=2,
        )


async def test_valid_tokens_never_wait_behind_unknown_kids(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    """Requests naming made-up kids wait for their next allowed read; a valid token whose
    snapshot is stale meanwhile is served at once, not held behind them."""
    settings: Settings = app.state.settings
    kid, key = await embedded_key(app)
    released = asyncio.Event()
    waiting = 0

    async def blocked_sleep(_seconds: float) -> None:
        nonlocal waiting
        waiting += 1
        await released.wait()

    install_validator(app, fake_time, sleep=blocked_sleep)
    valid = bearer(long_lived(settings, key, kid))
    assert (await client.get(ME, headers=valid)).status_code == 200  # the first read

    fake_time.now += UNKNOWN_KID_REFRESH_SECONDS / 2
    flood = [
        asyncio.create_task(client.get(ME, headers=bearer(forged(settings)))) for _ in range(20)
    ]
    for _ in range(1000):  # let every forged request reach its wait (one at least)
        if waiting == len(flood):
            break
        await asyncio.sleep(0)
    assert waiting >= 1
    fake_time.now += KEY_REFRESH_SECONDS  # the snapshot is now stale for everyone
    try:
        served = await asyncio.wait_for(client.get(ME, headers=valid), timeout=5)
    finally:
        released.set()
        forged_answers = await asyncio.gather(*flood)
    assert served.status_code == 200
    for response in forged_answers:
        assert_invalid_token(response)


async def test_requests_arriving_during_a_refresh_take_its_result(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot goes stale, one request reads it again; those that arrive meanwhile take
    that read, without waiting the unknown-kid interval on top (a one-second stall, every five
    seconds, once)."""
    settings: Settings = app.state.settings
    kid, key = await embedded_key(app)
    slept: list[float] = []

    async def never_sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.Event().wait()

    install_validator(app, fake_time, sleep=never_sleep)
    valid = bearer(long_lived(settings, key, kid))
    assert (await client.get(ME, headers=valid)).status_code == 200

    reading, release = asyncio.Event(), asyncio.Event()
    original = published_public_keys

    async def slow_read(*args: Any, **kwargs: Any) -> Any:
        reading.set()
        await release.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(tokens, "published_public_keys", slow_read)
    fake_time.now += KEY_REFRESH_SECONDS
    first = asyncio.create_task(client.get(ME, headers=valid))
    await reading.wait()
    fake_time.now += UNKNOWN_KID_REFRESH_SECONDS / 10
    second = asyncio.create_task(client.get(ME, headers=valid))
    await asyncio.sleep(0)
    release.set()
    answers = await asyncio.wait_for(asyncio.gather(first, second), timeout=5)
    assert [answer.status_code for answer in answers] == [200, 200]
    assert slept == []


# --- Tokens already verified ----------------------------------------------------------------------


def _validator(app: FastAPI) -> TokenValidator:
    validator: TokenValidator = app.state.token_validator
    return validator


async def test_a_token_is_verified_once_then_remembered(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    kid, key = await embedded_key(app)
    install_validator(app, fake_time)
    token = bearer(long_lived(app.state.settings, key, kid))
    for _ in range(5):
        assert (await client.get(ME, headers=token)).status_code == 200
    assert _validator(app).verifications == 1


async def test_a_remembered_token_still_expires_on_time(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    settings: Settings = app.state.settings
    kid, key = await embedded_key(app)
    install_validator(app, fake_time, refresh_seconds=10 * 86_400)
    expires = int(fake_time.now) + 60
    token = bearer(sign(valid_claims(settings, exp=expires), key, kid=kid))
    assert (await client.get(ME, headers=token)).status_code == 200
    fake_time.now = expires + settings.clock_leeway_seconds - 1
    assert (await client.get(ME, headers=token)).status_code == 200
    fake_time.now = expires + settings.clock_leeway_seconds
    assert_invalid_token(await client.get(ME, headers=token))
    assert _validator(app).verifications == 2  # remembered once, then checked afresh and refused


async def test_tokens_that_fail_are_never_remembered(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    install_validator(app, fake_time)
    stranger = forged(app.state.settings)
    for _ in range(3):
        assert_invalid_token(await client.get(ME, headers=bearer(stranger)))
    assert _validator(app).verifications == 3


async def test_remembered_tokens_are_bounded(
    app: FastAPI, client: httpx.AsyncClient, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "MAX_VERIFIED_TOKENS", 3)
    settings: Settings = app.state.settings
    kid, key = await embedded_key(app)
    install_validator(app, fake_time)
    many = [bearer(long_lived(settings, key, kid)) for _ in range(5)]
    for token in many:
        assert (await client.get(ME, headers=token)).status_code == 200
    assert len(_validator(app)._verified) == 3
    assert (await client.get(ME, headers=many[0])).status_code == 200  # forgotten: verified again
    assert _validator(app).verifications == 6
