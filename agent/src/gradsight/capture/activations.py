"""Activation health (``watch(..., activations=True)``): forward hooks on activation modules.

Statistics are taken on sampled steps only (every ``update_every`` steps, all of that step's
training forwards: the "window"); on other steps a hook costs one Python flag test.

- ``act/dead_frac/<m>`` (ReLU, ReLU6): fraction of units inactive (output ≤ 0) on every
  sample of the window. A unit is a feature: the last dimension of (N, …, C) outputs, the
  channel dimension of (N, C, H, W) convolution outputs. SageMaker Debugger's DeadRelu rule
  calls a unit dead when active < 1 % of the time and a layer unhealthy past 50 % dead;
  "inactive on every sample" is the strict form of that.
- ``act/saturated_frac/<m>`` (Tanh, Sigmoid, Hardtanh, Hardsigmoid): fraction of outputs
  where the local derivative is below 2 % of its maximum (|tanh| > 0.99, sigmoid outside
  [0.01, 0.99]): there gradients nearly vanish.
- ``act/max_abs/<m>``: largest |output|.
- ``act/kurtosis/<m>``: excess kurtosis of the outputs, E[(x−μ)⁴]/σ⁴ − 3 (0 for a Gaussian);
  training creates heavy-tailed activation outliers (Outlier-Safe Pre-Training, seed digest:
  excess kurtosis 1818 under Adam vs 0.04), which break low-bit quantisation.

Only ``nn.Module`` activations can be hooked; functional calls (``F.relu`` inside a
``forward``) are invisible. Cost on sampled steps: a few reductions over each activation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from gradsight.capture.deferred import Deferred

DEAD_KINDS = (nn.ReLU, nn.ReLU6)
SATURATING: dict[type[nn.Module], Callable[[torch.Tensor], torch.Tensor]] = {
    nn.Tanh: lambda y: y.abs() > 0.99,
    nn.Hardtanh: lambda y: y.abs() >= 1.0,
    nn.Sigmoid: lambda y: (y < 0.01) | (y > 0.99),
    nn.Hardsigmoid: lambda y: (y <= 0.0) | (y >= 1.0),
}
HOOKED: tuple[type[nn.Module], ...] = (
    *DEAD_KINDS,
    *SATURATING,
    nn.GELU,
    nn.SiLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.Mish,
    nn.Softplus,
)


def _unit_dim(y: torch.Tensor) -> int:
    return 1 if y.dim() == 4 else y.dim() - 1


class _ModuleStats:
    """What one module saw during the current window (device tensors, no syncs)."""

    def __init__(self) -> None:
        self.active: torch.Tensor | None = None
        self.saturated: list[torch.Tensor] = []
        self.max_abs: list[torch.Tensor] = []
        self.moments: list[torch.Tensor] = []  # per forward: [n, Σx, Σx², Σx³, Σx⁴] in float64


class ActivationsPending:
    def __init__(self, names: list[str], deferred: dict[str, dict[str, Deferred]]) -> None:
        self._names, self._deferred = names, deferred

    def resolve(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name in self._names:
            parts = self._deferred.get(name, {})
            if "dead" in parts:
                out[f"act/dead_frac/{name}"] = parts["dead"].resolve()
            if "saturated" in parts:
                out[f"act/saturated_frac/{name}"] = parts["saturated"].resolve()
            if "max_abs" in parts:
                out[f"act/max_abs/{name}"] = parts["max_abs"].resolve()
            if "moments" in parts:
                n, s1, s2, s3, s4 = parts["moments"].resolve_vector().tolist()
                mean = s1 / n
                var = s2 / n - mean**2
                m4 = s4 / n - 4 * mean * s3 / n + 6 * mean**2 * s2 / n - 3 * mean**4
                out[f"act/kurtosis/{name}"] = m4 / (var * var) - 3.0 if var > 0 else float("nan")
        return out


class ActivationMonitor:
    def __init__(self, model: nn.Module, include: Callable[[str], bool]) -> None:
        self.sampling = False
        self._stats: dict[str, _ModuleStats] = {}
        self._kinds: dict[str, nn.Module] = {}
        self._handles: list[Any] = []
        for name, module in model.named_modules():
            if isinstance(module, HOOKED) and include(name):
                self._kinds[name] = module
                self._handles.append(module.register_forward_hook(self._hook(name)))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, name: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(module: nn.Module, _inputs: Any, output: Any) -> None:
            if not self.sampling or not isinstance(output, torch.Tensor) or not torch.is_grad_enabled():
                return
            with torch.no_grad():
                self._observe(name, module, output.detach())

        return hook

    def _observe(self, name: str, module: nn.Module, y: torch.Tensor) -> None:
        stats = self._stats.setdefault(name, _ModuleStats())
        if isinstance(module, DEAD_KINDS) and y.dim() >= 2:
            unit = _unit_dim(y)
            active = y > 0
            for d in sorted((d for d in range(y.dim()) if d != unit), reverse=True):
                active = active.any(dim=d)
            stats.active = active if stats.active is None else stats.active | active
        for kind, is_saturated in SATURATING.items():
            if isinstance(module, kind):
                stats.saturated.append(is_saturated(y).float().mean())
        x = y.double()  # float64 moments: a fourth power of bf16/fp32 outliers overflows fast
        stats.max_abs.append(x.abs().max())
        x2 = x * x
        count = x.new_tensor(float(x.numel()))
        stats.moments.append(torch.stack([count, x.sum(), x2.sum(), (x2 * x).sum(), (x2 * x2).sum()]))

    def close_window(self) -> ActivationsPending | None:
        """End of a sampled step: hand the window's statistics to the transport thread."""
        stats, self._stats = self._stats, {}
        if not stats:
            return None
        deferred: dict[str, dict[str, Deferred]] = {}
        for name, s in stats.items():
            parts: dict[str, Deferred] = {}
            if s.active is not None:
                parts["dead"] = Deferred(1.0 - s.active.float().mean())
            if s.saturated:
                parts["saturated"] = Deferred(torch.stack(s.saturated).mean())
            if s.max_abs:
                parts["max_abs"] = Deferred(torch.stack(s.max_abs).max())
            if s.moments:
                parts["moments"] = Deferred(torch.stack(s.moments).sum(dim=0))
            deferred[name] = parts
        return ActivationsPending(list(deferred), deferred)
