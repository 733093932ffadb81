"""Ids of metric keys a worker has already seen committed, so a run's later batches skip the
lookup of their thousand-odd key names (~6 ms a batch on PostgreSQL, mostly adapting the
names and the rows in Python).

Only committed ids go in (never ones this transaction just inserted: it may roll back), and
only for PostgreSQL, whose ids come from sequences and are never reused; SQLite may hand a
deleted run's rowid to the next run. Bounded: the most recently used runs per database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

RUNS = 256
"""Runs remembered per process (~100 kB each at 1,800 keys)."""


class KeyCache:
    def __init__(self, runs: int = RUNS) -> None:
        self._runs: OrderedDict[tuple[str, int], dict[str, int]] = OrderedDict()
        self._limit = runs
        self._lock = threading.Lock()

    def known(self, database: str, run_pk: int) -> dict[str, int]:
        with self._lock:
            ids = self._runs.get((database, run_pk))
            if ids is None:
                return {}
            self._runs.move_to_end((database, run_pk))
            return ids

    def remember(self, database: str, run_pk: int, committed: Mapping[str, int]) -> None:
        if not committed:
            return
        with self._lock:
            self._runs.setdefault((database, run_pk), {}).update(committed)
            self._runs.move_to_end((database, run_pk))
            while len(self._runs) > self._limit:
                self._runs.popitem(last=False)


CACHE = KeyCache()
