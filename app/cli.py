"""The `ippc` command: migrate, serve, and export the contract."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

from app.core.config import Settings, get_settings


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    from app.core.migrate import upgrade

    asyncio.run(upgrade(settings.resolved_database_url()))
    print("database is at the latest schema", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.core.logging import configure_logging

    configure_logging(settings.log_level)
    if not args.no_migrate:
        _migrate(args, settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    return 0


def _openapi(args: argparse.Namespace, _settings: Settings) -> int:
    from app.core.openapi import CONTRACT_PATH, render_contract
    from app.main import create_app

    target = args.output or CONTRACT_PATH
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(render_contract(create_app()))
    print(f"wrote {target}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ippc", description="IPPC Partnerships API")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = commands.add_parser("migrate", help="bring the database to the latest schema")
    migrate.set_defaults(handler=_migrate)

    serve = commands.add_parser("serve", help="run the service (migrating first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate before serving")
    serve.set_defaults(handler=_serve)

    openapi = commands.add_parser("openapi", help="write the contract to openapi/openapi.json")
    openapi.add_argument("--output", help="another file to write it to")
    openapi.set_defaults(handler=_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    return handler(args, get_settings())


if __name__ == "__main__":
    sys.exit(main())
