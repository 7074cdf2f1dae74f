"""The baseline: a bare FastAPI app with one JSON endpoint, served as `ippc serve` serves the
service (the same uvicorn, one worker, the same loop and HTTP implementations, no access log).

    python -m bench.hello --port P
"""

from __future__ import annotations

import argparse
from typing import Any

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


def server_options(host: str, port: int) -> dict[str, Any]:
    """`uvicorn.run`'s arguments: those of `ippc serve --workers 1` (a test compares them), so
    that the two servers differ only by the app they serve. The loop and HTTP implementations
    are uvicorn's defaults in both (uvloop and httptools, when installed)."""
    return {
        "factory": True,
        "host": host,
        "port": port,
        "workers": 1,
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,
    }


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="The bench's baseline server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    uvicorn.run("bench.hello:create_app", **server_options(arguments.host, arguments.port))


if __name__ == "__main__":
    main()
