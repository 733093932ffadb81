"""The agent's transport: two background threads between the training loop and the server.

- The **collector** wakes every flush interval, drains closed steps, encodes one batch
  (``<agent id>:<sequence>``) and decides where it waits: in memory when the uploader is
  keeping up, in the run's spool (transport/spool.py) otherwise. A batch still untaken at the
  next flush is spooled, and while the server is away every new batch is spooled at once, so
  a SIGKILL loses at most the steps of the last flush interval (two, if the server stops
  answering in the middle of a request). In ``offline`` mode it only writes the spool.
- The **uploader** (transport/uploader.py) sends the oldest batch first, wherever it lives,
  so order is kept across outages, and retries, recreates or drops per ARCHITECTURE.md.

The training thread only appends to the recorder; it never waits for either thread except
in ``finish``, which is bounded by its timeout and then leaves the rest in the spool for
``gradsight sync``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gradsight.capture.record import Recorder
from gradsight.distributed.keys import RankKeys
from gradsight.distributed.topology import Topology
from gradsight.errors import ErrorLog
from gradsight.ids import new_agent_id
from gradsight.settings import AgentSettings
from gradsight.transport import columns as columns_mod
from gradsight.transport import wire
from gradsight.transport.outbox import Item, Outbox
from gradsight.transport.spool import RunSpool, batch_name
from gradsight.transport.uploader import Uploader

log = logging.getLogger("gradsight")
FINISH_GRACE_S = 10.0
"""How long ``finish`` waits beyond its timeout for the final spool writes."""


@dataclass(frozen=True)
class TransportStats:
    batches_built: int
    points_built: int
    batches_sent: int
    points_sent: int
    batches_spooled: int
    points_spooled: int
    batches_dropped: int
    points_dropped: int
    failed_sends: int
    pending_batches: int
    """Not taken by the server yet (in memory or in the spool)."""
    memory_bytes: int


class Sender:
    def __init__(
        self,
        run_body: dict[str, Any],
        recorder: Recorder,
        settings: AgentSettings,
        errors: ErrorLog,
        metadata: Callable[[], dict[str, Any]],
        keys: RankKeys | None = None,
    ) -> None:
        self.run_id: str = run_body["id"]
        self._run_body = run_body
        self._recorder = recorder
        self._settings = settings
        self._errors = errors
        self._metadata = metadata
        self._keys = keys or RankKeys(Topology())
        # Only rank 0's last batch finishes the run: the other ranks of a job may end a moment
        # before or after it, and their data is still stored (a late batch never reopens it).
        self._finishes_run = self._keys.topology.is_main
        self._offline = settings.mode == "offline"
        self._spool = RunSpool(settings.spool_dir, self.run_id)
        self._outbox = Outbox(settings.max_buffer_bytes)
        self._agent_id = new_agent_id()
        self._started_ms = int(time.time() * 1000)
        self._seq = 0
        self._lock = threading.Lock()
        self._extra_metadata: dict[str, Any] = {}
        self._metadata_version = 0
        self._run_file_version = -1  # metadata version in the spool's run.json
        self._layers: list[str] | None = None
        self._last_step: int | None = None
        self._reported = (0, 0)  # (errors, dropped) last sent
        self._wake = threading.Event()
        self._finishing = threading.Event()
        self._done = threading.Event()
        self._deadline = math.inf
        self._collector = threading.Thread(target=self._collect_loop, name="gradsight-collect", daemon=True)
        self._uploader = Uploader(
            self.run_id,
            self._agent_id,
            self._outbox,
            self._spool,
            settings,
            errors,
            self._run_request,
            self._current_metadata_version,
        )

    # -- called from the training thread ---------------------------------------------

    def start(self) -> None:
        self._collector.start()
        if not self._offline:
            self._uploader.thread.start()

    def add_metadata(self, extra: dict[str, Any]) -> None:
        with self._lock:
            self._extra_metadata.update(extra)
            self._metadata_version += 1

    def set_layers(self, layers: Sequence[str]) -> None:
        with self._lock:
            self._layers = list(layers)

    def finish(self, timeout: float) -> bool:
        """Flush everything and mark the run finished, waiting at most ``timeout`` seconds for
        the server (then a little longer for the spool writes). Returns whether the server
        took everything; what it did not take is in the spool, and the log says how to sync."""
        self._deadline = time.monotonic() + timeout
        self._finishing.set()
        self._wake.set()
        self._uploader.kick.set()
        self._done.wait(timeout + FINISH_GRACE_S)
        return not self._offline and len(self._outbox) == 0

    @property
    def stats(self) -> TransportStats:
        return TransportStats(
            **asdict(self._outbox.counts),
            pending_batches=len(self._outbox),
            memory_bytes=self._outbox.memory_bytes,
        )

    @property
    def spool_path(self) -> str:
        return str(self._spool.path)

    # -- the collector thread --------------------------------------------------------

    def _collect_loop(self) -> None:
        try:
            self._adopt_spool()
            while not self._finishing.is_set():
                self._wake.wait(self._settings.flush_interval_s)
                self._wake.clear()
                if self._finishing.is_set():
                    break
                self._guarded_cycle(final=False)
            self._guarded_cycle(final=True)
            while not (self._offline or self._uploader.run_refused) and time.monotonic() < self._deadline:
                if self._outbox.wait_empty(min(self._deadline, time.monotonic() + 0.5)):
                    break
            self._uploader.stop.set()
            self._uploader.kick.set()
            self._outbox.wake()
            self._spool_pending(everything=True)
            self._report_finish()
        except Exception as exc:  # never let the thread die silently with data queued
            self._errors.report("transport", exc)
        finally:
            self._done.set()

    def _guarded_cycle(self, final: bool) -> None:
        try:
            self._cycle(final)
        except Exception as exc:
            self._errors.report("transport", exc)

    def _cycle(self, final: bool) -> None:
        records = self._recorder.drain(close_open=final)
        with self._lock:
            layers, self._layers = self._layers, None
        cols = columns_mod.build(records, self._errors.report, self._keys.names)
        if cols.last_step is not None:
            self._last_step = cols.last_step
        self._add_agent_counters(cols)
        if cols.n_points or cols.wall_steps.size or final or layers is not None:
            self._enqueue(cols, final, layers)
        self._spool_pending(everything=self._offline or not self._uploader.healthy)
        while final:
            # Batches dropped to make room for the last one are reported in one more (tiny,
            # also final) batch, since no later batch would carry the count.
            counters = columns_mod.Columns()
            self._add_agent_counters(counters)
            if not counters.n_points:
                break
            self._enqueue(counters, final, None)
            self._spool_pending(everything=self._offline or not self._uploader.healthy)

    def _enqueue(self, cols: columns_mod.Columns, final: bool, layers: list[str] | None) -> None:
        self._seq += 1
        batch_id = f"{self._agent_id}:{self._seq}"
        body = wire.encode(
            wire.document(self.run_id, batch_id, cols, final=final and self._finishes_run, layers=layers)
        )
        name = batch_name(self._started_ms, self._agent_id, self._seq)
        self._outbox.add(Item(batch_id, name, cols.n_points, body, final=final))

    def _add_agent_counters(self, cols: columns_mod.Columns) -> None:
        dropped = self._recorder.dropped_points + self._outbox.counts.points_dropped
        counters = (self._errors.count, dropped)
        if self._last_step is None or counters == self._reported:
            return
        self._reported = counters
        names = [self._keys.names(key, self._last_step) for key in ("agent/dropped_points", "agent/errors")]
        cols.blocks.append(
            columns_mod.Block(
                keys=(names[0][0], names[1][0]),
                steps=np.array([self._last_step], dtype=np.int64),
                values=np.array([[float(dropped)], [float(self._errors.count)]]),
            )
        )

    def _spool_pending(self, everything: bool) -> None:
        """Write in-memory batches to the spool: all of them when ``everything``, otherwise all
        but the newest (a batch the uploader did not take within a flush interval)."""
        items = self._outbox.in_memory()
        if not everything:
            items = items[:-1]
        for item in items:
            body = item.body
            if body is None:  # taken by the server meanwhile
                continue
            try:
                self._write_run_file()
                path = self._spool.append(item.name, body)
            except OSError as exc:
                self._errors.warn_once(
                    "spool",
                    f"cannot write the spool at {self._spool.path} ({exc}); keeping up to "
                    f"{self._settings.max_buffer_bytes / 2**20:.3g} MiB of telemetry in memory, then "
                    "dropping the oldest (counted in agent/dropped_points)",
                )
                break
            if not self._outbox.persisted(item, path):
                self._spool.remove(path)
        if self._outbox.shed():
            self._errors.warn_once(
                "buffer",
                "telemetry buffer full and the spool unwritable: dropping the oldest batches "
                "(counted in agent/dropped_points)",
            )

    def _current_metadata_version(self) -> int:
        with self._lock:
            return self._metadata_version

    def _run_request(self) -> tuple[dict[str, Any], int]:
        with self._lock:
            extra = dict(self._extra_metadata)
            version = self._metadata_version
        return {**self._run_body, "metadata": {**self._metadata(), **extra}}, version

    def _write_run_file(self) -> None:
        if self._run_file_version != self._metadata_version:
            if not self._finishes_run and self._spool.read_run() is not None:
                # Ranks of a job on one host share the run's spool directory; rank 0's run.json
                # (config, model metadata) must not be replaced by another rank's corner of it.
                self._run_file_version = self._metadata_version
                return
            body, version = self._run_request()
            self._spool.write_run(body)
            self._run_file_version = version

    def _adopt_spool(self) -> None:
        """Batches an earlier process of this run left in the spool go out first."""
        if self._offline:
            return
        left = self._spool.batches()
        for path in reversed(left):
            self._outbox.add(Item(path.name, path.name, 0, None, path), front=True)
        if left:
            log.info(
                "gradsight: sending %d batch(es) of run %s left in %s",
                len(left),
                self.run_id,
                self._spool.path,
            )

    def _report_finish(self) -> None:
        pending = len(self._outbox)
        unsaved = len(self._outbox.in_memory())
        where = self._spool.path
        if self._offline:
            log.warning(
                "gradsight: offline run %s saved in %s; upload it with: gradsight sync %s",
                self.run_id,
                where,
                where,
            )
        elif pending > unsaved:
            why = (
                "refused the run"
                if self._uploader.run_refused
                else "did not take them before finish() timed out"
            )
            log.warning(
                "gradsight: %d batch(es) of run %s are in %s (the server at %s %s); upload them with: gradsight sync %s",
                pending - unsaved,
                self.run_id,
                where,
                self._settings.url,
                why,
                where,
            )
        elif not pending:
            self._spool.remove_if_done()
        if unsaved:
            log.warning(
                "gradsight: %d batch(es) of run %s could not be written to %s and are lost",
                unsaved,
                self.run_id,
                where,
            )
