"""Partial aggregates: min/max/sum/count/non-finite count/last over disjoint step ranges.

Raw points, stored roll-up buckets and buckets rebuilt from either are all ``Partials``;
merging partials that lie inside one aligned bucket gives exactly the statistics of that
bucket's points (the mean up to summation order), so a query may mix resolutions freely.
Two rules make the merge exact: partials never overlap in steps, and they are kept sorted
by their first step, so the last of a group is the one holding the bucket's last step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
STATISTICS = ("first", "min", "max", "sum", "last", "count", "nonfinite")


@dataclass(frozen=True)
class Partials:
    first: I64
    """First step present in each range (ranges are sorted by it)."""
    min: F64
    """Over finite values; +Infinity where the range has none."""
    max: F64
    """Over finite values; -Infinity where the range has none."""
    sum: F64
    """Over finite values."""
    last: F64
    """Value at the range's last step, as logged (non-finite included)."""
    count: I64
    nonfinite: I64

    def __len__(self) -> int:
        return int(self.first.size)

    @classmethod
    def empty(cls) -> Partials:
        f, i = np.zeros(0, np.float64), np.zeros(0, np.int64)
        return cls(i, f, f, f, f, i, i)

    @classmethod
    def of_points(cls, steps: I64, values: F64, width: int = 1) -> Partials:
        """Points sorted by unique step → one partial per aligned bucket of ``width`` steps
        (``width`` 1: one per point)."""
        steps = np.asarray(steps, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(values)
        if width == 1:
            return cls(
                steps,
                np.where(finite, values, np.inf),
                np.where(finite, values, -np.inf),
                np.where(finite, values, 0.0),
                values,
                np.ones(steps.size, np.int64),
                (~finite).astype(np.int64),
            )
        return cls.of_points(steps, values).grouped(width)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Partials:
        return Partials(*(getattr(self, name)[index] for name in STATISTICS))

    def grouped(self, width: int) -> Partials:
        """Merge the partials that fall in the same aligned bucket of ``width`` steps. Each
        partial must lie inside one such bucket (its range is aligned and no wider)."""
        if len(self) == 0:
            return self
        ids = self.first // width
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        if starts.size == len(self):
            return self
        ends = np.r_[starts[1:], len(self)] - 1
        return Partials(
            self.first[starts],
            np.minimum.reduceat(self.min, starts),
            np.maximum.reduceat(self.max, starts),
            np.add.reduceat(self.sum, starts),
            self.last[ends],
            np.add.reduceat(self.count, starts),
            np.add.reduceat(self.nonfinite, starts),
        )

    @property
    def total(self) -> int:
        return int(self.count.sum())


def concat(parts: Sequence[Partials]) -> Partials:
    """Disjoint partials from several sources, sorted by first step."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Partials.empty()
    if len(parts) == 1:
        return parts[0]
    merged = Partials(*(np.concatenate([getattr(p, name) for p in parts]) for name in STATISTICS))
    return merged.take(np.argsort(merged.first, kind="stable"))
