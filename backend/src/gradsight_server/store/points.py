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
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, and_, func, select, text
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


def decode(row: Any) -> Points:
    """A segment row's points; ``counts`` only when the row carries that column."""
    n = int(row.n)
    if row.steps is not None:
        steps = np.frombuffer(row.steps, dtype="<i8").astype(np.int64)
    else:
        steps = int(row.first_step) + int(row.stride) * np.arange(n, dtype=np.int64)
    values = np.frombuffer(row.values, dtype="<" + row.dtype).astype(np.float64)
    if "counts" not in row._fields:
        return Points(steps, values)
    counts = (
        np.ones(n, np.uint32) if row.counts is None else np.frombuffer(row.counts, "<u4").astype(np.uint32)
    )
    return Points(steps, values, counts)


def merge_rows(rows: Sequence[Any], start: int | None = None, end: int | None = None) -> Points:
    """One key's segments, ordered by (seq, id) → one point per step, sorted, in [start, end)."""
    if not rows:
        return Points.empty()
    parts = [decode(row) for row in rows]
    steps = np.concatenate([p.steps for p in parts])
    pick = np.arange(steps.size)
    if len(parts) > 1:
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
    values = np.concatenate([p.values for p in parts])[pick]
    counts = None
    if parts[0].counts is not None:
        counts = np.concatenate([p.counts for p in parts if p.counts is not None])[pick]
    return Points(steps[lo:hi], values, counts)


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
            for row in session.execute(query):
                grouped[int(row.key_id)].append(row)
    for rows in grouped.values():
        rows.sort(key=lambda r: (r.seq, r.id))
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


def fresh_ranges(session: Session, run_pk: int, key_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """Per key, the step ranges ``[first, last + 1)`` of its fresh (not yet compacted) segments:
    where its roll-ups may be stale or missing."""
    ids = sorted(set(key_ids))
    out: dict[int, list[tuple[int, int]]] = {key_id: [] for key_id in ids}
    for at in range(0, len(ids), KEYS_PER_QUERY):
        query = select(Segment.key_id, Segment.first_step, Segment.last_step).where(
            Segment.run_pk == run_pk, Segment.key_id.in_(ids[at : at + KEYS_PER_QUERY]), FRESH
        )
        for key_id, first, last in session.execute(query):
            out[int(key_id)].append((int(first), int(last) + 1))
    return out
