"""The data rules read: a run's series over its recent window, plus its config and metadata.
Built by :mod:`.loader` from the store, or directly by tests and the scenario evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Series:
    steps: I64
    values: F64

    @classmethod
    def empty(cls) -> Series:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64))

    @classmethod
    def of(cls, steps: Any, values: Any) -> Series:
        return cls(np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64))

    def __len__(self) -> int:
        return int(self.steps.size)

    def finite(self) -> Series:
        keep = np.isfinite(self.values)
        return Series(self.steps[keep], self.values[keep])

    def where(self, keep: npt.NDArray[np.bool_]) -> Series:
        return Series(self.steps[keep], self.values[keep])

    def since(self, step: int) -> Series:
        return self.where(self.steps >= step)

    def until(self, step: int) -> Series:
        """Points with step <= ``step``."""
        return self.where(self.steps <= step)

    def without(self, steps: I64) -> Series:
        return self.where(~np.isin(self.steps, steps)) if steps.size else self

    @property
    def last_step(self) -> int | None:
        return int(self.steps[-1]) if self.steps.size else None

    def value_at(self, step: int) -> float | None:
        i = np.searchsorted(self.steps, step)
        return float(self.values[i]) if i < self.steps.size and self.steps[i] == step else None


@dataclass
class RunData:
    run_id: str
    status: str = "running"
    config: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)
    """Parameter names in model order."""
    series: dict[str, Series] = field(default_factory=dict)
    now: float | None = None
    """When the data was read (Unix seconds); None for offline evaluation (no liveness rules)."""
    last_contact: float | None = None
    """When the server last heard from any of the run's agents: a batch or a heartbeat."""
    stall_after_s: float = 300.0
    """Least silence of the step counter before ``stalled_run`` (``GRADSIGHT_STALL_AFTER_S``)."""

    def get(self, key: str) -> Series:
        return self.series.get(key) or Series.empty()

    def family(self, prefix: str) -> dict[str, Series]:
        """{name: series} for every key ``prefix + name``, in model order where known."""
        found = {k[len(prefix) :]: s for k, s in self.series.items() if k.startswith(prefix) and len(s)}
        order = {name: i for i, name in enumerate(self.layers)}
        return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))

    @property
    def last_step(self) -> int:
        tops = [s.last_step for s in self.series.values() if len(s)]
        return max((t for t in tops if t is not None), default=0)

    def skipped_steps(self) -> I64:
        """Steps the AMP GradScaler skipped: their inf gradients are expected, not alarms."""
        skipped = self.get("amp/skipped")
        return skipped.steps[skipped.values > 0.5]

    def optimizer(self) -> tuple[str | None, dict[str, Any]]:
        """(class name, first param group's hyper-parameters) from the agent's metadata."""
        optimizers = self.metadata.get("optimizers") or []
        if not optimizers or not isinstance(optimizers, list):
            return None, {}
        first = optimizers[0]
        groups = first.get("groups") or [{}]
        return str(first.get("class")), dict(groups[0])

    def is_adam_like(self) -> bool:
        name, group = self.optimizer()
        return bool(name and ("adam" in name.lower() or "lamb" in name.lower())) or "betas" in group
