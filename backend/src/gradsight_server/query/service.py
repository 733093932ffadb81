"""Series queries: read a key's points in a step range and downsample them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradsight_server.errors import RunNotFound
from gradsight_server.query.buckets import F64, Buckets, bucketize
from gradsight_server.store import series
from gradsight_server.store.engine import Database
from gradsight_server.store.runs import get

_NAMES = {True: "Infinity", False: "-Infinity"}


def json_floats(values: F64, finite_only: bool) -> list[Any]:
    """Floats for JSON. ``finite_only``: non-finite entries mean "no value" → null.
    Otherwise they are evidence → the strings "NaN", "Infinity", "-Infinity"."""
    out: list[Any] = values.tolist()
    bad = np.flatnonzero(~np.isfinite(values))
    for i in bad.tolist():
        v = out[i]
        out[i] = None if finite_only else ("NaN" if math.isnan(v) else _NAMES[v > 0])
    return out


def series_entry(key: str, buckets: Buckets) -> dict[str, Any]:
    return {
        "key": key,
        "raw": buckets.raw,
        "step": buckets.step.tolist(),
        "min": json_floats(buckets.min, finite_only=True),
        "max": json_floats(buckets.max, finite_only=True),
        "mean": json_floats(buckets.mean, finite_only=True),
        "last": json_floats(buckets.last, finite_only=False),
        "count": buckets.count.tolist(),
        "nonfinite": buckets.nonfinite.tolist(),
    }


def read_series(
    db: Database,
    run_id: str,
    keys: Sequence[str],
    start: int | None,
    end: int | None,
    points: int,
) -> dict[str, Any]:
    """The contract's series response. Keys the run does not have come back empty, so a
    dashboard can ask for a key before the first point of a live run arrives."""
    with db.session() as session:
        run = get(session, run_id)
        if run is None:
            raise RunNotFound(run_id)
        ids = series.key_ids(session, run.pk, list(keys))
        out = []
        for key in keys:
            if key in ids:
                pts = series.read_points(session, run.pk, ids[key], start, end)
            else:
                pts = series.Points.empty()
            out.append(series_entry(key, bucketize(pts.steps, pts.values, points)))
    return {"run_id": run_id, "series": out}
