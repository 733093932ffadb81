"""Parameter norms and update/weight ratios ‖θ_after − θ_before‖ / ‖θ_before‖, computed exactly.

Exactness needs θ_before, i.e. a snapshot taken in the optimizer pre-hook, every
``update_every`` steps. The snapshot is bounded by ``budget_bytes``: when the parameters
are larger, each update step snapshots the next slice of parameters in model order
(rotating), so every parameter still gets an exact ratio, less often. The global
``update_ratio`` is over the parameters snapshotted at that step (all of them whenever the
model fits the budget).

Cost: on the CPU the snapshot is a clone (≤ budget, freed after the step) plus two
``_foreach_norm`` passes; the difference is taken in place in the snapshot. On CUDA the
snapshot and the updated values go, non-blocking, to pinned host buffers (2 × budget of
host memory, no GPU memory), and the norms are computed on the transport thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gradsight.capture.deferred import Deferred

DEFAULT_BUDGET_BYTES = 48 * 1024 * 1024  # CUDA keeps two copies in pinned host memory: ≤ 96 MB


@dataclass
class _Snapshot:
    names: list[str]
    params: list[torch.Tensor]
    before_norms: Deferred | None  # CPU path
    before: list[torch.Tensor]  # CPU: clones; CUDA: pinned host copies
    event: Any  # CUDA: recorded after the copies; None on the CPU


@dataclass
class _Part:
    param_names: list[str]
    param_norms: Deferred
    delta_names: list[str]
    before_norms: Deferred | None = None  # CPU path
    delta_norms: Deferred | None = None
    host_pairs: tuple[list[torch.Tensor], list[torch.Tensor], Any] | None = None  # CUDA path

    def norms(self) -> tuple[np.ndarray, np.ndarray]:
        """(‖θ_before‖, ‖Δθ‖) of the snapshotted parameters."""
        if self.host_pairs is not None:
            before, after, event = self.host_pairs
            event.synchronize()
            b = [float(torch.linalg.vector_norm(x.float())) for x in before]
            d = [
                float(torch.linalg.vector_norm(y.float() - x.float()))
                for x, y in zip(before, after, strict=True)
            ]
            return np.array(b), np.array(d)
        if self.before_norms is not None and self.delta_norms is not None:
            return self.before_norms.resolve_vector(), self.delta_norms.resolve_vector()
        return np.zeros(0), np.zeros(0)


class UpdateStep:
    """One update step's parameter norms and update ratios, from every watched optimizer."""

    def __init__(self) -> None:
        self.parts: list[_Part] = []

    def resolve(self) -> dict[str, float]:
        out: dict[str, float] = {}
        befores, deltas = [], []
        for part in self.parts:
            norms = part.param_norms.resolve_vector().tolist()
            out.update({f"param_norm/{n}": v for n, v in zip(part.param_names, norms, strict=True)})
            b, d = part.norms()
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = (d / b).tolist()
            out.update({f"update_ratio/{n}": r for n, r in zip(part.delta_names, ratios, strict=True)})
            befores.append(b)
            deltas.append(d)
        b_all, d_all = np.concatenate(befores or [np.zeros(0)]), np.concatenate(deltas or [np.zeros(0)])
        if b_all.size:
            with np.errstate(divide="ignore", invalid="ignore"):
                out["update_ratio"] = float(np.sqrt(np.sum(d_all * d_all)) / np.sqrt(np.sum(b_all * b_all)))
        return out


class UpdateTracker:
    def __init__(
        self,
        named: Sequence[tuple[str, torch.nn.Parameter]],
        include: set[str] | None,
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
    ) -> None:
        self._named = [(n, p) for n, p in named if include is None or n in include]
        self._budget = budget_bytes
        self._cursor = 0

    def _next_slice(self) -> list[tuple[str, torch.nn.Parameter]]:
        chosen: list[tuple[str, torch.nn.Parameter]] = []
        used = 0
        for _ in range(len(self._named)):
            name, p = self._named[self._cursor]
            size = p.numel() * p.element_size()
            if chosen and used + size > self._budget:
                break
            chosen.append((name, p))
            used += size
            self._cursor = (self._cursor + 1) % len(self._named)
            if used >= self._budget:
                break
        return chosen

    def before_step(self) -> _Snapshot | None:
        """Optimizer pre-hook on an update step: snapshot the next slice of parameters."""
        chosen = [(n, p) for n, p in self._next_slice() if p.grad is not None]
        if not chosen:
            return None
        names = [n for n, _ in chosen]
        params = [p.detach() for _, p in chosen]
        if params[0].device.type == "cuda":
            before = [torch.empty(p.shape, dtype=p.dtype, pin_memory=True) for p in params]
            for host, p in zip(before, params, strict=True):
                host.copy_(p, non_blocking=True)
            event = torch.cuda.Event()  # type: ignore[no-untyped-call]
            event.record()
            return _Snapshot(names, params, None, before, event)
        norms = torch.stack(torch._foreach_norm(params, 2, dtype=torch.float32))
        return _Snapshot(names, params, Deferred(norms), [p.clone() for p in params], None)

    def after_step(self, snapshot: _Snapshot | None) -> _Part | None:
        """Optimizer post-hook on an update step: parameter norms of every tracked parameter,
        and the update norms of the snapshotted slice."""
        if not self._named:
            return None
        all_params = [p.detach() for _, p in self._named]
        norms = Deferred(torch.stack(torch._foreach_norm(all_params, 2, dtype=torch.float32)))
        names = [n for n, _ in self._named]
        if snapshot is None:
            return _Part(names, norms, [])
        if snapshot.event is not None:  # CUDA: copy the updated values next to the snapshot
            after = [torch.empty(p.shape, dtype=p.dtype, pin_memory=True) for p in snapshot.params]
            for host, p in zip(after, snapshot.params, strict=True):
                host.copy_(p, non_blocking=True)
            event = torch.cuda.Event()  # type: ignore[no-untyped-call]
            event.record()
            return _Part(names, norms, snapshot.names, host_pairs=(snapshot.before, after, event))
        torch._foreach_sub_(snapshot.before, snapshot.params)  # in place: the snapshot becomes −Δθ
        delta = torch.stack(torch._foreach_norm(snapshot.before, 2, dtype=torch.float32))
        return _Part(names, norms, snapshot.names, snapshot.before_norms, Deferred(delta))
