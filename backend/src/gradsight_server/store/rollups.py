"""Roll-up repository: per-bucket aggregates at several resolutions, and each key's state.

A row holds one key's non-empty buckets at one level within a block of ``BLOCK`` buckets, one
little-endian array per statistic (``Rollup`` in models.py). Levels go in steps of two
(widths ×4), from a per-key fine level (64 to 4096 steps, chosen so a fine bucket holds about
32 points or more) to the first level whose buckets fit the key's whole span in one block.
A query for N buckets then reads at most ~4N stored buckets, in N/64 + 2 rows per key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from gradsight_server.query.partials import STATISTICS, Partials
from gradsight_server.store.models import MetricKey, Rollup
from gradsight_server.store.upsert import upsert

BLOCK = 256
"""Buckets per row: 256 × 56 bytes ≈ 14 kB, rewritten whole when compaction touches the block."""
LEVEL_STEP = 2
FINE_LEVELS = (6, 8, 10, 12)
"""Candidate fine levels. 4096 (a tile) is the widest, so a fine bucket never spans two chunks."""
MAX_LEVEL = 52
"""Steps are below 2**53: one bucket at this width holds any run."""

_DTYPES = {"first": "<i8", "count": "<i8", "nonfinite": "<i8"}
_ABSENT: dict[str, float | int] = {
    "first": 0,
    "min": np.inf,
    "max": -np.inf,
    "sum": 0.0,
    "last": np.nan,
    "count": 1,
    "nonfinite": 0,
}
"""Fill for statistics a query did not read: neutral for the merge, and an unread count of 1
with no non-finite value keeps min/max sentinels (±Infinity, rendered null) as they are."""


def dtype(name: str) -> str:
    return _DTYPES.get(name, "<f8")


def levels(fine: int, top: int) -> tuple[int, ...]:
    return tuple(range(fine, top + 1, LEVEL_STEP))


@dataclass(frozen=True)
class KeyState:
    id: int
    name: str
    fine_level: int | None
    top_level: int | None
    first_step: int | None
    last_step: int | None
    raw_from: int | None

    @property
    def levels(self) -> tuple[int, ...]:
        if self.fine_level is None or self.top_level is None:
            return ()
        return levels(self.fine_level, self.top_level)


_STATE_COLUMNS = (
    MetricKey.id,
    MetricKey.name,
    MetricKey.fine_level,
    MetricKey.top_level,
    MetricKey.first_step,
    MetricKey.last_step,
    MetricKey.raw_from,
)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _state(row: Any) -> KeyState:
    return KeyState(
        int(row.id),
        str(row.name),
        _int(row.fine_level),
        _int(row.top_level),
        _int(row.first_step),
        _int(row.last_step),
        _int(row.raw_from),
    )


def key_states(session: Session, run_pk: int, names: Sequence[str] | None = None) -> dict[str, KeyState]:
    """The run's keys (all of them, or those named) with what compaction knows of them."""
    query = select(*_STATE_COLUMNS).where(MetricKey.run_pk == run_pk)
    out: dict[str, KeyState] = {}
    if names is None:
        return {s.name: s for s in map(_state, session.execute(query))}
    for at in range(0, len(names), 500):
        chunk = list(names[at : at + 500])
        out.update({s.name: s for s in map(_state, session.execute(query.where(MetricKey.name.in_(chunk))))})
    return out


def states_by_id(session: Session, key_ids: Iterable[int]) -> dict[int, KeyState]:
    ids = sorted(set(key_ids))
    out: dict[int, KeyState] = {}
    for at in range(0, len(ids), 500):
        query = select(*_STATE_COLUMNS).where(MetricKey.id.in_(ids[at : at + 500]))
        out.update({s.id: s for s in map(_state, session.execute(query))})
    return out


def _decode(row: Any, stats: Sequence[str]) -> Partials:
    arrays: dict[str, Any] = {name: np.frombuffer(getattr(row, name), dtype(name)) for name in stats}
    n = arrays["first"].size
    for name in STATISTICS:
        if name not in arrays:
            arrays[name] = np.full(n, _ABSENT[name], dtype(name))
    return Partials(**{name: arrays[name].astype(dtype(name)[1:]) for name in STATISTICS})


def read(
    session: Session,
    key_ids: Iterable[int],
    level: int,
    first_block: int,
    last_block: int,
    stats: Sequence[str] = STATISTICS,
) -> dict[int, Partials]:
    """Stored buckets of these keys at ``level`` in blocks ``first_block..last_block`` (sorted).
    Statistics not in ``stats`` are not read (see ``_ABSENT``); ``first`` always is."""
    stats = ["first", *(s for s in stats if s != "first")]
    ids = sorted(set(key_ids))
    rows: dict[int, list[Partials]] = {key_id: [] for key_id in ids}
    for at in range(0, len(ids), 500):
        query = (
            select(Rollup.key_id, *(getattr(Rollup, name) for name in stats))
            .where(
                Rollup.key_id.in_(ids[at : at + 500]),
                Rollup.level == level,
                Rollup.block >= first_block,
                Rollup.block <= last_block,
            )
            .order_by(Rollup.key_id, Rollup.block)
        )
        for row in session.execute(query):
            rows[int(row.key_id)].append(_decode(row, stats))
    return {key_id: _concat_sorted(parts) for key_id, parts in rows.items()}


def _concat_sorted(parts: list[Partials]) -> Partials:
    if not parts:
        return Partials.empty()
    if len(parts) == 1:
        return parts[0]
    return Partials(*(np.concatenate([getattr(p, name) for p in parts]) for name in STATISTICS))


def write(session: Session, rows: Sequence[tuple[int, int, int, Partials]]) -> None:
    """Replace whole blocks: (key id, level, block, its buckets). A block never empties: compaction
    only rebuilds buckets that hold points, and nothing deletes points but retention, which
    keeps roll-ups."""
    records = []
    for key_id, level, block, partials in rows:
        assert len(partials), "roll-up blocks never empty"
        record: dict[str, Any] = {"key_id": key_id, "level": level, "block": block}
        for name in STATISTICS:
            record[name] = np.ascontiguousarray(getattr(partials, name), dtype(name)).tobytes()
        records.append(record)
    for at in range(0, len(records), 500):
        upsert(session, Rollup, records[at : at + 500], ["key_id", "level", "block"], list(STATISTICS))
