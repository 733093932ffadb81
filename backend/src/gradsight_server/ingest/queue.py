"""Queues that carry ledger ids (never payloads) from the API to whoever applies batches.

Embedded mode applies batches on a thread in the API process; with ``GRADSIGHT_REDIS_URL``
set, Celery workers do. Both call the same :func:`gradsight_server.ingest.service.apply`.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from gradsight_server.ingest.compaction import compact_run
from gradsight_server.ingest.idthread import IdThread
from gradsight_server.ingest.tasks import AfterApply, apply_batch
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)


class InProcessQueue:
    """A worker thread applying staged batches in arrival order.

    The queue itself is memory only: what it loses on a crash is still staged in the
    database and the maintenance sweep enqueues it again.
    """

    name = "inprocess"
    RETRIES = 5

    def __init__(self, db: Database, after: AfterApply, compact_after_s: float = 300.0) -> None:
        self._db = db
        self._after = after
        self._compact_grace = timedelta(seconds=compact_after_s)
        self._thread = IdThread("gradsight-ingest", self._apply_with_retries)

    def enqueue(self, ledger_pk: int) -> None:
        self._thread.put(ledger_pk)

    def compact(self, run_pk: int) -> None:
        """Compact now, on the caller's thread (the maintenance thread): SQLite serialises it
        with the ingest thread's writes, one group of keys per transaction."""
        compact_run(self._db, run_pk, self._compact_grace)

    def request_diagnosis(self, run_pk: int) -> None:
        self._after.request_diagnosis(run_pk)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def join(self) -> None:
        """Block until everything enqueued so far has been processed (tests, shutdown)."""
        self._thread.join()

    def _apply_with_retries(self, pk: int) -> None:
        for attempt in range(self.RETRIES):
            try:
                apply_batch(self._db, pk, self._after)
            except Exception:
                # Database briefly unavailable or locked: back off; after the last attempt the
                # batch stays staged and the maintenance sweep brings it back.
                log.exception("applying batch %s failed (attempt %d)", pk, attempt + 1)
                time.sleep(min(0.2 * 2**attempt, 5.0))
                continue
            return
