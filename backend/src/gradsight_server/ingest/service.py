"""Ingest: stage a validated batch durably, then apply it to the store exactly once.

The API calls :func:`stage` and answers 202 only after its transaction commits; the queue
(in-process or Celery) then calls :func:`apply` with the ledger id. Applying claims the
batch and writes its points in one transaction, so a crash rolls both back and a
redelivered task finds the batch applied and does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gradsight_server.errors import RunNotFound
from gradsight_server.store import batches, runs, series
from gradsight_server.store.engine import Database
from gradsight_server.wire.decode import WireError, decode_batch
from gradsight_server.wire.model import Batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageResult:
    batch_id: str
    status: str
    """``accepted`` (staged now), ``duplicate`` (already in the ledger) or ``heartbeat``."""
    points: int
    ledger_pk: int | None


@dataclass(frozen=True)
class ApplyResult:
    ledger_pk: int
    status: str
    """``applied``, ``duplicate`` (already applied: redelivery) or ``failed``."""
    points: int = 0
    run_pk: int | None = None


def stage(db: Database, run_id: str, batch: Batch, content_type: str, payload: bytes) -> StageResult:
    with db.write_session() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        if batch.is_heartbeat:
            runs.heartbeat(session, run.pk)
            return StageResult(batch.batch_id, "heartbeat", 0, None)
        staged = batches.stage(session, run.pk, batch.batch_id, content_type, payload, batch.n_points)
    status = "duplicate" if staged.duplicate else "accepted"
    return StageResult(batch.batch_id, status, batch.n_points, staged.pk)


def apply(db: Database, ledger_pk: int) -> ApplyResult:
    with db.write_session() as session:
        claimed = batches.claim(session, ledger_pk)
        if claimed is None:
            return ApplyResult(ledger_pk, "duplicate")
        try:
            # Validated when staged; the limit here only guards against a changed setting.
            batch = decode_batch(claimed.payload, claimed.content_type, max_points=2**62)
        except WireError as exc:
            # Only a server upgrade that tightened validation gets here: record the failure
            # rather than retry a batch that can never apply.
            batches.mark_failed(session, ledger_pk, f"staged batch no longer decodes: {exc.msg}")
            log.error("batch %s failed to decode: %s", ledger_pk, exc.msg)
            return ApplyResult(ledger_pk, "failed", run_pk=claimed.run_pk)
        _write(session, claimed.run_pk, claimed.pk, batch)
        return ApplyResult(ledger_pk, "applied", batch.n_points, claimed.run_pk)


def _write(session: Session, run_pk: int, seq: int, batch: Batch) -> None:
    names = [key for block in batch.blocks for key in block.keys]
    if batch.wall_steps.size:
        names.append(series.WALL_TIME_KEY)
    ids = series.ensure_keys(session, run_pk, names)
    rows = []
    latest: dict[int, tuple[int, float]] = {}
    for block in batch.blocks:
        for k, key in enumerate(block.keys):
            key_id = ids[key]
            counts = block.counts[k] if block.counts is not None else None
            rows.append(series.segment_row(run_pk, key_id, seq, block.steps, block.values[k], counts))
            latest[key_id] = (int(block.steps[-1]), float(block.values[k, -1]))
    if batch.wall_steps.size:
        key_id = ids[series.WALL_TIME_KEY]
        rows.append(series.segment_row(run_pk, key_id, seq, batch.wall_steps, batch.wall_time, None))
    series.insert_segments(session, rows)
    series.upsert_latest(session, run_pk, latest)
    runs.record_progress(session, run_pk, max_step=batch.max_step, final=batch.final, layers=batch.layers)
