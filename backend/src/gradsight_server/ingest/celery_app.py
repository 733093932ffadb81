"""The Celery application (``gradsight-server worker``) and the queue the API uses to reach it.

Tasks carry a ledger id only. ``acks_late`` + ``task_reject_on_worker_lost`` mean a task
whose worker dies is redelivered; the ledger makes the redelivery a no-op if the first
attempt had committed. With Redis as broker an unacknowledged task comes back only after
``visibility_timeout``; we set it to 5 minutes instead of Celery's one hour, so a killed
worker delays its batches by at most that long, at the cost that a task running longer
than 5 minutes would be delivered twice (harmless: applying is idempotent).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from sqlalchemy.exc import OperationalError

from gradsight_server.ingest.service import apply
from gradsight_server.settings import Settings, get_settings
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)

APPLY_TASK = "gradsight.ingest.apply"
VISIBILITY_TIMEOUT_S = 300


def make_celery(settings: Settings) -> Celery:
    app = Celery("gradsight", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=4,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        worker_hijack_root_logger=False,
        # The API publishes after the batch is staged; if Redis is down the maintenance sweep
        # publishes again later, so do not hold the request in kombu's default retry loop.
        broker_connection_timeout=2,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
    )
    return app


celery = make_celery(get_settings())
_db: Database | None = None


def worker_db() -> Database:
    """One engine per worker process, created after the fork."""
    global _db
    if _db is None:
        _db = Database(get_settings().resolved_database_url())
    return _db


@celery.task(  # type: ignore[untyped-decorator]
    name=APPLY_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=20,
)
def apply_task(ledger_pk: int) -> dict[str, Any]:
    result = apply(worker_db(), ledger_pk)
    log.info("batch %s: %s (%d points)", ledger_pk, result.status, result.points)
    return {"status": result.status, "points": result.points}


class CeleryQueue:
    name = "celery"

    def __init__(self, app: Celery = celery) -> None:
        self._app = app

    def enqueue(self, ledger_pk: int) -> None:
        self._app.send_task(APPLY_TASK, args=[ledger_pk])

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
