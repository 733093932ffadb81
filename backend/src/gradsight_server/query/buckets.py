"""Spike-preserving downsampling: points → at most N buckets of min/max/mean/last/count.

Bucket widths are powers of two aligned to multiples of the width (bucket = step // width),
so the same step always lands in the same bucket whatever range is asked for: zooming
never moves a spike between buckets, and pre-computed roll-ups at power-of-two widths can
answer the same query later without changing the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Buckets:
    raw: bool
    step: I64
    """First step present in each bucket."""
    min: F64
    """Over finite values; NaN where the bucket has none (serialised as null)."""
    max: F64
    mean: F64
    last: F64
    """Last value as logged, non-finite included."""
    count: I64
    nonfinite: I64

    def __len__(self) -> int:
        return int(self.step.size)


def bucket_width(first: int, last: int, points: int) -> int:
    """Smallest power of two w such that the aligned buckets covering [first, last] are ≤ points."""
    width = 1
    while last // width - first // width + 1 > points:
        width *= 2
    return width


def bucketize(steps: I64, values: F64, points: int) -> Buckets:
    """Downsample points sorted by unique step to at most ``points`` buckets."""
    if points < 1:
        raise ValueError("points must be >= 1")
    finite = np.isfinite(values)
    if steps.size <= points:
        shown = np.where(finite, values, np.nan)
        return Buckets(
            raw=True,
            step=steps.astype(np.int64),
            min=shown,
            max=shown.copy(),
            mean=shown.copy(),
            last=values.astype(np.float64),
            count=np.ones(steps.size, np.int64),
            nonfinite=(~finite).astype(np.int64),
        )
    width = bucket_width(int(steps[0]), int(steps[-1]), points)
    ids = steps // width
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], steps.size] - 1
    count = np.diff(np.r_[starts, steps.size]).astype(np.int64)
    nonfinite = np.add.reduceat((~finite).astype(np.int64), starts)
    n_finite = count - nonfinite
    lo = np.minimum.reduceat(np.where(finite, values, np.inf), starts)
    hi = np.maximum.reduceat(np.where(finite, values, -np.inf), starts)
    total = np.add.reduceat(np.where(finite, values, 0.0), starts)
    empty = n_finite == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n_finite
    lo[empty] = np.nan
    hi[empty] = np.nan
    mean[empty] = np.nan
    return Buckets(
        raw=False,
        step=steps[starts].astype(np.int64),
        min=lo,
        max=hi,
        mean=mean,
        last=values[ends].astype(np.float64),
        count=count,
        nonfinite=nonfinite.astype(np.int64),
    )
