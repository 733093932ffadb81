"""The decoded form of a batch (docs/wire-format.md): numpy arrays, never a Python object per point."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

WIRE_VERSION = 1
MSGPACK_TYPE = "application/vnd.gradsight.batch.v1+msgpack"
JSON_TYPE = "application/json"

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]
UInt32Array = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class Block:
    keys: tuple[str, ...]
    steps: Int64Array
    """Strictly increasing, shape (n,)."""
    values: Float64Array
    """Shape (len(keys), n), key-major."""
    counts: UInt32Array | None = None

    @property
    def n_points(self) -> int:
        return len(self.keys) * int(self.steps.shape[0])


@dataclass(frozen=True)
class Batch:
    run_id: str
    batch_id: str
    blocks: tuple[Block, ...] = ()
    final: bool = False
    layers: tuple[str, ...] | None = None
    wall_steps: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    wall_time: Float64Array = field(default_factory=lambda: np.zeros(0, np.float64))

    @property
    def n_points(self) -> int:
        return sum(block.n_points for block in self.blocks)

    @property
    def is_heartbeat(self) -> bool:
        return not self.blocks and self.wall_steps.size == 0 and not self.final and self.layers is None

    @property
    def max_step(self) -> int | None:
        tops = [int(b.steps[-1]) for b in self.blocks] + (
            [int(self.wall_steps.max())] if self.wall_steps.size else []
        )
        return max(tops) if tops else None
