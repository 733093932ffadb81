"""Chunk repository: what compaction reads and writes in ``segments``.

A chunk holds one key's points over whole 4096-step tiles, and no two chunks of a key share a
tile. So a chunk never repeats a step another chunk holds, and every roll-up bucket (at most
a tile wide, aligned) lies inside a single chunk's tiles: compaction can rebuild a bucket
from the chunks it rewrites. A chunk grows tile by tile until it holds ``CHUNK_MIN_POINTS``
(so sparse keys do not pay a row per 41 points), and never past ``CHUNK_MAX_POINTS`` (one
dense tile, 32 kB of values, the most a zoomed query reads beyond what it needs at each edge).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from gradsight_server.store.models import IngestBatch, MetricKey, Segment
from gradsight_server.store.pgcopy import stride_of
from gradsight_server.store.points import CHUNK, COLUMNS, FRESH, Points

TILE_LEVEL = 12
TILE = 1 << TILE_LEVEL
CHUNK_MIN_POINTS = 1024
CHUNK_MAX_POINTS = TILE


def split(steps: np.ndarray[Any, np.dtype[np.int64]]) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` of sorted unique steps, one per chunk, cut at tile boundaries."""
    if not steps.size:
        return []
    tiles = steps >> TILE_LEVEL
    starts = np.flatnonzero(np.r_[True, tiles[1:] != tiles[:-1]]).tolist()
    out: list[tuple[int, int]] = []
    begin, held = 0, 0
    for at, end in zip(starts, [*starts[1:], int(steps.size)], strict=True):
        size = end - at
        if held and (held >= CHUNK_MIN_POINTS or held + size > CHUNK_MAX_POINTS):
            out.append((begin, at))
            begin, held = at, 0
        held += size
    out.append((begin, int(steps.size)))
    return out


def chunk_rows(run_pk: int, key_id: int, seq: int, points: Points) -> list[dict[str, Any]]:
    """``segments`` rows (``chunk`` true) for a key's merged points."""
    rows = []
    for i, j in split(points.steps):
        steps = points.steps[i:j]
        stride = stride_of(steps)
        counts = points.counts[i:j] if points.counts is not None else None
        rows.append(
            {
                "run_pk": run_pk,
                "key_id": key_id,
                "seq": seq,
                "first_step": int(steps[0]),
                "last_step": int(steps[-1]),
                "n": j - i,
                "stride": stride or 0,
                "steps": None if stride is not None else steps.astype("<i8").tobytes(),
                "dtype": "f8",
                "values": points.values[i:j].astype("<f8").tobytes(),
                "counts": counts.astype("<u4").tobytes()
                if counts is not None and (counts != 1).any()
                else None,
                "chunk": True,
            }
        )
    return rows


def runs_with_fresh(session: Session) -> list[int]:
    """Runs that have segments not yet compacted (an index-only scan of the fresh index)."""
    return [int(pk) for pk in session.scalars(select(Segment.run_pk).where(FRESH).distinct())]


def watermark(session: Session, run_pk: int, received_before: datetime) -> int | None:
    """Compaction takes fresh segments with ``seq`` below this (None: all of them).

    A compacted chunk carries the highest ``seq`` it merged, so a batch that applies after it
    must have a higher one, or its re-logged steps would lose to older values. Hence the bound:
    the run's oldest batch still staged, and no batch received after ``received_before``
    (a batch being staged right now may hold a lower ledger id than one already applied).
    """
    staged = session.scalar(
        select(func.min(IngestBatch.pk)).where(IngestBatch.state == "staged", IngestBatch.run_pk == run_pk)
    )
    # Ledger ids grow with arrival: walk back from the newest to the first one received
    # before the cut-off (the primary key index, a few seconds' worth of rows).
    older = session.scalar(
        select(IngestBatch.pk)
        .where(IngestBatch.received_at < received_before)
        .order_by(IngestBatch.pk.desc())
        .limit(1)
    )
    bounds = [int(staged)] if staged is not None else []
    if older is not None:
        bounds.append(int(older) + 1)
    elif session.scalar(select(func.max(IngestBatch.pk))) is not None:
        bounds.append(0)  # every batch is recent: nothing is safe to compact yet
    return min(bounds) if bounds else None


def keys_to_compact(session: Session, run_pk: int, below: int | None, limit: int) -> list[int]:
    """Lock up to ``limit`` keys of the run that have fresh segments under the watermark.

    ``FOR NO KEY UPDATE SKIP LOCKED``: concurrent compactions (several API processes, several
    workers) split the keys instead of racing on them; ingest, which only takes key-share
    locks on them (foreign keys), is never blocked; deleting the run waits for the lock, so
    it sees and removes what this compaction wrote.
    """
    query = select(Segment.key_id).where(Segment.run_pk == run_pk, FRESH).distinct()
    if below is not None:
        query = query.where(Segment.seq < below)
    candidates = sorted(int(k) for k in session.scalars(query))
    locked: list[int] = []
    for at in range(0, len(candidates), 500):
        if len(locked) >= limit:
            break
        found = session.scalars(
            select(MetricKey.id)
            .where(MetricKey.id.in_(candidates[at : at + 500]))
            .order_by(MetricKey.id)
            .limit(limit - len(locked))
            .with_for_update(key_share=True, skip_locked=True)
        )
        locked += [int(k) for k in found]
    return locked


def lock_keys(session: Session, key_ids: Sequence[int]) -> list[int]:
    """Lock these keys as :func:`keys_to_compact` does (retention), skipping busy ones."""
    found = session.scalars(
        select(MetricKey.id)
        .where(MetricKey.id.in_(sorted(key_ids)))
        .order_by(MetricKey.id)
        .with_for_update(key_share=True, skip_locked=True)
    )
    return [int(k) for k in found]


_FULL = (*COLUMNS, Segment.last_step, Segment.counts)


def fresh_segments(session: Session, run_pk: int, key_ids: Sequence[int], below: int | None) -> list[Any]:
    query = select(*_FULL).where(Segment.run_pk == run_pk, Segment.key_id.in_(key_ids), FRESH)
    if below is not None:
        query = query.where(Segment.seq < below)
    return list(session.execute(query))


@dataclass(frozen=True)
class Span:
    id: int
    key_id: int
    first_step: int
    last_step: int
    n: int

    @property
    def tiles(self) -> tuple[int, int]:
        return self.first_step >> TILE_LEVEL, (self.last_step >> TILE_LEVEL) + 1


def chunk_spans(session: Session, run_pk: int, key_ids: Sequence[int]) -> dict[int, list[Span]]:
    """Every chunk of these keys (no values), sorted by first step."""
    out: dict[int, list[Span]] = {int(k): [] for k in key_ids}
    query = (
        select(Segment.id, Segment.key_id, Segment.first_step, Segment.last_step, Segment.n)
        .where(Segment.run_pk == run_pk, Segment.key_id.in_(key_ids), CHUNK)
        .order_by(Segment.key_id, Segment.first_step)
    )
    for row in session.execute(query):
        out[int(row.key_id)].append(Span(int(row.id), int(row.key_id), *map(int, row[2:])))
    return out


def segments_by_id(session: Session, ids: Iterable[int]) -> list[Any]:
    wanted = sorted(set(ids))
    rows: list[Any] = []
    for at in range(0, len(wanted), 500):
        rows += session.execute(select(*_FULL).where(Segment.id.in_(wanted[at : at + 500]))).all()
    return rows


def replace(session: Session, old_ids: Iterable[int], new_rows: Sequence[dict[str, Any]]) -> None:
    """Delete merged segments and insert the chunks made from them (same transaction)."""
    gone = sorted(set(old_ids))
    for at in range(0, len(gone), 1000):
        session.execute(delete(Segment).where(Segment.id.in_(gone[at : at + 1000])))
    for at in range(0, len(new_rows), 500):
        session.execute(insert(Segment), list(new_rows[at : at + 500]))


def drop_chunks_below(session: Session, run_pk: int, key_ids: Sequence[int], step: int) -> int:
    """Retention: delete the keys' chunks that end below ``step``. Returns how many."""
    result = session.execute(
        delete(Segment).where(
            Segment.run_pk == run_pk, Segment.key_id.in_(key_ids), CHUNK, Segment.last_step < step
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def update_keys(session: Session, states: Sequence[dict[str, Any]]) -> None:
    """Write compaction's per-key state (dicts with ``id`` and the columns to set)."""
    for state in states:
        values = {k: v for k, v in state.items() if k != "id"}
        session.execute(update(MetricKey).where(MetricKey.id == state["id"]).values(**values))
