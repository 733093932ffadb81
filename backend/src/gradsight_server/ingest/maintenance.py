"""Periodic work, run by every API process (idempotent, so replicas may overlap):
runs silent for ``GRADSIGHT_STALE_AFTER_S`` become crashed, staged batches whose queue
message failed or may be lost are enqueued again, due alert deliveries are handed to their
senders, and expired login sessions are deleted.

A staged batch is durable in the database, so the broker is only a doorbell: when Redis was
down at staging time, or restarted and lost its messages, or a worker died holding them,
this sweep rings again. Each batch is re-sent at most once per ``GRADSIGHT_REQUEUE_AFTER_S``
(``enqueued_at`` is stamped), so a long backlog is not amplified by sweeps; a duplicate
message is a no-op for the worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from gradsight_server.alerts import service as alerts
from gradsight_server.auth import service as accounts
from gradsight_server.ingest.service import IngestQueue
from gradsight_server.ingest.throttle import Throttle
from gradsight_server.settings import Settings
from gradsight_server.store import batches, runs
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)
_BROKER_DOWN, _DATABASE_DOWN = Throttle(), Throttle()


def sweep(
    db: Database, queue: IngestQueue, settings: Settings, grace: timedelta | None = None
) -> tuple[int, int]:
    """One pass. Returns (runs marked crashed, batches re-enqueued).

    ``grace`` (default ``GRADSIGHT_REQUEUE_AFTER_S``) keeps batches whose message is still in
    flight from being sent twice; it is zero at the start of an embedded server, whose
    in-memory queue died with the previous process.
    """
    if grace is None:
        grace = timedelta(seconds=settings.requeue_after_s)
    t = runs.now()
    with db.write_session() as session:
        crashed = runs.mark_stale_crashed(session, t - timedelta(seconds=settings.stale_after_s))
    with db.write_session() as session:
        pending = batches.take_for_requeue(session, t - grace)
    requeued = 0
    for pk in pending:
        try:
            queue.enqueue(pk)
            requeued += 1
        except Exception as exc:
            if _BROKER_DOWN.ready():
                log.warning("re-enqueue of staged batches failed (%s); sweeps keep trying", exc)
            with db.write_session() as session:
                batches.mark_unqueued(session, pending[requeued:])
            break
    if crashed or requeued:
        log.info("maintenance: %d run(s) marked crashed, %d batch(es) re-enqueued", crashed, requeued)
    return crashed, requeued


def sweep_alerts(db: Database, send: Callable[[int], None]) -> int:
    """Hand due alert deliveries (first attempts whose message was lost, and retries) to the
    senders. Returns how many."""
    due = alerts.take_due(db)
    for pk in due:
        send(pk)
    return len(due)


class Maintenance:
    PURGE_EVERY_S = 600.0

    def __init__(
        self,
        db: Database,
        queue: IngestQueue,
        settings: Settings,
        send_alert: Callable[[int], None] | None = None,
    ) -> None:
        self._db, self._queue, self._settings = db, queue, settings
        self._send_alert = send_alert
        self._purged_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gradsight-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._settings.maintenance_interval_s):
            try:
                sweep(self._db, self._queue, self._settings)
                if self._send_alert is not None:
                    sweep_alerts(self._db, self._send_alert)
                if time.monotonic() - self._purged_at > self.PURGE_EVERY_S:
                    self._purged_at = time.monotonic()
                    accounts.purge_sessions(self._db)
            except OperationalError as exc:  # the database is down: expected, said once a minute
                if _DATABASE_DOWN.ready():
                    log.warning("maintenance sweep failed: database unavailable (%s)", exc.orig)
            except Exception:
                log.exception("maintenance sweep failed")
