"""Building and patching a key's roll-ups from its merged points (compaction calls this).

Fine-level buckets touched by fresh data are rebuilt from the merged points of the tiles
compaction rewrites (which hold every point of those buckets: store/chunks.py); each coarser
level rebuilds only the parents of what changed below it, from the patched level below. A
replaced step therefore never leaves a stale extreme behind, and a compaction reads and
writes about one block per level per key, however long the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from gradsight_server.query.partials import I64, Partials, concat
from gradsight_server.query.plan import Interval, buckets_touched, in_ranges, merged
from gradsight_server.store import rollups
from gradsight_server.store.points import Points
from gradsight_server.store.rollups import BLOCK, FINE_LEVELS, LEVEL_STEP, MAX_LEVEL

ROLLUP_MIN_POINTS = 2048
"""Keys with fewer points keep no roll-ups: reading them raw costs less than 16 kB."""
POINTS_PER_FINE_BUCKET = 32
"""The fine level is the narrowest whose buckets hold this many points on average, so roll-ups
add ≤ ~2 bytes per point (a bucket is 56 bytes, and levels above add a third)."""

Row = tuple[int, int, int, Partials]
"""(key id, level, block, buckets) — what store.rollups.write takes."""


def choose_fine(steps: I64) -> int:
    for level in FINE_LEVELS:
        if steps.size >= POINTS_PER_FINE_BUCKET * np.unique(steps >> level).size:
            return level
    return FINE_LEVELS[-1]


def top_for(fine: int, first: int, last: int) -> int:
    """The first level (from ``fine``, in steps of two) whose buckets over [first, last] fit one block."""
    level = fine
    while level < MAX_LEVEL and (last >> level) // BLOCK != (first >> level) // BLOCK:
        level += LEVEL_STEP
    return level


def blocks(key_id: int, level: int, buckets: Partials) -> list[Row]:
    if not len(buckets):
        return []
    ids = (buckets.first >> level) // BLOCK
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(buckets)]
    return [
        (key_id, level, int(ids[a]), buckets.take(np.arange(a, b)))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def build(key_id: int, points: Points, first: int, last: int) -> tuple[int, int, list[Row]]:
    """Every level of a key from all its points: (fine level, top level, rows)."""
    fine = choose_fine(points.steps)
    top = top_for(fine, first, last)
    buckets = Partials.of_points(points.steps, points.values, 1 << fine)
    rows = blocks(key_id, fine, buckets)
    for level in range(fine + LEVEL_STEP, top + 1, LEVEL_STEP):
        buckets = buckets.grouped(1 << level)
        rows += blocks(key_id, level, buckets)
    return fine, top, rows


@dataclass
class Patch:
    """One key's roll-up work in a compaction."""

    key_id: int
    fine: int
    top: int
    points: Points
    """Merged points of every tile the fresh data touched."""
    dirty: list[Interval]
    """Step ranges of the fresh segments compacted."""
    touched: list[Interval] | None = None
    """Bucket ranges being rebuilt at the current level."""
    below: Partials | None = None
    """The patched buckets of the level below, within the blocks that changed."""


def patch(session: Session, work: Sequence[Patch]) -> list[Row]:
    """Rebuild the buckets fresh data touched, level by level, for many keys at once: one read
    of the stored blocks per level, not one per key and level."""
    rows: list[Row] = []
    if not work:
        return rows
    for level in range(min(w.fine for w in work), max(w.top for w in work) + 1, LEVEL_STEP):
        size = 1 << level
        active: list[tuple[Patch, Partials]] = []
        for w in work:
            if not w.fine <= level <= w.top:
                continue
            if level == w.fine:
                w.touched = buckets_touched(w.dirty, size)
                keep = in_ranges(w.points.steps >> level, w.touched)
                fresh = Partials.of_points(w.points.steps[keep], w.points.values[keep], size)
            else:
                assert w.touched is not None and w.below is not None
                w.touched = merged((lo >> LEVEL_STEP, ((hi - 1) >> LEVEL_STEP) + 1) for lo, hi in w.touched)
                fresh = w.below.take(in_ranges(w.below.first >> level, w.touched)).grouped(size)
            active.append((w, fresh))
        if not active:
            continue
        spans = [_block_span(w.touched or []) for w, _ in active]
        stored = rollups.read(
            session, [w.key_id for w, _ in active], level, min(s[0] for s in spans), max(s[1] for s in spans)
        )
        for w, fresh in active:
            old = stored[w.key_id]
            bucket = old.first >> level
            in_blocks = in_ranges(bucket // BLOCK, _block_ranges(w.touched or []))
            kept = old.take(in_blocks & ~in_ranges(bucket, w.touched or []))
            w.below = concat([kept, fresh])
            rows += blocks(w.key_id, level, w.below)
    return rows


def _block_ranges(touched: Sequence[Interval]) -> list[Interval]:
    return merged((lo // BLOCK, (hi - 1) // BLOCK + 1) for lo, hi in touched)


def _block_span(touched: Sequence[Interval]) -> tuple[int, int]:
    ranges = _block_ranges(touched)
    return (ranges[0][0], ranges[-1][1] - 1) if ranges else (0, -1)


def grow(session: Session, key_id: int, top: int, new_top: int) -> list[Row]:
    """Add levels above ``top`` (the key's span outgrew one block), from all of level ``top``
    (by definition at most a few blocks)."""
    buckets = rollups.read(session, [key_id], top, 0, 2**62)[key_id]
    rows: list[Row] = []
    for level in range(top + LEVEL_STEP, new_top + 1, LEVEL_STEP):
        buckets = buckets.grouped(1 << level)
        rows += blocks(key_id, level, buckets)
    return rows
