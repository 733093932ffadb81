"""Series, comparison and heatmap queries: the contract's response shapes (ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from gradsight_server.errors import BadQuery, RunNotFound
from gradsight_server.query import reader
from gradsight_server.query.buckets import Buckets
from gradsight_server.query.layers import model_order
from gradsight_server.query.partials import Partials
from gradsight_server.query.render import json_floats, series_entry
from gradsight_server.store import rollups
from gradsight_server.store.engine import Database
from gradsight_server.store.models import Run
from gradsight_server.store.runs import get

AGGREGATES: dict[str, tuple[str, ...]] = {
    "min": ("min",),
    "max": ("max",),
    "mean": ("sum", "count", "nonfinite"),
    "last": ("last",),
}
"""What each heatmap aggregate reads from the roll-ups (one or three of the seven arrays)."""
MAX_CELLS = 1_000_000
"""Layers × buckets in one heatmap (~10 MB of JSON)."""
_EMPTY = Buckets.of(Partials.empty(), raw=True)


def _run(session: Session, run_id: str) -> Run:
    run = get(session, run_id)
    if run is None:
        raise RunNotFound(run_id)
    return run


def read_series(
    db: Database, run_id: str, keys: Sequence[str], start: int | None, end: int | None, points: int
) -> dict[str, Any]:
    """At most ``points`` buckets per key. Keys the run does not have come back empty, so a
    dashboard can ask for a key before the first point of a live run arrives."""
    with db.session() as session:
        run = _run(session, run_id)
        states = rollups.key_states(session, run.pk, keys)
        views = reader.views(session, run.pk, list(states.values()))
        found = reader.read(session, run.pk, views, start, end, points)
        series = [series_entry(k, found[states[k].id] if k in states else _EMPTY) for k in keys]
    return {"run_id": run_id, "series": series}


def read_compare(
    db: Database,
    run_ids: Sequence[str],
    keys: Sequence[str],
    start: int | None,
    end: int | None,
    points: int,
    projects: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The same keys across runs. Each key gets one bucket width for every run (from the
    steps all the runs span), so the runs' buckets line up step for step. ``projects``: the
    caller's readable projects (None: all); a run outside them is "not found", like a missing
    one, so its existence is not revealed."""
    with db.session() as session:
        found_runs = [_run(session, run_id) for run_id in run_ids]
        for run in found_runs:
            if projects is not None and run.project not in projects:
                raise RunNotFound(run.id)
        states = [rollups.key_states(session, run.pk, keys) for run in found_runs]
        views = [
            reader.views(session, run.pk, list(s.values())) for run, s in zip(found_runs, states, strict=True)
        ]
        widths: dict[str, int] = {}
        for key in keys:
            found_spans = [
                v[s[key].id].span(start, end) for s, v in zip(states, views, strict=True) if key in s
            ]
            spans = [sp for sp in found_spans if sp is not None]
            if spans:
                widths[key] = reader.width_for((min(a for a, _ in spans), max(b for _, b in spans)), points)
        out = []
        for run, s, v in zip(found_runs, states, views, strict=True):
            by_id = {s[k].id: widths[k] for k in keys if k in s and k in widths}
            found = reader.read(session, run.pk, {i: v[i] for i in by_id}, start, end, points, by_id)
            series = [
                series_entry(k, found[s[k].id] if k in s and s[k].id in found else _EMPTY) for k in keys
            ]
            out.append({"run_id": run.id, "series": series})
    return {"runs": out}


def read_matrix(
    db: Database, run_id: str, family: str, start: int | None, end: int | None, points: int, agg: str
) -> dict[str, Any]:
    """A family's layers (in model order) × shared step buckets of one aggregate."""
    with db.session() as session:
        run = _run(session, run_id)
        states = {
            name[len(family) :]: state
            for name, state in rollups.key_states(session, run.pk).items()
            if name.startswith(family) and len(name) > len(family)
        }
        layers = model_order(states, list(run.layers or []))
        if len(layers) * points > MAX_CELLS:
            raise BadQuery(
                "points",
                f"{len(layers)} layers × {points} points exceeds {MAX_CELLS} cells; ask for fewer points",
            )
        views = reader.views(session, run.pk, list(states.values()))
        spans = [sp for sp in (v.span(start, end) for v in views.values()) if sp is not None]
        if not spans:
            return {"family": family, "layers": layers, "step": [], "values": [[] for _ in layers]}
        width = reader.width_for((min(a for a, _ in spans), max(b for _, b in spans)), points)
        found = reader.read(
            session, run.pk, views, start, end, points, dict.fromkeys(views, width), AGGREGATES[agg], False
        )
    columns = [found[states[layer].id] for layer in layers]
    buckets = np.unique(np.concatenate([b.step // width for b in columns]))
    step = np.full(buckets.size, np.iinfo(np.int64).max, dtype=np.int64)
    values = []
    for b in columns:
        at = np.searchsorted(buckets, b.step // width)
        np.minimum.at(step, at, b.step)
        row = np.full(buckets.size, np.nan)
        row[at] = _aggregate(b, agg)
        rendered = json_floats(row, finite_only=agg != "last")
        present = np.zeros(buckets.size, dtype=bool)
        present[at] = True
        for i in np.flatnonzero(~present).tolist():
            rendered[i] = None
        values.append(rendered)
    return {"family": family, "layers": layers, "step": step.tolist(), "values": values}


def _aggregate(b: Buckets, agg: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    if agg == "min":
        return b.min
    if agg == "max":
        return b.max
    if agg == "mean":
        return b.mean
    return b.last
