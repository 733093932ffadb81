"""Diagnosis requests, debounced per run: a busy run sending a batch a second asks for at most
one diagnosis pass per window (``GRADSIGHT_DIAGNOSIS_DEBOUNCE_S``), not one per batch.

The first request of a window marks the run pending and schedules a pass one window later;
requests while it is pending ride along. A pass clears the mark *before* it reads the run,
so a batch applied after that read asks for (and gets) the next pass: the last batch of a
run is always diagnosed, at most one window late.

With Redis the mark is a key (``SET NX``), shared by every worker, and the pass is a Celery
task with a countdown; the key also expires, so a pass lost with a killed worker delays the
next one by at most that expiry. Embedded, a timer thread does the same in process.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

PENDING_KEY = "gradsight:diagnosis-pending:{run_pk}"
EXPIRY_WINDOWS = 4
"""The pending mark outlives its window this many times, in case the pass is lost."""


class RedisDebouncer:
    def __init__(self, client: redis.Redis, window_s: float, schedule: Callable[[int, float], None]) -> None:
        """``schedule(run_pk, countdown_s)`` sends the pass (the ``gradsight.diagnose`` task)."""
        self._client = client
        self._window = window_s
        self._schedule = schedule

    def request(self, run_pk: int) -> bool:
        """Returns whether this request scheduled a pass."""
        key = PENDING_KEY.format(run_pk=run_pk)
        expiry_ms = max(1, int(self._window * EXPIRY_WINDOWS * 1000))
        if not self._client.set(key, b"1", nx=True, px=expiry_ms):
            return False
        try:
            self._schedule(run_pk, self._window)
        except BaseException:
            self._client.delete(key)  # let the next batch try again
            raise
        return True

    def clear(self, run_pk: int) -> None:
        """Called by the pass before it reads the run."""
        self._client.delete(PENDING_KEY.format(run_pk=run_pk))


class InProcessDebouncer:
    """The embedded server's debouncer: one timer thread, passes run on it."""

    def __init__(self, window_s: float, run_pass: Callable[[int], object]) -> None:
        self._window = window_s
        self._run_pass = run_pass
        self._due: list[tuple[float, int]] = []
        self._pending: set[int] = set()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def request(self, run_pk: int) -> bool:
        with self._cond:
            if run_pk in self._pending:
                return False
            self._pending.add(run_pk)
            heapq.heappush(self._due, (time.monotonic() + self._window, run_pk))
            self._cond.notify()
            return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gradsight-diagnosis", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _next(self) -> int | None:
        with self._cond:
            while not self._stopping:
                if self._due and self._due[0][0] <= time.monotonic():
                    _, run_pk = heapq.heappop(self._due)
                    self._pending.discard(run_pk)  # before the pass reads: see the module docstring
                    return run_pk
                self._cond.wait(self._due[0][0] - time.monotonic() if self._due else None)
            return None

    def _loop(self) -> None:
        while (run_pk := self._next()) is not None:
            try:
                self._run_pass(run_pk)
            except Exception:
                log.exception("diagnosis pass of run %s failed", run_pk)
