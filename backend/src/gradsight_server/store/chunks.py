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
from sqlalchemy import and_, case, delete, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from gradsight_server.store.arrays import any_of
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
    """Runs that have segments not yet compacted: a scan of the whole fresh index (~1 row per
    key per batch of the last tile), so the hourly safety net, not every sweep."""
    return [int(pk) for pk in session.scalars(select(Segment.run_pk).where(FRESH).distinct())]


def runs_with_batches_since(session: Session, t: datetime) -> list[int]:
    """Runs that received batches since ``t``: what every sweep compacts (a range of the
    ledger's primary key, a few minutes of rows)."""
    since = received_since(session, t)
    if since is None:
        return []
    query = select(IngestBatch.run_pk).where(IngestBatch.pk >= since).distinct()
    return [int(pk) for pk in session.scalars(query)]


def received_since(session: Session, t: datetime) -> int | None:
    """The lowest ledger id a batch received at ``t`` or later can have: batches below it were
    received before ``t``. None: the ledger is empty (nothing is recent)."""
    # Ledger ids grow with arrival: walk back from the newest to the first one received
    # before ``t`` (the primary key index; a few seconds' or minutes' worth of rows).
    older = session.scalar(
        select(IngestBatch.pk).where(IngestBatch.received_at < t).order_by(IngestBatch.pk.desc()).limit(1)
    )
    if older is not None:
        return int(older) + 1
    return 0 if session.scalar(select(func.max(IngestBatch.pk))) is not None else None


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
    bounds = [b for b in (staged, received_since(session, received_before)) if b is not None]
    return min(int(b) for b in bounds) if bounds else None


@dataclass(frozen=True)
class Due:
    """Which fresh segments of a key compaction takes now."""

    open_tile: int
    """First step of the tile the key is still writing: segments starting in it wait …"""
    old: int | None
    """… unless their ``seq`` is below this (None: all are old)."""

    def takes(self, seq: int, first_step: int) -> bool:
        return first_step < self.open_tile or self.old is None or seq < self.old


def due_keys(session: Session, run_pk: int, below: int | None, old: int | None) -> dict[int, Due]:
    """Keys of the run with fresh segments due for compaction: under the watermark ``below``,
    and either in a tile the key has moved past or older than ``old`` (a key that stopped
    logging). The tile a key is still writing waits: compacting it on every pass would
    rewrite its chunk each time. One aggregate over the run's fresh segments."""
    safe = Segment.seq < below if below is not None else true()
    aged = Segment.seq < old if old is not None else true()
    query = (
        select(
            Segment.key_id,
            func.max(Segment.last_step),
            func.min(case((safe, Segment.first_step))),
            func.count(case((and_(safe, aged), 1))),
        )
        .where(Segment.run_pk == run_pk, FRESH)
        .group_by(Segment.key_id)
    )
    due: dict[int, Due] = {}
    for key_id, last, first_safe, n_old in session.connection().execute(query):
        open_tile = (int(last) >> TILE_LEVEL) << TILE_LEVEL
        if (first_safe is not None and int(first_safe) < open_tile) or int(n_old):
            due[int(key_id)] = Due(open_tile, old)
    return due


def lock_keys(session: Session, key_ids: Sequence[int]) -> list[int]:
    """Lock these keys for compaction or retention, skipping busy ones.

    ``FOR NO KEY UPDATE SKIP LOCKED``: concurrent compactions (several API processes, several
    workers) split the keys instead of racing on them; ingest, which only takes key-share
    locks on them (foreign keys), is never blocked; deleting the run waits for the lock, so
    it sees and removes what this compaction wrote.
    """
    found = session.scalars(
        select(MetricKey.id)
        .where(MetricKey.id.in_(sorted(key_ids)))
        .order_by(MetricKey.id)
        .with_for_update(key_share=True, skip_locked=True)
    )
    return [int(k) for k in found]


_FULL = (*COLUMNS, Segment.last_step, Segment.counts)


def fresh_segments(session: Session, run_pk: int, due: dict[int, Due], below: int | None) -> list[Any]:
    """The fresh segments compaction takes now, with their points. Keys of one run write the
    same tiles, so one bound (the highest open tile) selects nearly exactly what is due; the
    few segments of a key that has an earlier open tile are dropped here."""
    highest_open = max(d.open_tile for d in due.values())
    old = next(iter(due.values())).old
    query = (
        select(*_FULL)
        .where(Segment.run_pk == run_pk, Segment.key_id.in_(sorted(due)), FRESH)
        .order_by(Segment.key_id, Segment.seq, Segment.id)
    )
    if below is not None:
        query = query.where(Segment.seq < below)
    if old is not None:
        query = query.where(or_(Segment.first_step < highest_open, Segment.seq < old))
    rows = list(session.connection().execute(query))
    late = {k for k, d in due.items() if d.open_tile < highest_open}
    if not late:
        return rows
    return [r for r in rows if r.key_id not in late or due[r.key_id].takes(r.seq, r.first_step)]


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
    rows: list[Any] = []
    for match in any_of(session, Segment.id, sorted(set(ids))):
        rows += session.connection().execute(select(*_FULL).where(match)).all()
    return rows


def replace(session: Session, old_ids: Iterable[int], new_rows: Sequence[dict[str, Any]]) -> None:
    """Delete merged segments and insert the chunks made from them (same transaction)."""
    for match in any_of(session, Segment.id, sorted(set(old_ids))):
        session.execute(delete(Segment).where(match).execution_options(synchronize_session=False))
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
    """Write compaction's per-key state (dicts with ``id`` and the columns to set): one
    executemany per set of columns, not a statement per key."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for state in states:
        by_columns.setdefault(tuple(sorted(state)), []).append(state)
    for rows in by_columns.values():
        session.execute(update(MetricKey), rows)
