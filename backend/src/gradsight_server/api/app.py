"""The FastAPI application: routes under /api/v1, the dashboard at /."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gradsight_server import __version__
from gradsight_server.api import errors
from gradsight_server.api.context import AppContext
from gradsight_server.api.openapi import BATCH_V1
from gradsight_server.api.routes import batches, health, runs, series, static
from gradsight_server.ingest.maintenance import REQUEUE_GRACE, Maintenance, sweep
from gradsight_server.ingest.queue import IngestQueue, InProcessQueue
from gradsight_server.settings import Settings, get_settings
from gradsight_server.store import migrate
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


def make_queue(settings: Settings, db: Database) -> IngestQueue:
    if settings.redis_url:
        from gradsight_server.ingest.celery_app import CeleryQueue, make_celery

        return CeleryQueue(make_celery(settings))
    return InProcessQueue(db)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url()
        if settings.auto_migrate:
            migrate.upgrade(url)
        db = Database(url)
        queue = make_queue(settings, db)
        queue.start()
        app.state.context = AppContext(settings=settings, db=db, queue=queue)
        try:
            # Enqueue what a previous process staged but never applied.
            sweep(db, queue, settings, grace=timedelta(0) if queue.name == "inprocess" else REQUEUE_GRACE)
        except Exception:
            log.exception("startup sweep failed")
        maintenance = Maintenance(db, queue, settings)
        maintenance.start()
        log.info("gradsight %s: store=%s queue=%s", __version__, db.backend, queue.name)
        try:
            yield
        finally:
            maintenance.stop()
            queue.stop()
            db.dispose()

    app = FastAPI(
        title="Gradsight",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    errors.install(app)
    for module in (health, runs, batches, series):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(static.make_router(static.find_static_dir(settings.static_dir)))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {})["BatchV1"] = BATCH_V1
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
