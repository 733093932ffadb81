"""Housekeeping that runs about hourly: drop raw points past ``GRADSIGHT_RETENTION_DAYS``
(roll-ups stay), and prune the ingest ledger past ``GRADSIGHT_LEDGER_KEEP_DAYS``.

Retention goes by the wall time the agent recorded for each step (the reserved key
``_wall_time``): the raw points of steps below the first step logged within the window are
dropped, in whole 4096-step tiles (whole chunks), for keys that have roll-ups. Keys too small
for roll-ups keep their raw points: they are all the key has, and they cost less than
roll-ups would. A run without wall times counts as old once it has been silent that long.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gradsight_server.store import batches, chunks, rollups, runs, series
from gradsight_server.store.chunks import TILE_LEVEL
from gradsight_server.store.engine import Database
from gradsight_server.store.models import Run
from gradsight_server.wire.decode import MAX_STEP

log = logging.getLogger(__name__)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=runs.now().tzinfo)


def retention_pass(db: Database, days: float, at: datetime | None = None) -> int:
    """Drop raw points older than ``days``. Returns how many chunks were deleted."""
    cutoff = (at or runs.now()) - timedelta(days=days)
    with db.session() as session:
        candidates = runs.created_before(session, cutoff)  # later runs have no step that old
    dropped = 0
    for run_pk in candidates:
        with db.write_session() as session:
            run = session.get(Run, run_pk)
            if run is None:
                continue
            step = _cutoff_step(session, run, cutoff)
            if step is None:
                continue
            dropped += _drop_below(session, run_pk, step)
    if dropped:
        log.info("retention: dropped %d chunks of raw points older than %s days", dropped, days)
    return dropped


def _cutoff_step(session: Session, run: Run, cutoff: datetime) -> int | None:
    """The tile-aligned step below which the run's raw points are older than ``cutoff``."""
    keys = series.key_ids(session, run.pk, [series.WALL_TIME_KEY])
    if series.WALL_TIME_KEY in keys:
        wall = series.read_points(session, run.pk, keys[series.WALL_TIME_KEY])
        recent = wall.steps[wall.values >= cutoff.timestamp()]
        if wall.steps.size:
            first_recent = int(recent.min()) if recent.size else MAX_STEP
            return (first_recent >> TILE_LEVEL) << TILE_LEVEL
    return MAX_STEP if _aware(run.updated_at) < cutoff else None


def _drop_below(session: Session, run_pk: int, step: int) -> int:
    states = rollups.key_states(session, run_pk)
    due = [
        s.id
        for s in states.values()
        if s.fine_level is not None
        and s.first_step is not None
        and s.first_step < step
        and (s.raw_from is None or s.raw_from < step)
    ]
    if not due:
        return 0
    locked = chunks.lock_keys(session, due)  # a key being compacted waits for the next pass
    if not locked:
        return 0
    dropped = chunks.drop_chunks_below(session, run_pk, locked, step)
    chunks.update_keys(session, [{"id": k, "raw_from": step} for k in locked])
    return dropped


def prune_ledger(db: Database, keep_days: float, at: datetime | None = None) -> int:
    """Delete applied ledger rows older than ``keep_days``. Returns how many."""
    cutoff = (at or runs.now()) - timedelta(days=keep_days)
    total = 0
    page: int | None = 0
    while page is not None:
        with db.write_session() as session:
            deleted, page = batches.prune_applied(session, cutoff, page)
        total += deleted
    if total:
        log.info("ledger: pruned %d applied batches older than %s days", total, keep_days)
    return total
