"""Periodic work, run by every API process (idempotent, so replicas may overlap):
runs silent for ``GRADSIGHT_STALE_AFTER_S`` become crashed, staged batches whose queue
message failed or may be lost are enqueued again, runs with fresh segments are compacted
(by the Celery workers, or on this thread when embedded), and about hourly raw points past
the retention window and old ledger rows are dropped (ingest/retention.py); due alert
deliveries are handed to their senders, and expired login sessions are deleted.

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
from gradsight_server.ingest.retention import prune_ledger, retention_pass
from gradsight_server.ingest.service import IngestQueue, request_diagnosis
from gradsight_server.ingest.throttle import Throttle
from gradsight_server.settings import Settings
from gradsight_server.store import batches, chunks, runs
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
        crashed_pks = runs.mark_stale_crashed(session, t - timedelta(seconds=settings.stale_after_s))
    for run_pk in crashed_pks:  # stalled_run reports why it stopped
        request_diagnosis(queue, run_pk)
    crashed = len(crashed_pks)
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


HOUSEKEEPING_EVERY_S = 3600.0


def compact_pending(db: Database, queue: IngestQueue, settings: Settings | None = None) -> int:
    """Ask for the compaction of runs that may have segments due: those that received batches
    within the last ``GRADSIGHT_COMPACT_AFTER_S`` (their last tiles come due within it) and a
    minute; without ``settings``, every run with fresh segments. Returns how many runs."""
    with db.session() as session:
        if settings is None:
            pending = chunks.runs_with_fresh(session)
        else:
            window = timedelta(seconds=settings.compact_after_s + 4 * settings.maintenance_interval_s + 60)
            pending = chunks.runs_with_batches_since(session, runs.now() - window)
    for run_pk in pending:
        try:
            queue.compact(run_pk)
        except Exception as exc:
            if _BROKER_DOWN.ready():
                log.warning("compaction request failed (%s); the next sweep asks again", exc)
            break
    return len(pending)


def housekeeping(db: Database, queue: IngestQueue, settings: Settings) -> None:
    compact_pending(db, queue)  # the safety net: fresh segments of runs quiet for longer
    if settings.retention_days is not None:
        retention_pass(db, settings.retention_days)
    prune_ledger(db, settings.ledger_keep_days)


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
        last_housekeeping = time.monotonic() - HOUSEKEEPING_EVERY_S
        while not self._stop.wait(self._settings.maintenance_interval_s):
            try:
                sweep(self._db, self._queue, self._settings)
                compact_pending(self._db, self._queue, self._settings)
                if time.monotonic() - last_housekeeping >= HOUSEKEEPING_EVERY_S:
                    last_housekeeping = time.monotonic()
                    housekeeping(self._db, self._queue, self._settings)
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
