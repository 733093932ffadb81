"""The transport thread: every flush interval it drains closed steps, builds a batch and
sends what is queued, oldest first. The training thread never waits for any of it.

Failures follow ARCHITECTURE.md: 408/429/5xx and network errors back off (exponential,
jittered, honouring Retry-After) and retry; 404 means the server lost the run, so it is
created again; any other 4xx means the batch is malformed or unauthorised: it is dropped,
counted in ``agent/dropped_points`` and logged once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradsight.capture.record import Recorder
from gradsight.errors import ErrorLog
from gradsight.ids import new_agent_id
from gradsight.settings import AgentSettings
from gradsight.transport import columns as columns_mod
from gradsight.transport import wire
from gradsight.transport.client import Backoff, HttpClient, TransportError

log = logging.getLogger("gradsight")
MAX_OUTBOX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Outgoing:
    batch_id: str
    body: bytes
    points: int


class Sender:
    def __init__(
        self,
        run_body: dict[str, Any],
        recorder: Recorder,
        settings: AgentSettings,
        errors: ErrorLog,
        metadata: Callable[[], dict[str, Any]],
    ) -> None:
        self.run_id: str = run_body["id"]
        self._run_body = run_body
        self._recorder = recorder
        self._settings = settings
        self._errors = errors
        self._metadata = metadata
        self._client = HttpClient(settings.url, settings.api_key)
        self._agent_id = new_agent_id()
        self._seq = 0
        self._outbox: deque[Outgoing] = deque()
        self._outbox_bytes = 0
        self._backoff = Backoff()
        self._next_attempt = 0.0
        self._run_ready = False
        self._run_refused = False
        self._extra_metadata: dict[str, Any] = {}
        self._metadata_dirty = False
        self._layers: list[str] | None = None
        self._reported = (0, 0)  # (errors, dropped) last sent
        self.dropped_points = 0
        self.sent_batches = 0
        self._last_contact = time.monotonic()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._finishing = threading.Event()
        self._done = threading.Event()
        self._deadline = math.inf
        self._thread = threading.Thread(target=self._loop, name="gradsight-transport", daemon=True)

    # -- called from the training thread ---------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def add_metadata(self, extra: dict[str, Any]) -> None:
        with self._lock:
            self._extra_metadata.update(extra)
            self._metadata_dirty = True

    def set_layers(self, layers: Sequence[str]) -> None:
        with self._lock:
            self._layers = list(layers)

    def finish(self, timeout: float) -> bool:
        """Flush everything and mark the run finished, waiting at most ``timeout`` seconds.
        Returns whether everything reached the server."""
        self._deadline = time.monotonic() + timeout
        self._finishing.set()
        self._wake.set()
        self._done.wait(timeout + 5.0)
        return not self._outbox

    @property
    def unsent_batches(self) -> int:
        return len(self._outbox)

    # -- the transport thread ----------------------------------------------------------

    def _loop(self) -> None:
        try:
            while not self._finishing.is_set():
                self._wake.wait(self._settings.flush_interval_s)
                self._wake.clear()
                if self._finishing.is_set():
                    break
                self._cycle(final=False)
            self._cycle(final=True)
        except Exception as exc:  # never let the thread die silently with data queued
            self._errors.report("transport", exc)
        finally:
            self._client.close()
            self._done.set()

    def _cycle(self, final: bool) -> None:
        records = self._recorder.drain(close_open=final)
        with self._lock:
            layers, self._layers = self._layers, None
        cols = columns_mod.build(records, self._errors.report)
        self._add_agent_counters(cols)
        if cols.n_points or cols.wall_steps.size or final or layers is not None:
            self._enqueue(cols, final=final, layers=layers)
        self._pump(until=self._deadline if final else None)
        idle = time.monotonic() - self._last_contact > self._settings.heartbeat_s
        if not final and not self._outbox and self._run_ready and idle:
            self._heartbeat()

    def _add_agent_counters(self, cols: columns_mod.Columns) -> None:
        dropped = self._recorder.dropped_points + self.dropped_points
        counters = (self._errors.count, dropped)
        step = cols.last_step
        if step is None or counters == self._reported:
            return
        self._reported = counters
        cols.blocks.append(
            columns_mod.Block(
                keys=("agent/dropped_points", "agent/errors"),
                steps=np.array([step], dtype=np.int64),
                values=np.array([[float(dropped)], [float(self._errors.count)]]),
            )
        )

    def _enqueue(self, cols: columns_mod.Columns, final: bool, layers: list[str] | None) -> None:
        self._seq += 1
        batch_id = f"{self._agent_id}:{self._seq}"
        doc = wire.document(self.run_id, batch_id, cols, final=final, layers=layers)
        body = wire.encode(doc)
        self._outbox.append(Outgoing(batch_id, body, cols.n_points))
        self._outbox_bytes += len(body)
        while self._outbox_bytes > MAX_OUTBOX_BYTES and len(self._outbox) > 1:
            lost = self._outbox.popleft()
            self._outbox_bytes -= len(lost.body)
            self.dropped_points += lost.points
            self._errors.warn_once(
                "outbox",
                "server unreachable and outbox full: dropping the "
                "oldest telemetry (counted in agent/dropped_points)",
            )

    def _wait_for_attempt(self, until: float | None) -> bool:
        """Whether an attempt may be made now; while finishing, sleep up to the deadline."""
        now = time.monotonic()
        if now >= self._next_attempt:
            return True
        if until is None or self._next_attempt >= until:
            return False
        time.sleep(self._next_attempt - now)
        return True

    def _failed(self, hint: float | None = None) -> None:
        self._next_attempt = time.monotonic() + self._backoff.next_delay(hint)

    def _pump(self, until: float | None) -> None:
        while self._outbox and not self._run_refused:
            if until is not None and time.monotonic() >= until:
                return
            if not self._wait_for_attempt(until):
                return
            if (not self._run_ready or self._metadata_dirty) and not self._create_run():
                continue
            item = self._outbox[0]
            try:
                response = self._client.request(
                    "POST",
                    f"/api/v1/runs/{self.run_id}/batches",
                    item.body,
                    {"Content-Type": wire.CONTENT_TYPE, "Content-Encoding": "gzip"},
                )
            except TransportError:
                self._failed()
                continue
            self._last_contact = time.monotonic()
            if response.ok:
                self._outbox.popleft()
                self._outbox_bytes -= len(item.body)
                self.sent_batches += 1
                self._backoff.reset()
            elif response.status == 404:
                self._run_ready = False  # the server no longer knows the run: create it again
            elif response.retryable:
                self._failed(response.retry_after)
            else:
                self._outbox.popleft()
                self._outbox_bytes -= len(item.body)
                self.dropped_points += item.points
                self._errors.warn_once(
                    f"rejected-{response.status}",
                    f"server rejected a batch ({response.status}): {response.body[:500]!r}; "
                    "it was dropped and counted in agent/dropped_points",
                )

    def _create_run(self) -> bool:
        with self._lock:
            extra = dict(self._extra_metadata)
            self._metadata_dirty = False
        body = dict(self._run_body)
        body["metadata"] = {**self._metadata(), **extra}
        try:
            response = self._client.post_json("/api/v1/runs", body)
        except TransportError:
            self._metadata_dirty = self._metadata_dirty or bool(extra)
            self._failed()
            return False
        if response.ok:
            self._run_ready = True
            self._backoff.reset()
            return True
        if response.retryable:
            self._failed(response.retry_after)
            return False
        self._run_refused = True
        self._errors.warn_once(
            "create-run",
            f"server refused run {self.run_id} ({response.status}): {response.body[:500]!r}; "
            "telemetry for this run will not be sent",
        )
        return False

    def _heartbeat(self) -> None:
        self._seq += 1
        body = wire.encode(wire.document(self.run_id, f"{self._agent_id}:{self._seq}", columns_mod.Columns()))
        try:
            self._client.request(
                "POST",
                f"/api/v1/runs/{self.run_id}/batches",
                body,
                {"Content-Type": wire.CONTENT_TYPE, "Content-Encoding": "gzip"},
            )
            self._last_contact = time.monotonic()
        except TransportError:
            pass
