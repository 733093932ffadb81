"""Spike-preserving downsampling: points → at most N buckets of min/max/mean/last/count.

Bucket widths are powers of two aligned to multiples of the width (bucket = step // width),
so the same step always lands in the same bucket whatever range is asked for: zooming
never moves a spike between buckets, and pre-computed roll-ups at power-of-two widths
answer the same query with the same result (docs/adr/0003-rollups-and-compaction.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradsight_server.query.partials import F64, I64, Partials


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

    @classmethod
    def of(cls, partials: Partials, raw: bool = False) -> Buckets:
        """Finished buckets from merged partials: "no finite value" becomes NaN (null in JSON)."""
        finite = partials.count - partials.nonfinite
        empty = finite == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = partials.sum / finite
        return cls(
            raw=raw,
            step=partials.first,
            min=np.where(empty, np.nan, partials.min),
            max=np.where(empty, np.nan, partials.max),
            mean=np.where(empty, np.nan, mean),
            last=partials.last,
            count=partials.count,
            nonfinite=partials.nonfinite,
        )


def bucket_width(first: int, last: int, points: int) -> int:
    """Smallest power of two w such that the aligned buckets covering [first, last] are ≤ points."""
    width = 1
    while last // width - first // width + 1 > points:
        width *= 2
    return width


def bucketize(steps: I64, values: F64, points: int, width: int | None = None) -> Buckets:
    """Downsample points sorted by unique step to at most ``points`` buckets: each point its
    own bucket when they fit, otherwise aligned buckets of ``width`` (default: the smallest
    power of two that fits the points' own span)."""
    if points < 1:
        raise ValueError("points must be >= 1")
    if steps.size <= points:
        return Buckets.of(Partials.of_points(steps, values), raw=True)
    if width is None:
        width = bucket_width(int(steps[0]), int(steps[-1]), points)
    return Buckets.of(Partials.of_points(steps, values, width))
