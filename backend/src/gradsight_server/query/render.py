"""JSON rendering of buckets. JSON has no NaN: min/max/mean without a finite value are null
(no value), while non-finite values as logged are evidence and become the strings "NaN",
"Infinity" and "-Infinity" (ARCHITECTURE.md, series)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradsight_server.query.buckets import Buckets
from gradsight_server.query.partials import F64

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
