"""Gradient norms: one ``torch._foreach_norm`` per (device, dtype) group, stacked into one vector.

This is the arithmetic of ``torch.nn.utils.get_total_norm`` (norms per tensor, then the
2-norm of their stack) but it keeps the per-parameter norms, computed in float32 so bf16 and
fp16 gradients do not lose precision in the sum of squares. No ``.item()``: the vector goes
to :class:`~gradsight.capture.deferred.Deferred` and is read a step later.

Non-finite gradients. A parameter's gradient norm is finite exactly when none of its
elements is NaN or ±Inf (short of a float32 overflow of the sum of squares, i.e. elements
above ~1e19), so the norm vector already says *which* parameters are non-finite, for free.
The element *count* costs an extra pass over the gradient, so it is only taken for the
parameters whose norm is non-finite: on the CPU, where reading the norms is not a device
sync, in the same hook; on an accelerator, whose norms reach the host a step later, from
the step after a non-finite gradient was first seen (``CountArm``) until gradients are
finite again.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import torch

from gradsight.capture.deferred import Deferred


def grad_norms(params: Sequence[torch.nn.Parameter]) -> tuple[list[int], torch.Tensor] | None:
    """(indices into ``params`` that had a dense gradient, their gradient norms as one float32
    vector on the first gradient's device), or None when no parameter has a gradient."""
    groups: dict[tuple[torch.device, torch.dtype], list[int]] = defaultdict(list)
    for i, p in enumerate(params):
        g = p.grad
        if g is not None and not g.is_sparse:
            groups[(g.device, g.dtype)].append(i)
    if not groups:
        return None
    order: list[int] = []
    parts: list[torch.Tensor] = []
    target: torch.device | None = None
    for (device, _dtype), idx in groups.items():
        target = target or device
        grads = [params[i].grad for i in idx]
        norms = torch._foreach_norm(grads, 2, dtype=torch.float32)  # type: ignore[arg-type]
        parts.append(torch.stack(norms).to(target, non_blocking=True))
        order.extend(idx)
    return order, torch.cat(parts) if len(parts) > 1 else parts[0]


def nonfinite_counts(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """Number of NaN/±Inf elements of each gradient (one extra pass over each)."""
    return torch.stack([torch.isfinite(g).logical_not().sum() for g in grads])


class CountArm:
    """Whether accelerator steps should count non-finite elements: set by the transport thread
    when it reads a non-finite norm, cleared after ``quiet_steps`` finite steps."""

    def __init__(self, quiet_steps: int = 100) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._quiet = quiet_steps

    @property
    def armed(self) -> bool:
        return self._remaining > 0  # a racy read is fine: at worst one step late

    def saw(self, any_nonfinite: bool) -> None:
        with self._lock:
            if any_nonfinite:
                self._remaining = self._quiet
            elif self._remaining:
                self._remaining -= 1


class GradNorms:
    """Per-parameter gradient norms of one step, from one or more optimizers' pre-hooks or a
    ``clip_grad_norm_`` call (then ``clip`` holds the norm torch returned and ``max_norm``)."""

    def __init__(
        self,
        step: int,
        emit_per_param: bool,
        include: set[str] | None,
        arm: CountArm,
        model_order: dict[str, int],
        on_nonfinite: Callable[[int, str, int], None],
    ) -> None:
        self.parts: list[tuple[list[str], Deferred]] = []
        self.counts: list[tuple[list[str], Deferred | npt.NDArray[np.float64]]] = []
        self.covered: set[int] = set()  # id() of parameters already measured this step
        self.clip: tuple[Deferred, float] | None = None  # (total norm before clipping, max_norm)
        self.total: float | None = None
        """The global norm, once resolved (the gradient noise scale reads it)."""
        self._step = step
        self._emit = emit_per_param
        self._include = include
        self._arm = arm
        self._order = model_order
        self._on_nonfinite = on_nonfinite

    def add(self, names: list[str], params: Sequence[torch.nn.Parameter], norms: torch.Tensor) -> None:
        self.covered.update(id(p) for p in params)
        self.parts.append((names, Deferred(norms)))
        grads = [p.grad for p in params if p.grad is not None]
        if norms.device.type == "cpu":
            host = norms.numpy()
            bad = np.flatnonzero(~np.isfinite(host)).tolist()
            if bad:
                counts = nonfinite_counts([grads[i] for i in bad]).numpy()
                self.counts.append(([names[i] for i in bad], counts.astype(np.float64)))
        elif self._arm.armed:
            self.counts.append((names, Deferred(nonfinite_counts(grads))))

    def resolve(self) -> dict[str, float]:
        names = [n for part_names, _ in self.parts for n in part_names]
        vectors = [deferred.resolve_vector() for _, deferred in self.parts]
        norms = np.concatenate(vectors) if vectors else np.zeros(0)
        finite = np.isfinite(norms)
        self._arm.saw(not finite.all())
        if not finite.all():
            bad = [names[i] for i in np.flatnonzero(~finite).tolist()]
            # First in backward order = last in model order: a NaN born in the backward pass
            # at layer k reaches every layer before k, never the ones after it.
            first = max(bad, key=lambda n: self._order.get(n, -1))
            self._on_nonfinite(self._step, first, len(bad))
        out: dict[str, float] = {}
        if self.clip is not None:
            total = self.clip[0].resolve()
            coef = min(1.0, self.clip[1] / (total + 1e-6))  # torch's clip coefficient
            out["grad_norm"] = total
            out["grad_norm/post_clip"] = total * coef if np.isfinite(total) else total
            out["clip/applied"] = 1.0 if coef < 1.0 else 0.0
        elif norms.size:
            # The global norm is the 2-norm of the per-parameter norms (get_total_norm's rule).
            out["grad_norm"] = float(np.sqrt(np.sum(np.square(norms))))
        if self._emit:
            for name, value in zip(names, norms.tolist(), strict=True):
                if self._include is None or name in self._include:
                    out[f"grad_norm/{name}"] = value
        self.total = out.get("grad_norm")
        for count_names, counts in self.counts:
            values = counts.resolve_vector() if isinstance(counts, Deferred) else counts
            for name, value in zip(count_names, values.tolist(), strict=True):
                if value and (self._include is None or name in self._include):
                    out[f"nonfinite/{name}"] = value
        return out
