"""Series for store and query tests: written through the store's own write path as batches
would be (one segment per key per batch, in arrival order), the truth they should read back
as, and a brute-force bucketing written independently of the server's numpy code."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gradsight_server.store import migrate, runs, series
from gradsight_server.store.engine import Database
from gradsight_server.store.pgcopy import SegmentBlock
from tests.support.databases import fresh_database


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[Database]:
    """A migrated, empty database of this kind ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'store.db'}"
        migrate.upgrade(url)
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()
        return
    with fresh_database() as url:
        migrate.upgrade(url)
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


@dataclass
class Writer:
    """Writes batches of one run and remembers what a reader must see (later batches win)."""

    db: Database
    run_id: str
    run_pk: int = 0
    seq: int = 0
    truth: dict[str, dict[int, float]] = field(default_factory=dict)

    @classmethod
    def new(cls, db: Database, run_id: str, layers: list[str] | None = None) -> Writer:
        with db.write_session() as session:
            run, _ = runs.create_or_resume(session, run_id, "p", run_id, {}, {})
            if layers is not None:
                run.layers = layers
            session.flush()
            return cls(db, run_id, run.pk)

    def batch(self, steps: Any, values: dict[str, Any]) -> None:
        """One batch: every key over the same strictly increasing steps."""
        self.seq += 1
        steps = np.asarray(steps, dtype=np.int64)
        with self.db.write_session() as session:
            ids = series.ensure_keys(session, self.run_pk, values)
            names = list(values)
            block = SegmentBlock(
                np.array([ids[n] for n in names], dtype=np.int64),
                steps,
                np.vstack([np.asarray(values[n], dtype=np.float64) for n in names]),
            )
            series.write_segments(session, self.run_pk, self.seq, [block])
        for name in names:
            self.truth.setdefault(name, {}).update(
                zip(steps.tolist(), np.asarray(values[name]).tolist(), strict=True)
            )

    def points(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        found = self.truth.get(key, {})
        steps = np.array(sorted(found), dtype=np.int64)
        return steps, np.array([found[s] for s in steps.tolist()], dtype=np.float64)


def as_json(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def expected_series(
    steps: np.ndarray, values: np.ndarray, start: int | None, end: int | None, points: int
) -> dict[str, Any]:
    """The contract's series entry by brute force, in plain Python. Bucket width: the smallest
    power of two that fits the key's steps within [start, end) in ``points`` aligned buckets."""
    empty: dict[str, Any] = {"raw": True, "step": [], "min": [], "max": [], "mean": [], "last": []}
    empty |= {"count": [], "nonfinite": []}
    if not steps.size:
        return empty
    lo = int(steps[0]) if start is None else max(start, int(steps[0]))
    hi = int(steps[-1]) + 1 if end is None else min(end, int(steps[-1]) + 1)
    inside = [(int(s), float(v)) for s, v in zip(steps, values, strict=True) if lo <= s < hi]
    if not inside:
        return empty
    if len(inside) <= points:
        groups = [[p] for p in inside]
        raw = True
    else:
        width = 1
        while (hi - 1) // width - lo // width + 1 > points:
            width *= 2
        by_bucket: dict[int, list[tuple[int, float]]] = {}
        for s, v in inside:
            by_bucket.setdefault(s // width, []).append((s, v))
        groups = [by_bucket[b] for b in sorted(by_bucket)]
        raw = False
    out: dict[str, Any] = {"raw": raw, **{k: [] for k in empty if k != "raw"}}
    for group in groups:
        finite = [v for _, v in group if math.isfinite(v)]
        out["step"].append(group[0][0])
        out["min"].append(min(finite) if finite else None)
        out["max"].append(max(finite) if finite else None)
        out["mean"].append(math.fsum(finite) / len(finite) if finite else None)
        out["last"].append(as_json(group[-1][1]))
        out["count"].append(len(group))
        out["nonfinite"].append(len(group) - len(finite))
    return out


def assert_same_series(got: dict[str, Any], want: dict[str, Any], context: Any = None) -> None:
    """Equal, except means compared to 1e-9 relative (summation order differs)."""
    for name in ("raw", "step", "min", "max", "last", "count", "nonfinite"):
        assert got[name] == want[name], (name, context)
    assert len(got["mean"]) == len(want["mean"]), context
    for g, w in zip(got["mean"], want["mean"], strict=True):
        if w is None or g is None:
            assert g == w, context
        else:
            assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-6), (g, w, context)
