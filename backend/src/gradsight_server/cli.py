"""``gradsight-server``: serve (API + dashboard), worker (Celery), migrate (Alembic), and the
account commands that bootstrap a server requiring authentication: create-admin,
create-user, create-project, create-key."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from gradsight_server import __version__
from gradsight_server.settings import get_settings

if TYPE_CHECKING:
    from gradsight_server.store.engine import Database


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gradsight_server.api.app import create_app

    settings = get_settings()
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    # The app decides local mode from the address it is really bound to.
    settings = settings.model_copy(update={"host": host, "port": port})
    print(f"Gradsight {__version__}: dashboard at http://{host}:{port}/", flush=True)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=args.access_log,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    # Uvicorn waits for open responses before shutting down; live event streams poll this
    # and end, so a stop is not held up by open dashboards.
    app.state.should_exit = lambda: server.should_exit
    server.run()
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.redis_url:
        print("gradsight-server worker needs GRADSIGHT_REDIS_URL (the Celery broker)", file=sys.stderr)
        return 2
    from gradsight_server.ingest.celery_app import WORKER_QUEUES, celery

    argv = ["worker", f"--loglevel={settings.log_level}", f"--concurrency={args.concurrency}"]
    argv.append(f"--queues={','.join(WORKER_QUEUES)}")
    if args.hostname:
        argv.append(f"--hostname={args.hostname}")
    celery.worker_main(argv)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from gradsight_server.store import migrate

    url = get_settings().resolved_database_url()
    migrate.upgrade(url, args.revision)
    print(f"database at revision {migrate.current_revision(url)}")
    return 0


PASSWORD_ENV = "GRADSIGHT_NEW_PASSWORD"


def _read_password(args: argparse.Namespace) -> str:
    """From stdin (``--password-stdin``), the one-off GRADSIGHT_NEW_PASSWORD variable (for
    scripts; not a setting, never logged), or a prompt. Never from the command line, where
    ``ps`` and shell history would show it."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first


def _account_command(
    fn: Callable[[argparse.Namespace, Database], int],
) -> Callable[[argparse.Namespace], int]:
    """Run an account command; domain errors become a one-line message and exit status 1."""

    def run(args: argparse.Namespace) -> int:
        from gradsight_server.errors import Conflict, Invalid, NotFound
        from gradsight_server.store import migrate
        from gradsight_server.store.engine import Database

        settings = get_settings()
        if settings.auto_migrate:  # embedded: the first command may come before the first serve
            migrate.upgrade(settings.resolved_database_url())
        db = Database(settings.resolved_database_url())
        try:
            result: int = fn(args, db)
            return result
        except (Conflict, Invalid, NotFound) as exc:
            print(f"gradsight-server {args.command}: {exc}", file=sys.stderr)
            return 1
        finally:
            db.dispose()

    return run


@_account_command
def _create_user(args: argparse.Namespace, db: Database) -> int:
    from gradsight_server.auth import service

    admin = args.command == "create-admin" or args.admin
    user = service.create_user(db, args.username, _read_password(args), admin=admin)
    kind = "server administrator" if admin else "user"
    print(f"created {kind} {user['username']!r}; the server now requires sign-in")
    return 0


@_account_command
def _create_project(args: argparse.Namespace, db: Database) -> int:
    from gradsight_server.auth import service

    owner = None
    if args.owner:
        from gradsight_server.store import accounts

        with db.session() as session:
            user = accounts.user_by_name(session, args.owner.lower())
        if user is None:
            print(f"gradsight-server create-project: user {args.owner!r} not found", file=sys.stderr)
            return 1
        owner = user.pk
    project = service.create_project(db, args.name, owner)
    print(f"created project {project['name']!r}")
    return 0


@_account_command
def _create_key(args: argparse.Namespace, db: Database) -> int:
    from gradsight_server.auth import service

    key = service.create_key(db, args.project, args.name, args.scope, args.rate_limit)
    # The key goes to stdout alone (scripts capture it); the explanation to stderr.
    print(
        f"{args.scope} key {key['prefix']}… for project {args.project!r} (shown once, not stored):",
        file=sys.stderr,
    )
    print(key["key"], flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradsight-server", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API and dashboard")
    serve.add_argument("--host", default=None, help="bind address (default GRADSIGHT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default GRADSIGHT_PORT or 8000)")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run a Celery worker (ingest + diagnosis)")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--hostname", default=None, help="Celery node name (several workers per host)")
    worker.set_defaults(run=_worker)

    mig = commands.add_parser("migrate", help="upgrade the database schema")
    mig.add_argument("revision", nargs="?", default="head")
    mig.set_defaults(run=_migrate)

    for name, text in (("create-admin", "create a server administrator"), ("create-user", "create a user")):
        cmd = commands.add_parser(name, help=text)
        cmd.add_argument("username")
        cmd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        if name == "create-user":
            cmd.add_argument("--admin", action="store_true", help="make the user a server administrator")
        cmd.set_defaults(run=_create_user)

    proj = commands.add_parser("create-project", help="create a project")
    proj.add_argument("name")
    proj.add_argument("--owner", help="user to make the project's admin")
    proj.set_defaults(run=_create_project)

    key = commands.add_parser("create-key", help="create an API key (printed once)")
    key.add_argument("--project", required=True)
    key.add_argument("--scope", choices=["ingest", "read"], default="ingest")
    key.add_argument("--name", default="cli")
    key.add_argument(
        "--rate-limit", type=int, default=None, help="requests per minute (default: the server's)"
    )
    key.set_defaults(run=_create_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # per-plugin INFO lines are noise
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
