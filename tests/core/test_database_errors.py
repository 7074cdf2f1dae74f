"""What the database refuses never becomes a 500 it need not be, and never reaches the logs with
the request's data."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.db import Database
from app.core.logging import JsonFormatter
from tests.core.probe import SECRET


async def test_a_failed_statement_logs_no_request_data(
    probe_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await probe_client.post("/v1/probe/failing-statement")
    assert response.status_code == 500
    assert SECRET not in response.text
    records = [record for record in caplog.records if record.exc_info]
    assert records, "the failure was logged"
    formatter = JsonFormatter()
    for record in records:
        line = formatter.format(record)
        assert SECRET not in line
        assert "Traceback" in line  # the frames are kept, for whoever debugs it
    assert "failing_statement" in formatter.format(records[0])


async def test_an_unforeseen_unique_violation_is_409(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe/duplicate-objective")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/conflict"


async def test_a_deadlock_victim_is_asked_to_retry(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe/deadlock")
    assert response.status_code == 409
    assert response.headers["retry-after"] == "1"
    assert "retry" in response.json()["detail"]


async def test_statement_errors_hide_their_parameters(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.session(write=False) as session:
            with pytest.raises(DBAPIError) as caught:
                await session.execute(text("SELECT :value FROM no_such_table"), {"value": SECRET})
    finally:
        await database.dispose()
    assert SECRET not in str(caught.value)
    assert "hidden" in str(caught.value)
