"""Say it once a minute: an outage (Redis, the database) is logged when it starts and then
at most once per interval, not once per batch or per sweep."""

from __future__ import annotations

import threading
import time


class Throttle:
    def __init__(self, interval_s: float = 60.0) -> None:
        self._interval = interval_s
        self._last = -interval_s
        self._lock = threading.Lock()

    def ready(self) -> bool:
        """True at most once per interval."""
        with self._lock:
            now = time.monotonic()
            if now - self._last < self._interval:
                return False
            self._last = now
            return True
