"""The `ippc` command: migrate, serve, manage the embedded issuer's clients and keys, load the
demo register, and export the contract.

The `clients` and `keys` commands bring the database to the latest schema first, as `serve` does,
so they work on a database that has never been migrated.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from app.auth.scopes import Principal
from app.core.config import AuthMode, Environment, Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
ROLES = ("secretariat", "bureau", "integration")


async def upgrade(url: str) -> None:
    """Bring the database at `url` to the latest schema, then what follows an upgrade: the
    public register's own rows, written anew when this code writes them otherwise."""
    from app.core.migrate import upgrade as upgrade_schema
    from app.public import register

    assert register.rebuild_when_stale is not None  # registered with the upgrade on import
    await upgrade_schema(url)


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
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
        "app.main:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        # The caller's address is read from X-Forwarded-For by the service itself, only from
        # the proxies of IPPC_TRUSTED_PROXIES (`core/ratelimit.py`); uvicorn's own reading
        # would trust 127.0.0.1 whatever that setting says.
        proxy_headers=False,
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


class CommandFailed(Exception):
    """A command that cannot do what was asked: its message goes to stderr, exit status 1."""


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate, then run `work` in one writing transaction, committed when it succeeds."""
    from sqlalchemy.pool import NullPool

    from app.audit import service as audit_trail  # the audit trail records the changes
    from app.core.db import Database
    from app.core.errors import DomainError
    from app.core.tracking import set_actor

    if settings.auth_mode is not AuthMode.embedded:
        raise CommandFailed(
            "the embedded token issuer is off (IPPC_AUTH_MODE=external): clients and keys "
            "are managed in the identity provider"
        )

    assert audit_trail.write_events is not None

    async def run() -> T:
        url = settings.resolved_database_url()
        await upgrade(url)
        database = Database(url, poolclass=NullPool)
        try:
            async with database.session(write=True) as session:
                set_actor(session, operator())
                result = await work(session)
                await session.commit()
                return result
        except DomainError as error:
            raise CommandFailed(error.detail) from error
        finally:
            await database.dispose()

    return asyncio.run(run())


def operator() -> Principal:
    """Who changes the service's clients from the command line: the operating-system user, as
    the audit trail's actor (the command runs on a server, by someone with its credentials)."""
    return Principal(
        subject=f"operator:{getpass.getuser()}", client_id=None, role=None, scopes=frozenset()
    )


def _print_credentials(client_id: str, secret: str, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        print(f"client_id:     {client_id}")
        print(f"client_secret: {secret}")
    print("Store the secret now: it is shown this once and cannot be recovered.", file=sys.stderr)


def _clients_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth.clients import create_client
    from app.auth.scopes import Role

    name = args.name.strip()
    if not 1 <= len(name) <= 200:
        raise CommandFailed("--name must have 1 to 200 characters")
    issued = _in_transaction(
        settings,
        lambda session: create_client(session, name=name, role=Role(args.role)),
    )
    _print_credentials(issued.client_id, issued.client_secret, as_json=args.json)
    return 0


def _clients_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth.clients import list_clients

    clients = _in_transaction(settings, list_clients)
    rows = [
        {
            "client_id": str(client.id),
            "name": client.name,
            "role": client.role,
            "status": "revoked" if client.revoked else "active",
            "created_at": client.created_at.isoformat(),
        }
        for client in clients
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['client_id']}  {row['role']:<12} {row['status']:<8} "
            f"{row['created_at']}  {row['name']}"
        )
    if not rows:
        print("no clients yet: ippc clients create --role ROLE --name NAME", file=sys.stderr)
    return 0


def _clients_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth.clients import revoke_client

    _in_transaction(settings, lambda session: revoke_client(session, args.client_id))
    print(
        f"client {args.client_id} is revoked: it gets no new token; tokens it holds expire "
        f"within {settings.access_token_ttl_seconds} seconds",
        file=sys.stderr,
    )
    return 0


def _clients_rotate_secret(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth.clients import rotate_secret

    issued = _in_transaction(settings, lambda session: rotate_secret(session, args.client_id))
    _print_credentials(issued.client_id, issued.client_secret, as_json=args.json)
    return 0


def _keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth.keys import rotate_signing_key
    from app.auth.tokens import KEY_REFRESH_SECONDS

    withdraw = bool(args.withdraw_previous)
    key = _in_transaction(
        settings,
        lambda session: rotate_signing_key(session, settings, withdraw_previous=withdraw),
    )
    print(key.kid)
    if withdraw:
        print(
            "new tokens are signed with this key; every previous key is withdrawn: the tokens "
            f"they signed are refused by every instance within {KEY_REFRESH_SECONDS:g} seconds, "
            "and clients must get new ones",
            file=sys.stderr,
        )
    else:
        print(
            "new tokens are signed with this key; the previous one stays published for "
            f"{settings.access_token_ttl_seconds + settings.clock_leeway_seconds} seconds",
            file=sys.stderr,
        )
    return 0


def _demo(_args: argparse.Namespace, settings: Settings) -> int:
    """Load the fictional demo register (app/demo): migrate first, then write what is missing
    of it through the services, as the operator; never in production."""
    if settings.environment is Environment.production:
        raise CommandFailed(
            "the demo register is fictional data: it is never loaded when "
            "IPPC_ENVIRONMENT=production"
        )
    from app.core.db import Database
    from app.demo.loader import DemoFailed, Summary, load

    async def run() -> Summary:
        url = settings.resolved_database_url()
        await upgrade(url)
        database = Database(url)
        try:
            return await load(database, operator().subject)
        finally:
            await database.dispose()

    try:
        summary = asyncio.run(run())
    except DemoFailed as error:
        raise CommandFailed(f"the demo register could not be loaded: {error}") from error
    print("\n".join(summary.lines()))
    return 0


def _add_clients_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clients = commands.add_parser("clients", help="the OAuth clients of the embedded issuer")
    actions = clients.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="register a client; prints its secret once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", required=True, help="who or what the client is")
    create.add_argument("--json", action="store_true", help="print the credentials as JSON")
    create.set_defaults(handler=_clients_create)

    listing = actions.add_parser("list", help="list the clients (never their secrets)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_clients_list)

    revoke = actions.add_parser("revoke", help="revoke a client: it gets no new token")
    revoke.add_argument("client_id", metavar="ID")
    revoke.set_defaults(handler=_clients_revoke)

    rotate = actions.add_parser("rotate-secret", help="give a client a new secret")
    rotate.add_argument("client_id", metavar="ID")
    rotate.add_argument("--json", action="store_true", help="print the credentials as JSON")
    rotate.set_defaults(handler=_clients_rotate_secret)

    keys = commands.add_parser("keys", help="the signing keys of the embedded issuer")
    key_actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate_key = key_actions.add_parser("rotate", help="make a new signing key and sign with it")
    rotate_key.add_argument(
        "--withdraw-previous",
        action="store_true",
        help="a key may have leaked: withdraw every previous key at once, with no publication "
        "window (the tokens they signed stop verifying)",
    )
    rotate_key.set_defaults(handler=_keys_rotate)


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

    demo = commands.add_parser(
        "demo",
        help="load a fictional demo register (not in production); running it again changes nothing",
    )
    demo.set_defaults(handler=_demo)

    _add_clients_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        settings = settings or get_settings()
    except ValidationError as error:
        # The settings' own messages name the variable and what is wrong; never its value
        # (it may be a secret).
        reasons = "; ".join(
            str(item["msg"]).removeprefix("Value error, ") for item in error.errors()
        )
        print(f"ippc: the settings are not valid: {reasons}", file=sys.stderr)
        return 2
    try:
        return handler(args, settings)
    except CommandFailed as error:
        print(f"ippc: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
