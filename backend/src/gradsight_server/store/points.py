"""Reading raw points: the segments of a key in a step range, merged to one value per step.

A key's points live in compacted chunks (``chunk``, tile-aligned, never sharing a step) and in
fresh per-batch segments written since the last compaction (any step, any overlap). Reading
merges both by ``seq``: for a step held twice, the later batch wins.

Range reads never scan a key from its start: the chunks overlapping ``[start, end)`` are the
one holding ``start`` (the last chunk beginning before it) plus those beginning inside the
range, both index range scans; fresh segments are few and have their own partial index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, and_, func, literal_column, select, text
from sqlalchemy.orm import Session

from gradsight_server.store.models import Segment

Steps = npt.NDArray[np.int64]
Values = npt.NDArray[np.float64]

CHUNK = text("segments.chunk")
FRESH = text("NOT segments.chunk")
"""Spelled as in the partial indexes' predicates, so SQLite's planner can use them."""
KEYS_PER_QUERY = 500


Counts = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class Points:
    steps: Steps
    values: Values
    counts: Counts | None = None
    """How many times each step was logged, when read (compaction keeps them)."""

    @classmethod
    def empty(cls) -> Points:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64))


COLUMNS = (
    Segment.id,
    Segment.key_id,
    Segment.seq,
    Segment.first_step,
    Segment.n,
    Segment.stride,
    Segment.steps,
    Segment.dtype,
    Segment.values,
)


def _concat(rows: Sequence[Any], with_counts: bool) -> Points:
    """Every row's points, in row order, decoded together: one ``frombuffer`` for all values and
    steps rebuilt from (first, stride) in one vectorised pass — compaction merges hundreds of
    thousands of small segments, and a per-row decode cost ~10 µs each."""
    n = np.fromiter((r.n for r in rows), np.int64, len(rows))
    offsets = np.cumsum(n) - n
    total = int(n.sum())
    first = np.fromiter((r.first_step for r in rows), np.int64, len(rows))
    stride = np.fromiter((r.stride for r in rows), np.int64, len(rows))
    steps = np.repeat(first, n) + np.repeat(stride, n) * (np.arange(total) - np.repeat(offsets, n))
    if all(r.dtype == "f8" for r in rows):
        values = np.frombuffer(b"".join([r.values for r in rows]), "<f8").astype(np.float64)
    else:
        values = np.concatenate([np.frombuffer(r.values, "<" + r.dtype).astype(np.float64) for r in rows])
    counts = np.ones(total, np.uint32) if with_counts else None
    for i, row in enumerate(rows):
        if row.steps is not None:  # irregular steps, stored explicitly
            steps[offsets[i] : offsets[i] + n[i]] = np.frombuffer(row.steps, "<i8")
        if counts is not None and row.counts is not None:
            counts[offsets[i] : offsets[i] + n[i]] = np.frombuffer(row.counts, "<u4")
    return Points(steps, values, counts)


def merge_rows(
    rows: Sequence[Any], start: int | None = None, end: int | None = None, *, with_counts: bool = False
) -> Points:
    """One key's segments, ordered by (seq, id) → one point per step, sorted, in [start, end).
    ``with_counts``: the rows carry ``counts`` and the result keeps them (compaction)."""
    if not rows:
        return Points.empty()
    every = _concat(rows, with_counts)
    steps, pick = every.steps, np.arange(every.steps.size)
    if len(rows) > 1:
        # A stable sort by step keeps write order within a step, so the last of each run of
        # equal steps is the newest value.
        pick = np.argsort(steps, kind="stable")
        steps = steps[pick]
        last = np.ones(steps.size, dtype=bool)
        last[:-1] = steps[1:] != steps[:-1]
        steps, pick = steps[last], pick[last]
    lo = 0 if start is None else int(np.searchsorted(steps, start))
    hi = steps.size if end is None else int(np.searchsorted(steps, end))
    pick = pick[lo:hi]
    counts = every.counts[pick] if every.counts is not None else None
    return Points(steps[lo:hi], every.values[pick], counts)


def _range_queries(
    run_pk: int,
    ids: Sequence[int],
    start: int | None,
    end: int | None,
    columns: Sequence[Any],
    fresh_too: bool,
) -> list[Select[Any]]:
    base = (Segment.run_pk == run_pk, Segment.key_id.in_(ids))
    fresh = select(*columns).where(*base, FRESH)
    inside = select(*columns).where(*base, CHUNK)
    if end is not None:
        fresh = fresh.where(Segment.first_step < end)
        inside = inside.where(Segment.first_step < end)
    fresh_part = [fresh] if fresh_too else []
    if start is None:
        return [inside, *fresh_part]
    fresh_part = [fresh.where(Segment.last_step >= start)] if fresh_too else []
    inside = inside.where(Segment.first_step >= start)
    head = (
        select(Segment.key_id, func.max(Segment.first_step).label("first_step"))
        .where(*base, CHUNK, Segment.first_step < start)
        .group_by(Segment.key_id)
        .subquery()
    )
    holding = (
        select(*columns)
        .join(head, and_(Segment.key_id == head.c.key_id, Segment.first_step == head.c.first_step))
        .where(Segment.run_pk == run_pk, CHUNK, Segment.last_step >= start)
    )
    return [holding, inside, *fresh_part]


def segment_rows(
    session: Session,
    run_pk: int,
    key_ids: Iterable[int],
    start: int | None = None,
    end: int | None = None,
    columns: Sequence[Any] = COLUMNS,
    *,
    fresh: bool = True,
) -> dict[int, list[Any]]:
    """The segments of these keys that may hold steps in [start, end), per key in (seq, id) order
    (``fresh`` False: compacted chunks only)."""
    ids = sorted(set(key_ids))
    grouped: dict[int, list[Any]] = {key_id: [] for key_id in ids}
    for at in range(0, len(ids), KEYS_PER_QUERY):
        for query in _range_queries(run_pk, ids[at : at + KEYS_PER_QUERY], start, end, columns, fresh):
            for row in session.connection().execute(query).all():
                grouped[row.key_id].append(row)
    order = attrgetter("seq", "id")
    for rows in grouped.values():
        rows.sort(key=order)
    return grouped


def read_points(
    session: Session, run_pk: int, key_id: int, start: int | None = None, end: int | None = None
) -> Points:
    """All points of a key with ``start <= step < end``, one per step, sorted by step.

    Where several segments hold the same step, the one written by the later batch wins.
    """
    return merge_rows(segment_rows(session, run_pk, [key_id], start, end)[key_id], start, end)


def read_many(
    session: Session, run_pk: int, keys: dict[str, int], start: int | None = None, end: int | None = None
) -> dict[str, Points]:
    """``read_points`` for many keys (name → key id) in a few queries per 500 keys, not a few
    per key: a diagnosis pass reads every per-layer series of a run."""
    names = {key_id: name for name, key_id in keys.items()}
    rows = segment_rows(session, run_pk, names, start, end)
    return {names[key_id]: merge_rows(found, start, end) for key_id, found in rows.items()}


def fresh_ranges(session: Session, run_pk: int, key_ids: Iterable[int]) -> dict[int, tuple[Steps, Steps]]:
    """Per key, step ranges ``[first, last + 1)`` covering its fresh (not yet compacted)
    segments — where its roll-ups may be stale or missing — as arrays of firsts and ends.

    One range per key and 4,096-step tile the segments start in, not one per segment: a key's
    current tile holds ~80 segments, and 200 keys' 16,000 rows cost more to fetch than the rest
    of a heatmap. A range may cover gaps between segments of its tile: those steps hold no fresh
    point, so reading them raw is merely a little more than needed."""
    ids = sorted(set(key_ids))
    empty = np.zeros(0, np.int64)
    out: dict[int, tuple[Steps, Steps]] = dict.fromkeys(ids, (empty, empty))
    tile: Any = literal_column("segments.first_step >> 12")  # TILE_LEVEL (store/chunks.py), as a literal
    for at in range(0, len(ids), KEYS_PER_QUERY):
        query = (
            select(Segment.key_id, func.min(Segment.first_step), func.max(Segment.last_step))
            .where(Segment.run_pk == run_pk, Segment.key_id.in_(ids[at : at + KEYS_PER_QUERY]), FRESH)
            .group_by(Segment.key_id, tile)
            .order_by(Segment.key_id)
        )
        found = session.connection().execute(query).all()
        if not found:
            continue
        rows = np.array([(r[0], r[1], r[2]) for r in found], dtype=np.int64)
        bounds: list[int] = np.flatnonzero(np.r_[True, rows[1:, 0] != rows[:-1, 0]]).tolist()
        for lo, hi in zip(bounds, [*bounds[1:], rows.shape[0]], strict=True):
            out[int(rows[lo, 0])] = (rows[lo:hi, 1], rows[lo:hi, 2] + 1)
    return out
