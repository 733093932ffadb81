"""Gradient norms: one ``torch._foreach_norm`` per (device, dtype) group, stacked into one vector.

This is the same arithmetic as ``torch.nn.utils.get_total_norm`` (norms per tensor, then the
2-norm of their stack) but keeps the per-parameter norms, computed in float32 so bf16/fp16
gradients do not lose precision in the sum of squares. No ``.item()``: the vector is
handed to :class:`~gradsight.capture.deferred.Deferred` and read a step later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import torch


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
