"""The Celery application (``gradsight-server worker``) and the queue the API uses to reach it.

Tasks carry ids only (a ledger id, a run pk). Delivery guarantees, and what they cost:

- ``acks_late`` + ``task_reject_on_worker_lost``: a task is acknowledged after it ran, and a
  task whose pool process dies is requeued. Applying is idempotent (the ledger), so any
  redelivery is harmless: a batch applied before is a no-op.
- A whole worker killed (SIGKILL, OOM, power) leaves its reserved messages unacknowledged
  in Redis; kombu restores them after ``visibility_timeout``
  (``GRADSIGHT_BROKER_VISIBILITY_TIMEOUT_S``, 300 s here instead of Celery's hour). Shorter
  recovers sooner but redelivers a message a slow worker still holds (prefetched or running
  longer than the timeout): wasted work, never wrong data. Independently, the API's
  maintenance sweep re-enqueues batches still staged after ``GRADSIGHT_REQUEUE_AFTER_S``, so
  ingest recovers within that even if a message is lost outright (Redis restarted
  without its append-only file).
- Countdowns (retries, the debounced diagnosis) stay well below the visibility timeout, or
  Redis would hand the waiting message to a second worker.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
from celery import Celery
from sqlalchemy.exc import InterfaceError, OperationalError

from gradsight_server.ingest import compaction, tasks
from gradsight_server.ingest.broker import TRANSPORT
from gradsight_server.ingest.compaction import compact_run
from gradsight_server.ingest.debounce import RedisDebouncer
from gradsight_server.ingest.notices import RedisPublisher
from gradsight_server.settings import Settings, get_settings
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)

APPLY_TASK = "gradsight.ingest.apply"
DIAGNOSE_TASK = "gradsight.diagnose"
COMPACT_TASK = "gradsight.compact"
MAINTENANCE_QUEUE = "gradsight.maintenance"
"""Compaction has its own queue, which workers consume alongside the default one: kombu's
Redis transport takes from its queues in turn, so a burst of compaction never queues the
applies behind it (measured: p99 send → queryable 11.6 s with one shared queue)."""
WORKER_QUEUES = ("celery", MAINTENANCE_QUEUE)
COMPACT_PACE_S = 5
"""Between a run's groups of keys: runs started together close their tiles together, and their
compaction, paced, spreads over the ~80 s a tile takes to fill instead of landing at once."""
ALERT_TASK = "gradsight.alerts.deliver"
DB_DOWN = (OperationalError, InterfaceError)


def make_celery(settings: Settings) -> Celery:
    visibility = settings.broker_visibility_timeout_s
    app = Celery("gradsight", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        broker_transport=TRANSPORT,  # kombu's Redis transport, fixed to survive Redis restarts
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Celery 6's default: with acks_late, a task running when the broker connection drops
        # will be redelivered anyway, so it is cancelled rather than finished twice.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_prefetch_multiplier=4,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility,
            # Scan for expired unacknowledged messages every quarter timeout (≤ 10 s), not
            # kombu's default of every 100 s, or a short timeout would not help.
            "unacked_restore_interval": max(1, min(10, int(visibility / 4))),
            "unacked_restore_throttle": 1,
            # A Redis that vanishes without closing connections must not hang a publish.
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
        },
        worker_hijack_root_logger=False,
        # The API publishes after the batch is staged; if Redis is down the maintenance sweep
        # publishes again later, so do not hold the request in kombu's default retry loop.
        broker_connection_timeout=2,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
    )
    return app


settings = get_settings()
celery = make_celery(settings)
RETRY_BACKOFF_MAX = max(1, min(60, int(settings.broker_visibility_timeout_s / 2)))


class _Worker:
    """Per-process resources, created after the prefork pool forks."""

    db: Database | None = None
    redis: redis.Redis | None = None
    after: tasks.AfterApply | None = None
    debouncer: RedisDebouncer | None = None


def _schedule_diagnosis(run_pk: int, countdown: float) -> None:
    diagnose_task.apply_async(args=[run_pk], countdown=countdown)


def worker_db() -> Database:
    if _Worker.db is None:
        _Worker.db = Database(get_settings().resolved_database_url())
    return _Worker.db


def worker_debouncer() -> RedisDebouncer:
    if _Worker.debouncer is None:
        current = get_settings()
        assert current.redis_url, "a Celery worker always has GRADSIGHT_REDIS_URL"
        client = redis.Redis.from_url(current.redis_url, socket_timeout=2, socket_connect_timeout=2)
        _Worker.debouncer = RedisDebouncer(client, current.diagnosis_debounce_s, _schedule_diagnosis)
    return _Worker.debouncer


def worker_after_apply() -> tasks.AfterApply:
    if _Worker.after is None:
        url = get_settings().redis_url
        assert url, "a Celery worker always has GRADSIGHT_REDIS_URL"
        _Worker.after = tasks.AfterApply(RedisPublisher(url), worker_debouncer().request)
    return _Worker.after


# Both tasks retry while the database is down, backing off (jittered) up to RETRY_BACKOFF_MAX.
RETRIES: dict[str, Any] = {
    "autoretry_for": DB_DOWN,
    "retry_backoff": True,
    "retry_backoff_max": RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": 20,
}


@celery.task(name=APPLY_TASK, **RETRIES)  # type: ignore[untyped-decorator]
def apply_task(ledger_pk: int) -> dict[str, Any]:
    result = tasks.apply_batch(worker_db(), ledger_pk, worker_after_apply())
    return {"status": result.status, "points": result.points}


@celery.task(name=DIAGNOSE_TASK, **RETRIES)  # type: ignore[untyped-decorator]
def diagnose_task(run_pk: int) -> int | None:
    try:
        worker_debouncer().clear(run_pk)  # before reading: a later batch schedules the next pass
    except redis.RedisError as exc:  # the mark expires by itself; the pass still runs
        log.warning("could not clear the diagnosis mark of run %s: %s", run_pk, exc)
    return tasks.diagnosis_pass(
        worker_db(),
        run_pk,
        worker_after_apply().publish,
        send_alert=lambda pk: deliver_task.apply_async(args=[pk]),
        public_url=get_settings().public_url,
    )


@celery.task(name=ALERT_TASK, **RETRIES)  # type: ignore[untyped-decorator]
def deliver_task(delivery_pk: int) -> str:
    """One attempt at one webhook delivery (alerts/service.py): a task of its own, so a slow or
    failing destination never holds up ingest or diagnosis; later attempts are sent by the
    API's maintenance sweep when due."""
    from gradsight_server.alerts.service import deliver

    return deliver(worker_db(), delivery_pk, get_settings()).state


class CeleryAlerts:
    """The API's hand-over of due alert retries (maintenance sweep) to the workers."""

    def __init__(self, app: Celery = celery) -> None:
        self._app = app

    def send(self, delivery_pk: int) -> None:
        self._app.send_task(ALERT_TASK, args=[delivery_pk])


@celery.task(name=COMPACT_TASK, **RETRIES)  # type: ignore[untyped-decorator]
def compact_task(run_pk: int) -> int:
    """One group of keys per task, then the rest in a later task, so a run with thousands of
    keys never holds a worker for seconds. Idempotent: keys are locked SKIP LOCKED, so
    duplicate messages split or skip the work."""
    open_after = timedelta(seconds=get_settings().compact_after_s)
    done = compact_run(worker_db(), run_pk, open_after, max_keys=compaction.KEYS_PER_TRANSACTION)
    if done.pending:
        compact_task.apply_async(args=[run_pk], queue=MAINTENANCE_QUEUE, countdown=COMPACT_PACE_S)
    return done.segments


class CeleryQueue:
    name = "celery"

    def __init__(self, app: Celery = celery, redis_url: str | None = None, debounce_s: float = 5.0) -> None:
        self._app = app
        self._debouncer: RedisDebouncer | None = None
        if redis_url:
            # The same per-run mark the workers set: a heartbeat never adds a pass to one
            # already scheduled by a batch.
            client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
            self._debouncer = RedisDebouncer(client, debounce_s, self._schedule)

    def enqueue(self, ledger_pk: int) -> None:
        self._app.send_task(APPLY_TASK, args=[ledger_pk])

    def compact(self, run_pk: int) -> None:
        self._app.send_task(COMPACT_TASK, args=[run_pk], queue=MAINTENANCE_QUEUE)

    def _schedule(self, run_pk: int, countdown: float) -> None:
        self._app.send_task(DIAGNOSE_TASK, args=[run_pk], countdown=countdown)

    def request_diagnosis(self, run_pk: int) -> None:
        if self._debouncer is not None:
            self._debouncer.request(run_pk)
        else:
            self._schedule(run_pk, 0)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
