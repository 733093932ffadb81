"""One background thread draining a queue of database ids: the embedded server's batch
applier and alert sender. Only ids travel (the rows are durable), so what the queue loses on a
crash is found again by the maintenance sweep."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class IdThread:
    def __init__(
        self, name: str, handle: Callable[[int], None], maxsize: int = 0, stop_timeout_s: float = 30.0
    ):
        self._name, self._handle, self._stop_timeout_s = name, handle, stop_timeout_s
        self._queue: queue.Queue[int | None] = queue.Queue(maxsize=maxsize)
        self._thread: threading.Thread | None = None

    def put(self, pk: int) -> None:
        self._queue.put(pk)

    def put_nowait(self, pk: int) -> None:
        """Raises queue.Full when a bounded queue is full."""
        self._queue.put_nowait(pk)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self._stop_timeout_s)
            self._thread = None

    def join(self) -> None:
        """Block until every id handed over so far was handled (tests, shutdown)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            pk = self._queue.get()
            try:
                if pk is None:
                    return
                self._handle(pk)
            finally:
                self._queue.task_done()
