"""Closed step records → columnar blocks (docs/wire-format.md).

Runs on the transport thread: this is where deferred device values are finally read.
Keys are grouped by the exact set of steps they were logged at, so each block is a dense
keys × steps matrix (per-layer statistics logged every N steps share one block).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gradsight.capture.record import StepRecord, mean


@dataclass(frozen=True)
class Block:
    keys: tuple[str, ...]
    steps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    counts: npt.NDArray[np.uint32] | None = None

    @property
    def n_points(self) -> int:
        return len(self.keys) * int(self.steps.size)


@dataclass
class Columns:
    blocks: list[Block] = field(default_factory=list)
    wall_steps: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    wall_time: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))

    @property
    def n_points(self) -> int:
        return sum(b.n_points for b in self.blocks)

    @property
    def last_step(self) -> int | None:
        return int(self.wall_steps[-1]) if self.wall_steps.size else None


OnError = Callable[[str, BaseException], None]
Names = Callable[[str, int], Sequence[str]]
"""The names a key is shipped under at a step (distributed/keys.py); empty drops it."""


def _same(key: str, _step: int) -> tuple[str, ...]:
    return (key,)


def build(records: Sequence[StepRecord], on_error: OnError, names: Names = _same) -> Columns:
    """Resolve and group records. A value that fails to resolve is skipped and reported."""
    table: dict[str, dict[int, tuple[float, int]]] = defaultdict(dict)
    wall: dict[int, float] = {}
    for record in records:
        step = record.step
        for key, raw in record.scalars.items():
            resolved: list[float] = []
            for value in raw:
                try:
                    resolved.append(value if isinstance(value, float) else value.resolve())
                except Exception as exc:
                    on_error("resolve", exc)
            if resolved:
                for name in names(key, step):
                    table[name][step] = (mean(resolved), len(resolved))
        for pending in record.pending:
            try:
                for key, value in pending.resolve().items():
                    for name in names(key, step):
                        table[name][step] = (value, 1)
            except Exception as exc:
                on_error("resolve", exc)
        wall[step] = record.wall  # a later record of the same step (a re-log) wins
    return from_table(table, wall)


def from_table(table: Mapping[str, Mapping[int, tuple[float, int]]], wall: Mapping[int, float]) -> Columns:
    """{key: {step: (value, count)}} and {step: wall time} → blocks, one per set of steps."""
    columns = Columns()
    if wall:
        steps = sorted(wall)
        columns.wall_steps = np.array(steps, dtype=np.int64)
        columns.wall_time = np.array([wall[s] for s in steps], dtype=np.float64)
    groups: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for key, by_step in table.items():
        groups[tuple(sorted(by_step))].append(key)
    for steps_key, keys in groups.items():
        keys.sort()
        values = np.array([[table[k][s][0] for s in steps_key] for k in keys], dtype=np.float64)
        counts = np.array([[table[k][s][1] for s in steps_key] for k in keys], dtype=np.uint32)
        columns.blocks.append(
            Block(
                keys=tuple(keys),
                steps=np.array(steps_key, dtype=np.int64),
                values=values,
                counts=counts if (counts != 1).any() else None,
            )
        )
    return columns
