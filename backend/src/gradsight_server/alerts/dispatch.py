"""Who sends a planned alert: a Celery task on the workers (self-hosted), or one thread in the
embedded server. Either way the ingest and diagnosis paths only hand over an id."""

from __future__ import annotations

import logging
import queue
from typing import Protocol

from gradsight_server.alerts.service import deliver
from gradsight_server.ingest.idthread import IdThread
from gradsight_server.settings import Settings
from gradsight_server.store.engine import Database

log = logging.getLogger(__name__)


class AlertDispatch(Protocol):
    def send(self, delivery_pk: int) -> None: ...


class InProcessAlerts:
    """One sender thread: a slow destination delays other alerts, never ingest or diagnosis."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db, self._settings = db, settings
        self._thread = IdThread(
            "gradsight-alerts", self._deliver, maxsize=10_000, stop_timeout_s=settings.webhook_timeout_s + 5
        )

    def send(self, delivery_pk: int) -> None:
        try:
            self._thread.put_nowait(delivery_pk)
        except queue.Full:  # the row stays pending; the maintenance sweep sends it later
            log.warning("alert queue full; alert %s waits for the next sweep", delivery_pk)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def join(self) -> None:
        """Block until every alert handed over so far was attempted (tests)."""
        self._thread.join()

    def _deliver(self, pk: int) -> None:
        try:
            deliver(self._db, pk, self._settings)
        except Exception:
            log.exception("alert %s: delivery attempt failed; the sweep retries it", pk)
