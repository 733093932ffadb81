"""Who sends a planned alert: a Celery task on the workers (self-hosted), or one thread in the
embedded server. Either way the ingest and diagnosis paths only hand over an id."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Protocol

from gradsight_server.alerts.service import deliver
from gradsight_server.settings import Settings
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)


class AlertDispatch(Protocol):
    def send(self, delivery_pk: int) -> None: ...


class InProcessAlerts:
    """One sender thread: a slow destination delays other alerts, never ingest or diagnosis."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db, self._settings = db, settings
        self._queue: queue.Queue[int | None] = queue.Queue(maxsize=10_000)
        self._thread: threading.Thread | None = None

    def send(self, delivery_pk: int) -> None:
        try:
            self._queue.put_nowait(delivery_pk)
        except queue.Full:  # the row stays pending; the maintenance sweep sends it later
            log.warning("alert queue full; alert %s waits for the next sweep", delivery_pk)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gradsight-alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self._settings.webhook_timeout_s + 5)
            self._thread = None

    def join(self) -> None:
        """Block until every alert handed over so far was attempted (tests)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            pk = self._queue.get()
            try:
                if pk is None:
                    return
                deliver(self._db, pk, self._settings)
            except Exception:
                log.exception("alert %s: delivery attempt failed; the sweep retries it", pk)
            finally:
                self._queue.task_done()
