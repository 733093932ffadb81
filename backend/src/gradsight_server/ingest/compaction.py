"""Compaction: merge a run's fresh per-batch segments into tile-aligned chunks, resolving
re-logged steps once, and rebuild the roll-up buckets they touched — in one transaction per
group of keys, so readers always see either the fresh segments or the chunks and roll-ups
made from them (docs/adr/0003-rollups-and-compaction.md).

Idempotent and safe to run concurrently: keys are locked ``SKIP LOCKED`` (store/chunks.py),
and a crash rolls a group back to its fresh segments, which the next pass compacts again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from gradsight_server.ingest import rollup_builder
from gradsight_server.ingest.rollup_builder import ROLLUP_MIN_POINTS, Patch
from gradsight_server.query.plan import Interval, merged
from gradsight_server.store import chunks, rollups
from gradsight_server.store.chunks import TILE_LEVEL, Span
from gradsight_server.store.engine import Database
from gradsight_server.store.points import Points, merge_rows, segment_rows
from gradsight_server.store.rollups import KeyState
from gradsight_server.store.runs import now

log = logging.getLogger(__name__)

KEYS_PER_TRANSACTION = 200
"""Bounds a transaction to a few MB of points (and SQLite's writer lock to well under a second)."""


@dataclass
class Compacted:
    keys: int = 0
    segments: int = 0
    """Fresh segments merged away."""
    chunks: int = 0
    """Chunks written (rewritten ones included)."""
    points: int = 0
    """Points in the chunks written."""

    def add(self, other: Compacted) -> None:
        self.keys += other.keys
        self.segments += other.segments
        self.chunks += other.chunks
        self.points += other.points


def compact_run(
    db: Database,
    run_pk: int,
    grace: timedelta = timedelta(seconds=30),
    keys_per_transaction: int = KEYS_PER_TRANSACTION,
) -> Compacted:
    """Compact the fresh segments of batches received more than ``grace`` ago."""
    total = Compacted()
    cutoff: datetime = now() - grace
    while True:
        # A lost commit loses the whole group: its fresh segments are still there, redone next pass.
        with db.write_session(wait_for_disk=False) as session:
            below = chunks.watermark(session, run_pk, cutoff)
            keys = chunks.keys_to_compact(session, run_pk, below, keys_per_transaction)
            if not keys:
                break
            done = _compact_keys(session, run_pk, keys, below)
        total.add(done)
        if len(keys) < keys_per_transaction:
            break
    if total.segments:
        log.info(
            "compaction of run %s: %d keys, %d segments → %d chunks (%d points)",
            run_pk,
            total.keys,
            total.segments,
            total.chunks,
            total.points,
        )
    return total


def tile_groups(fresh: list[Any], spans: list[Span]) -> list[tuple[Interval, list[Span], list[Any]]]:
    """Split a key's work into independent groups: tile ranges holding fresh segments, widened
    to whole chunks (a rewritten chunk is rewritten entirely), plus the chunk just before when
    it is still small, so a growing key fills its last chunk instead of adding tiny ones."""
    ranges = merged((r.first_step >> TILE_LEVEL, (r.last_step >> TILE_LEVEL) + 1) for r in fresh)
    while True:
        widened = list(ranges)
        for lo, hi in ranges:
            widened += [s.tiles for s in spans if s.tiles[0] < hi and lo < s.tiles[1]]
            before = [s for s in spans if s.tiles[1] <= lo]
            if before and before[-1].n < chunks.CHUNK_MIN_POINTS:
                widened.append((before[-1].tiles[0], lo))
        widened = merged(widened)
        if widened == ranges:
            break
        ranges = widened
    out = []
    for lo, hi in ranges:
        members = [s for s in spans if s.tiles[0] < hi and lo < s.tiles[1]]
        rows = [r for r in fresh if lo <= r.first_step >> TILE_LEVEL < hi]
        out.append(((lo, hi), members, rows))
    return out


def _compact_keys(session: Any, run_pk: int, keys: list[int], below: int | None) -> Compacted:
    fresh_by_key: dict[int, list[Any]] = defaultdict(list)
    for row in chunks.fresh_segments(session, run_pk, keys, below):
        fresh_by_key[int(row.key_id)].append(row)
    spans = chunks.chunk_spans(session, run_pk, keys)
    plans = {k: tile_groups(fresh_by_key[k], spans[k]) for k in keys}
    loaded = {
        int(r.id): r
        for r in chunks.segments_by_id(session, [s.id for k in keys for _, ms, _ in plans[k] for s in ms])
    }
    states = rollups.states_by_id(session, keys)
    done = Compacted(keys=len(keys))
    old_ids: list[int] = []
    new_rows: list[dict[str, Any]] = []
    touched: dict[int, tuple[Points, list[Interval]]] = {}
    for key_id in keys:
        parts: list[Points] = []
        for _, members, rows in plans[key_id]:
            merged_rows = [loaded[s.id] for s in members] + rows
            merged_rows.sort(key=lambda r: (r.seq, r.id))
            points = merge_rows(merged_rows)
            made = chunks.chunk_rows(run_pk, key_id, max(int(r.seq) for r in merged_rows), points)
            new_rows += made
            old_ids += [int(r.id) for r in merged_rows]
            parts.append(points)
            done.segments += len(rows)
            done.chunks += len(made)
            done.points += points.steps.size
        dirty = merged((int(r.first_step), int(r.last_step) + 1) for r in fresh_by_key[key_id])
        touched[key_id] = (_concat(parts), dirty)
    chunks.replace(session, old_ids, new_rows)
    gone = set(old_ids)
    held = {k: sum(s.n for s in spans[k] if s.id not in gone) for k in keys}
    for row in new_rows:
        held[row["key_id"]] += row["n"]
    _update_rollups(session, run_pk, states, held, touched)
    return done


def _concat(parts: list[Points]) -> Points:
    steps = np.concatenate([p.steps for p in parts])
    order = np.argsort(steps, kind="stable")
    return Points(steps[order], np.concatenate([p.values for p in parts])[order])


def _update_rollups(
    session: Any,
    run_pk: int,
    states: dict[int, KeyState],
    kept: dict[int, int],
    touched: dict[int, tuple[Points, list[Interval]]],
) -> None:
    """Patch the roll-ups of keys that have them; build them for keys that just grew past
    ``ROLLUP_MIN_POINTS``; record each key's compacted step range and levels."""
    patches: list[Patch] = []
    to_build: list[int] = []
    updates: dict[int, dict[str, Any]] = {}
    for key_id, (points, dirty) in touched.items():
        state = states[key_id]
        first = (
            int(points.steps[0]) if state.first_step is None else min(state.first_step, int(points.steps[0]))
        )
        last = (
            int(points.steps[-1]) if state.last_step is None else max(state.last_step, int(points.steps[-1]))
        )
        updates[key_id] = {"id": key_id, "first_step": first, "last_step": last}
        if state.fine_level is not None and state.top_level is not None:
            patches.append(Patch(key_id, state.fine_level, state.top_level, points, dirty))
            updates[key_id]["top_level"] = rollup_builder.top_for(state.fine_level, first, last)
        elif kept[key_id] >= ROLLUP_MIN_POINTS:
            to_build.append(key_id)
    rollups.write(session, rollup_builder.patch(session, patches))
    for p in patches:
        if updates[p.key_id]["top_level"] > p.top:
            rollups.write(
                session, rollup_builder.grow(session, p.key_id, p.top, updates[p.key_id]["top_level"])
            )
    if to_build:
        everything = segment_rows(session, run_pk, to_build, fresh=False)
        for key_id in to_build:
            update = updates[key_id]
            fine, top, built = rollup_builder.build(
                key_id, merge_rows(everything[key_id]), update["first_step"], update["last_step"]
            )
            rollups.write(session, built)
            update.update(fine_level=fine, top_level=top)
    chunks.update_keys(session, list(updates.values()))
