"""Drive the agent's real capture hooks on a real model without a server: the recorder the
hooks fill is drained and turned into columns exactly as the transport thread does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from gradsight.capture.record import Recorder
from gradsight.capture.watch import Watcher, WatchOptions
from gradsight.errors import ErrorLog
from gradsight.transport.columns import build

Table = dict[str, dict[int, float]]


class Captured:
    def __init__(
        self,
        model: torch.nn.Module,
        optimizers: torch.optim.Optimizer | Sequence[torch.optim.Optimizer],
        **options: Any,
    ) -> None:
        self.recorder = Recorder()
        self.errors = ErrorLog()
        opts = [optimizers] if isinstance(optimizers, torch.optim.Optimizer) else list(optimizers)
        self.watcher = Watcher(self.recorder, self.errors, model, opts, WatchOptions(**options))
        self.table: Table = {}

    def collect(self) -> Table:
        """Drain everything captured so far (closing the open step) into {key: {step: value}}."""
        records = self.recorder.drain(close_open=True)
        columns = build(records, self.errors.report)
        for block in columns.blocks:
            for k, key in enumerate(block.keys):
                for j, step in enumerate(block.steps.tolist()):
                    self.table.setdefault(key, {})[step] = float(block.values[k, j])
        return self.table

    def close(self) -> Table:
        table = self.collect()
        self.watcher.remove()
        assert self.errors.count == 0, "a capture hook failed (see the gradsight warning)"
        return table

    def keys(self, prefix: str) -> set[str]:
        return {k.removeprefix(prefix) for k in self.table if k.startswith(prefix)}
