"""Ingest: stage a validated batch durably, then apply it to the store exactly once.

The API calls :func:`stage` and answers 202 only after its transaction commits; the queue
(in-process or Celery) then calls :func:`apply` with the ledger id. Applying claims the
batch and writes its points in one transaction, so a crash rolls both back and a
redelivered task finds the batch applied and does nothing.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gradsight_server.errors import RunNotFound
from gradsight_server.ingest.throttle import Throttle
from gradsight_server.store import batches, runs, series
from gradsight_server.store.engine import Database
from gradsight_server.store.pgcopy import SegmentBlock
from gradsight_server.wire.decode import WireError, decode_batch
from gradsight_server.wire.model import Batch

log = logging.getLogger(__name__)
_BROKER_DOWN = Throttle()


class IngestQueue(Protocol):
    """Carries ledger ids (never payloads) to whoever applies batches (ingest/queue.py), and run
    ids to whoever compacts them (ingest/compaction.py)."""

    name: str

    def enqueue(self, ledger_pk: int) -> None: ...

    def compact(self, run_pk: int) -> None: ...

    def request_diagnosis(self, run_pk: int) -> None:
        """Ask for a (debounced) diagnosis pass of a run that sent no batch: a heartbeat, or
        a run the sweep marked crashed; ``stalled_run`` looks at exactly these."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class StageResult:
    batch_id: str
    status: str
    """``accepted`` (staged now), ``duplicate`` (already in the ledger) or ``heartbeat``."""
    points: int
    ledger_pk: int | None
    run_pk: int | None = None


@dataclass(frozen=True)
class ApplyResult:
    ledger_pk: int
    status: str
    """``applied``; ``duplicate`` (applied before: a redelivery, its points are not written
    again); ``missing`` (its run was deleted); ``failed`` (cannot be decoded)."""
    points: int = 0
    run_pk: int | None = None
    run_id: str | None = None
    batch_id: str | None = None
    last_step: int | None = None
    """The run's last step after this batch (what the live stream announces)."""
    segments: int = 0


def stage(db: Database, run_id: str, batch: Batch, content_type: str, payload: bytes) -> StageResult:
    with db.write_session() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        if batch.is_heartbeat:
            runs.heartbeat(session, run.pk)
            return StageResult(batch.batch_id, "heartbeat", 0, None, run.pk)
        staged = batches.stage(session, run.pk, batch.batch_id, content_type, payload, batch.n_points)
    status = "duplicate" if staged.duplicate else "accepted"
    return StageResult(batch.batch_id, status, batch.n_points, staged.pk)


def enqueue(db: Database, queue: IngestQueue, ledger_pk: int) -> bool:
    """Send a staged batch's queue message. If the broker is down the batch stays durable and
    staged; it is marked so the maintenance sweep sends it as soon as it can (no resend
    needed from the client). Returns whether the message went out."""
    try:
        queue.enqueue(ledger_pk)
        return True
    except Exception as exc:
        if _BROKER_DOWN.ready():
            log.warning(
                "queue unavailable (%s): staged batches are enqueued by the sweep once it is back", exc
            )
    # Should this fail too, the sweep still finds the batch after its grace period.
    with contextlib.suppress(SQLAlchemyError), db.write_session() as session:
        batches.mark_unqueued(session, [ledger_pk])
    return False


def request_diagnosis(queue: IngestQueue, run_pk: int) -> None:
    """Best effort: a lost request only delays the pass to the next heartbeat or batch."""
    try:
        queue.request_diagnosis(run_pk)
    except Exception as exc:
        if _BROKER_DOWN.ready():
            log.warning("diagnosis request for run %s failed: %s", run_pk, exc)


def apply(db: Database, ledger_pk: int) -> ApplyResult:
    # The claim and the points commit together; if a crash loses this commit (not waited
    # for on disk), it loses both, the batch is still staged with its payload, and the sweep
    # applies it again. Staging, which the 202 promises, always waits for the disk.
    with db.write_session(wait_for_disk=False) as session:
        claimed = batches.claim(session, ledger_pk)
        if claimed is None:  # applied before (a redelivery), or its run was deleted
            known = batches.entry(session, ledger_pk)
            if known is None:
                return ApplyResult(ledger_pk, "missing")
            status = "duplicate" if known.state == batches.APPLIED else known.state
            return ApplyResult(ledger_pk, status, known.n_points, batch_id=known.batch_id)
        try:
            # Validated when staged; the limit here only guards against a changed setting.
            batch = decode_batch(claimed.payload, claimed.content_type, max_points=2**62)
        except WireError as exc:
            # Only a server upgrade that tightened validation gets here: record the failure
            # rather than retry a batch that can never apply.
            batches.mark_failed(
                session, ledger_pk, f"staged batch no longer decodes: {exc.msg}", claimed.payload
            )
            log.error("batch %s failed to decode: %s", ledger_pk, exc.msg)
            return ApplyResult(ledger_pk, "failed", run_pk=claimed.run_pk, batch_id=claimed.batch_id)
        segments = _write(session, claimed.run_pk, claimed.pk, batch)
        run = runs.record_progress(
            session, claimed.run_pk, max_step=batch.max_step, final=batch.final, layers=batch.layers
        )
        return ApplyResult(
            ledger_pk,
            "applied",
            batch.n_points,
            claimed.run_pk,
            run_id=run.id if run is not None else None,
            batch_id=claimed.batch_id,
            last_step=run.last_step if run is not None else None,
            segments=segments,
        )


def _write(session: Session, run_pk: int, seq: int, batch: Batch) -> int:
    """Segments and latest values of a batch; numbers stay in numpy arrays throughout."""
    names = [key for block in batch.blocks for key in block.keys]
    if batch.wall_steps.size:
        names.append(series.WALL_TIME_KEY)
    ids = series.ensure_keys(session, run_pk, names)
    blocks = [
        SegmentBlock(
            np.array([ids[k] for k in block.keys], dtype=np.int64), block.steps, block.values, block.counts
        )
        for block in batch.blocks
    ]
    if batch.wall_steps.size:
        wall_id = np.array([ids[series.WALL_TIME_KEY]], dtype=np.int64)
        blocks.append(SegmentBlock(wall_id, batch.wall_steps, batch.wall_time[np.newaxis, :]))
    rows = series.write_segments(session, run_pk, seq, blocks)
    user = blocks[: len(batch.blocks)]  # the wall clock is not a metric: no latest value
    if user:
        series.upsert_latest(
            session,
            run_pk,
            np.concatenate([b.key_ids for b in user]),
            np.concatenate([np.full(b.key_ids.size, b.steps[-1], dtype=np.int64) for b in user]),
            np.concatenate([b.values[:, -1] for b in user]),
        )
    return rows
