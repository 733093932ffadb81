"""Periodic work, run by every API process (idempotent, so replicas may overlap):
runs silent for ``GRADSIGHT_STALE_AFTER_S`` become crashed, and batches still staged after
a grace period are enqueued again (their queue message was lost: Redis restarted, the
in-process queue died with its process)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from gradsight_server.ingest.queue import IngestQueue
from gradsight_server.settings import Settings
from gradsight_server.store import batches, runs
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)

REQUEUE_GRACE = timedelta(seconds=60)


def sweep(
    db: Database, queue: IngestQueue, settings: Settings, grace: timedelta = REQUEUE_GRACE
) -> tuple[int, int]:
    """One pass. Returns (runs marked crashed, batches re-enqueued).

    ``grace`` keeps batches staged moments ago (whose message is still in flight) from being
    enqueued twice; it is zero at the start of an embedded server, whose queue was empty.
    """
    t = runs.now()
    with db.write_session() as session:
        crashed = runs.mark_stale_crashed(session, t - timedelta(seconds=settings.stale_after_s))
    with db.session() as session:
        pending = batches.staged_before(session, t - grace)
    requeued = 0
    for pk in pending:
        try:
            queue.enqueue(pk)
            requeued += 1
        except Exception:
            log.warning("re-enqueue of staged batches failed; will retry", exc_info=True)
            break
    if crashed or requeued:
        log.info("maintenance: %d run(s) marked crashed, %d batch(es) re-enqueued", crashed, requeued)
    return crashed, requeued


class Maintenance:
    def __init__(self, db: Database, queue: IngestQueue, settings: Settings) -> None:
        self._db, self._queue, self._settings = db, queue, settings
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
            except Exception:
                log.exception("maintenance sweep failed")
