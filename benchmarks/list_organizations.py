"""How fast a page of organizations is served, against a bare hello-world in the same run.

    python benchmarks/list_organizations.py [--rows 2000] [--requests 400]

Both apps are driven in process through httpx's ASGI transport (no network, no server), on a
SQLite file made for the run, so the figures compare the service's own cost per request with
the framework's floor. It prints requests per second for each and their ratio; it asserts
nothing, and it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.auth.clients import create_client
from app.auth.scopes import Principal, Role
from app.core.config import Environment, Settings
from app.core.migrate import upgrade
from app.core.tracking import set_actor
from app.main import create_app


def hello_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


async def rate(
    client: httpx.AsyncClient, url: str, requests: int, headers: dict[str, str]
) -> float:
    for _ in range(20):  # warm up
        (await client.get(url, headers=headers)).raise_for_status()
    started = time.perf_counter()
    for _ in range(requests):
        (await client.get(url, headers=headers)).raise_for_status()
    return requests / (time.perf_counter() - started)


async def main(rows: int, requests: int) -> None:
    directory = Path(tempfile.mkdtemp())
    url = f"sqlite:///{directory / 'bench.db'}"
    await upgrade(url)
    settings = Settings(database_url=url, environment=Environment.test, log_level="WARNING")
    app = create_app(settings)
    async with app.state.database.session(write=True) as session:
        operator = Principal(
            subject="operator:bench", client_id=None, role=None, scopes=frozenset()
        )
        set_actor(session, operator)
        issued = await create_client(session, name="bench", role=Role.secretariat)
        await session.commit()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        token = (
            await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(issued.client_id, issued.client_secret),
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for index in range(rows):
            response = await client.post(
                "/v1/organizations",
                json={"name": f"Organization {index:05d}", "country": "KE", "category": "ngo"},
                headers=headers,
            )
            response.raise_for_status()
        first_page = await rate(client, "/v1/organizations?limit=50", requests, headers)
        cursor = (await client.get("/v1/organizations?limit=50&sort=-name", headers=headers)).json()
        deep_url = f"/v1/organizations?limit=50&sort=-name&cursor={cursor['next_cursor']}"
        deep_page = await rate(client, deep_url, requests, headers)
        search = await rate(
            client, "/v1/organizations?limit=50&q=organization%2000", requests, headers
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hello_app()), base_url="http://bench"
    ) as client:
        baseline = await rate(client, "/hello", requests, {})
    await app.state.database.dispose()
    print(f"rows in table:              {rows}")
    print(f"hello-world baseline:       {baseline:8.0f} req/s")
    for label, value in (
        ("first page of 50", first_page),
        ("second page, sorted -name", deep_page),
        ("search q, page of 50", search),
    ):
        print(f"{label:27} {value:8.0f} req/s  ({value / baseline:6.1%} of baseline)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=400)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.requests))
