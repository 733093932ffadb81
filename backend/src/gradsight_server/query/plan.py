"""Which stored roll-up buckets and which raw step ranges answer a bucketed query.

A key has roll-ups at levels ``fine, fine + 2, …, top`` (bucket width ``2**level``). For a
query of bucket width ``w`` over ``[lo, hi)`` the plan takes, from the coarsest level not
wider than ``w`` down to the finest, every stored bucket that lies wholly inside what is
still uncovered and holds no fresh (not yet compacted) point; what remains — the ragged
edges and the buckets fresh data touched — is read raw. Each level leaves at most a few
buckets per edge to the next, so the rows read stay bounded however long the run is.

Below ``raw_from`` retention dropped the raw points: what would be read raw there is
answered by whole fine-level buckets instead (a bucket may then reach past the range).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Interval = tuple[int, int]
"""Half-open ``[lo, hi)``: steps, or bucket indexes at some level."""


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-empty, with overlapping and touching intervals joined."""
    out: list[Interval] = []
    for lo, hi in sorted(i for i in intervals if i[0] < i[1]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def subtract(base: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """``base`` minus the union of ``cuts``."""
    cut = merged(cuts)
    out: list[Interval] = []
    for b_lo, hi in merged(base):
        lo = b_lo
        for c_lo, c_hi in cut:
            if c_hi <= lo or c_lo >= hi:
                continue
            if c_lo > lo:
                out.append((lo, c_lo))
            lo = max(lo, c_hi)
            if lo >= hi:
                break
        if lo < hi:
            out.append((lo, hi))
    return out


def clip(intervals: Iterable[Interval], lo: int, hi: int) -> list[Interval]:
    return [(max(a, lo), min(b, hi)) for a, b in intervals if max(a, lo) < min(b, hi)]


def buckets_touched(steps: Iterable[Interval], width: int) -> list[Interval]:
    """Bucket indexes (at ``width``) that the step intervals touch."""
    return merged((lo // width, (hi - 1) // width + 1) for lo, hi in steps if lo < hi)


def in_ranges(values: npt.NDArray[np.int64], ranges: Sequence[Interval]) -> npt.NDArray[np.bool_]:
    """Which values lie in one of the sorted, disjoint half-open ranges."""
    if not ranges:
        return np.zeros(values.size, dtype=bool)
    lo = np.array([r[0] for r in ranges], dtype=np.int64)
    hi = np.array([r[1] for r in ranges], dtype=np.int64)
    at = np.searchsorted(lo, values, side="right") - 1
    return (at >= 0) & (values < hi[np.maximum(at, 0)])


@dataclass
class Plan:
    reads: list[tuple[int, Interval]] = field(default_factory=list)
    """(level, bucket index range) of stored buckets to use whole."""
    raw: list[Interval] = field(default_factory=list)
    """Step ranges to read raw."""
    snapped: list[Interval] = field(default_factory=list)
    """Fine-level bucket ranges used whole because their raw points were dropped."""


def plan(
    lo: int,
    hi: int,
    width: int,
    levels: Sequence[int],
    dirty: Sequence[Interval],
    raw_from: int | None = None,
) -> Plan:
    """``levels`` ascending (empty: no roll-ups); ``dirty`` the step ranges of fresh segments."""
    out = Plan()
    todo = [(lo, hi)] if lo < hi else []
    for level in reversed([lv for lv in levels if 1 << lv <= width]):
        size = 1 << level
        stale = buckets_touched(dirty, size)
        rest: list[Interval] = []
        for a_lo, a_hi in todo:
            inside = (-(-a_lo // size), a_hi // size)
            clean = subtract([inside], stale)
            out.reads += [(level, c) for c in clean]
            rest += subtract([(a_lo, a_hi)], [(c_lo * size, c_hi * size) for c_lo, c_hi in clean])
        todo = merged(rest)
    out.raw = todo
    if raw_from is not None and levels and todo:
        # raw_from is tile-aligned, hence a multiple of every fine width: no bucket straddles it.
        size = 1 << levels[0]
        gone = subtract(clip(todo, lo, raw_from), dirty)
        out.snapped = subtract(buckets_touched(gone, size), buckets_touched(dirty, size))
        out.raw = subtract(todo, [(b_lo * size, b_hi * size) for b_lo, b_hi in out.snapped])
    return out
