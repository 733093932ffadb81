"""Bucketed reads of many keys at once: roll-ups where they are clean, raw points elsewhere.

For each key the planner (query/plan.py) says which stored buckets and which raw ranges
answer the query; this module runs those reads grouped across keys — one roll-up query per
level, one raw query per distinct step range — so a 200-layer heatmap costs a handful of
queries, not a handful per layer. Results are the same buckets a brute-force pass over the
key's points would give (tests/backend/test_query_properties.py checks it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gradsight_server.query.buckets import Buckets, bucket_width
from gradsight_server.query.partials import STATISTICS, Partials, concat
from gradsight_server.query.plan import Interval, Plan, clip, in_ranges, merged, plan
from gradsight_server.store import rollups
from gradsight_server.store.points import fresh_ranges, merge_rows, segment_rows
from gradsight_server.store.rollups import BLOCK, KeyState
from gradsight_server.wire.decode import MAX_STEP


@dataclass(frozen=True)
class KeyView:
    """A key as a query sees it: its roll-up state, its fresh step ranges and its extent."""

    state: KeyState
    dirty: list[Interval]
    first: int | None
    """Lowest and highest step the key holds (None: no points yet)."""
    last: int | None

    def span(self, start: int | None, end: int | None) -> Interval | None:
        """The steps of [start, end) the key can hold, or None."""
        if self.first is None or self.last is None:
            return None
        lo = self.first if start is None else max(start, self.first)
        hi = self.last + 1 if end is None else min(end, self.last + 1)
        return (lo, hi) if lo < hi else None


def views(session: Session, run_pk: int, states: Sequence[KeyState]) -> dict[int, KeyView]:
    dirty = fresh_ranges(session, run_pk, [s.id for s in states])
    out = {}
    for s in states:
        ranges = merged(dirty[s.id])
        firsts = [v for v in (s.first_step, ranges[0][0] if ranges else None) if v is not None]
        lasts = [v for v in (s.last_step, ranges[-1][1] - 1 if ranges else None) if v is not None]
        out[s.id] = KeyView(s, ranges, min(firsts, default=None), max(lasts, default=None))
    return out


def width_for(span: Interval, points: int) -> int:
    return bucket_width(span[0], span[1] - 1, points)


@dataclass
class _Work:
    view: KeyView
    width: int
    plan: Plan
    parts: list[Partials]


def read(
    session: Session,
    run_pk: int,
    keys: dict[int, KeyView],
    start: int | None,
    end: int | None,
    points: int,
    widths: dict[int, int] | None = None,
    stats: Sequence[str] = STATISTICS,
    raw_when_few: bool = True,
) -> dict[int, Buckets]:
    """Buckets per key id over [start, end): at most ``points`` of them, of ``widths[key id]``
    (default: the smallest power of two that fits the key's span in the range). With
    ``raw_when_few``, a key with at most ``points`` points in the range comes back raw."""
    work: dict[int, _Work] = {}
    out: dict[int, Buckets] = {}
    for key_id, view in keys.items():
        span = view.span(start, end)
        if span is None:
            out[key_id] = Buckets.of(Partials.empty(), raw=True)
            continue
        assert view.first is not None and view.last is not None
        size = widths[key_id] if widths is not None else width_for(span, points)
        # Outside the key's extent there is nothing: extend the range there to bucket bounds,
        # so full-range queries use whole stored buckets instead of reading ragged edges raw.
        lo = start if start is not None and start > view.first else 0
        hi = end if end is not None and end <= view.last else MAX_STEP
        p = plan(lo, hi, size, view.state.levels, view.dirty, view.state.raw_from)
        p.raw = clip(p.raw, view.first, view.last + 1)
        work[key_id] = _Work(view, size, p, [])
    _read_stored(session, work, stats)
    _read_raw(session, run_pk, work)
    for key_id, w in work.items():
        merged_parts = concat(w.parts)
        if raw_when_few and merged_parts.total <= points and not w.plan.snapped:
            out[key_id] = _raw(session, run_pk, w, merged_parts, start, end)
        else:
            out[key_id] = Buckets.of(merged_parts.grouped(w.width))
    return out


def _read_stored(session: Session, work: dict[int, _Work], stats: Sequence[str]) -> None:
    by_level: dict[int, dict[int, list[Interval]]] = defaultdict(lambda: defaultdict(list))
    for key_id, w in work.items():
        for level, buckets in w.plan.reads:
            by_level[level][key_id].append(buckets)
        if w.plan.snapped:
            by_level[w.view.state.levels[0]][key_id] += w.plan.snapped
    for level, wanted in by_level.items():
        lo = min(r[0] for ranges in wanted.values() for r in ranges) // BLOCK
        hi = (max(r[1] for ranges in wanted.values() for r in ranges) - 1) // BLOCK
        found = rollups.read(session, wanted, level, lo, hi, stats)
        for key_id, ranges in wanted.items():
            stored = found[key_id]
            work[key_id].parts.append(stored.take(in_ranges(stored.first >> level, merged(ranges))))


def _read_raw(session: Session, run_pk: int, work: dict[int, _Work]) -> None:
    by_range: dict[Interval, list[int]] = defaultdict(list)
    for key_id, w in work.items():
        for interval in w.plan.raw:
            by_range[interval].append(key_id)
    for (lo, hi), key_ids in by_range.items():
        rows = segment_rows(session, run_pk, key_ids, lo, hi)
        for key_id in key_ids:
            pts = merge_rows(rows[key_id], lo, hi)
            work[key_id].parts.append(Partials.of_points(pts.steps, pts.values))


def _raw(
    session: Session, run_pk: int, w: _Work, merged_parts: Partials, start: int | None, end: int | None
) -> Buckets:
    """Few points: each its own bucket. When the plan read only raw points, they are at hand;
    otherwise read the range raw (at most ``points`` points, plus the chunks around them)."""
    if not w.plan.reads:
        return Buckets.of(merged_parts, raw=True)
    pts = merge_rows(
        segment_rows(session, run_pk, [w.view.state.id], start, end)[w.view.state.id], start, end
    )
    return Buckets.of(Partials.of_points(pts.steps, pts.values), raw=True)
