"""The FastAPI application: routes under /api/v1, the dashboard at /."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gradsight_server import __version__
from gradsight_server.alerts.dispatch import AlertDispatch, InProcessAlerts
from gradsight_server.api import errors
from gradsight_server.api.access import AuthGate
from gradsight_server.api.broadcast import Broadcaster, RedisListener
from gradsight_server.api.context import AppContext
from gradsight_server.api.openapi import BATCH_V1, SECURITY_SCHEMES
from gradsight_server.api.routes import (
    advisor,
    auth,
    batches,
    export,
    health,
    projects,
    runs,
    series,
    static,
    stream,
    users,
    webhooks,
)
from gradsight_server.api.schemas import ErrorOut
from gradsight_server.api.security import SecurityMiddleware
from gradsight_server.auth.ratelimit import make_limiter
from gradsight_server.ingest.debounce import InProcessDebouncer
from gradsight_server.ingest.maintenance import Maintenance, sweep
from gradsight_server.ingest.queue import InProcessQueue
from gradsight_server.ingest.service import IngestQueue
from gradsight_server.ingest.tasks import AfterApply, diagnosis_pass
from gradsight_server.settings import Settings, get_settings
from gradsight_server.store import migrate
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
# Any route may answer these (api/access.py, api/security.py); documented so clients and the
# schema fuzzer know them.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "malformed body (not UTF-8 JSON, nested too deeply)"},
    401: {"model": ErrorOut, "description": "credentials missing or invalid (not in local mode)"},
    403: {"model": ErrorOut, "description": "not permitted, or a cross-site write"},
    413: {"model": ErrorOut, "description": "request body too large"},
    429: {"model": ErrorOut, "description": "rate limited; see Retry-After"},
}


@dataclass
class Ingest:
    """The queue that applies staged batches and what runs next to it in this process."""

    queue: IngestQueue
    alerts: AlertDispatch
    debouncer: InProcessDebouncer | None = None
    listener: RedisListener | None = None
    alert_thread: InProcessAlerts | None = None


def make_ingest(settings: Settings, db: Database, broadcaster: Broadcaster) -> Ingest:
    """Celery workers apply batches and send alerts when Redis is configured (this process only
    listens for their notices); otherwise threads here do, with an in-process debouncer."""
    if settings.redis_url:
        from gradsight_server.ingest.celery_app import CeleryAlerts, CeleryQueue, make_celery

        app = make_celery(settings)
        return Ingest(
            CeleryQueue(app, settings.redis_url, settings.diagnosis_debounce_s),
            CeleryAlerts(app),
            listener=RedisListener(settings.redis_url, broadcaster),
        )
    alert_thread = InProcessAlerts(db, settings)
    debouncer = InProcessDebouncer(
        settings.diagnosis_debounce_s,
        functools.partial(
            diagnosis_pass,
            db,
            publish=broadcaster.publish,
            send_alert=alert_thread.send,
            public_url=settings.public_url,
        ),
    )
    queue = InProcessQueue(db, AfterApply(broadcaster.publish, debouncer.request), settings.compact_after_s)
    return Ingest(queue, alert_thread, debouncer=debouncer, alert_thread=alert_thread)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url()
        if settings.auto_migrate:
            migrate.upgrade(url)
        db = Database(url)
        broadcaster = Broadcaster()
        broadcaster.bind(asyncio.get_running_loop())
        ingest = make_ingest(settings, db, broadcaster)
        for part in (ingest.alert_thread, ingest.debouncer, ingest.queue, ingest.listener):
            if part is not None:
                part.start()
        app.state.context = AppContext(
            settings=settings,
            db=db,
            queue=ingest.queue,
            broadcaster=broadcaster,
            should_exit=getattr(app.state, "should_exit", lambda: False),
            auth=AuthGate(settings, db, make_limiter(settings.redis_url)),
            alerts=ingest.alerts,
        )
        try:
            # Enqueue what a previous process staged but never applied.
            sweep(
                db, ingest.queue, settings, grace=timedelta(0) if ingest.queue.name == "inprocess" else None
            )
        except Exception:
            log.exception("startup sweep failed")
        maintenance = Maintenance(db, ingest.queue, settings, ingest.alerts.send)
        maintenance.start()
        # Everything imported and built so far lives as long as the process: keep it out of the
        # collector's full passes, which otherwise rescan it whenever a query allocates a few
        # thousand rows (measured: a 16,000-row fetch took 3 ms, or 35 ms when a pass landed).
        gc.freeze()
        log.info("gradsight %s: store=%s queue=%s", __version__, db.backend, ingest.queue.name)
        try:
            yield
        finally:
            broadcaster.close()
            if ingest.listener is not None:
                await ingest.listener.stop()
            maintenance.stop()
            ingest.queue.stop()
            if ingest.debouncer is not None:
                ingest.debouncer.stop()
            if ingest.alert_thread is not None:
                ingest.alert_thread.stop()
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
    app.add_middleware(SecurityMiddleware, settings=settings, api_prefix=API_PREFIX)
    for module in (health, runs, batches, series, export, stream, advisor):
        app.include_router(module.router, prefix=API_PREFIX, responses=COMMON_ERRORS)
    for module in (auth, projects, users, webhooks):  # accounts, keys and alerts (docs/security.md)
        app.include_router(module.router, prefix=API_PREFIX, responses=COMMON_ERRORS)
    app.include_router(static.make_router(static.find_static_dir(settings.static_dir)))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {})["BatchV1"] = BATCH_V1
            components["securitySchemes"] = SECURITY_SCHEMES
            schema["security"] = [{"apiKey": []}, {"session": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
