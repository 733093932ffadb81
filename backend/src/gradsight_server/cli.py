"""``gradsight-server``: serve (API + dashboard), worker (Celery), migrate (Alembic)."""

from __future__ import annotations

import argparse
import logging
import sys

from gradsight_server import __version__
from gradsight_server.settings import get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gradsight_server.api.app import create_app

    settings = get_settings()
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
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
