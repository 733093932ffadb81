"""Statistics of Adam-family optimizer state, read in the optimizer pre-hook every
``update_every`` steps (before the step changes the moments).

- ``spike_frac/<p>``: fraction of elements with g² > θ·v̂, θ = 5000: SPAM's spike criterion and
  default threshold (Huang et al., "SPAM: Spike-Aware Adam with Momentum Reset for Stable LLM
  Training", ICLR 2025, arXiv 2501.06842), on the second moment before this step's update. SPAM's
  code compares with the raw ``exp_avg_sq``; here v̂ = v / (1 − β₂ᵗ) is bias-corrected, which is
  the same once β₂ᵗ ≈ 0 (after ~3/(1 − β₂) steps) but keeps the first steps, where the raw v
  understates the gradient scale by (1 − β₂ᵗ), from flagging nearly every element.
  g is the gradient the optimizer is about to use (after clipping).
- ``eps_frac/<p>``: fraction of elements with 0 < √v̂ < 10·ε (v = 0: never a gradient), v̂ = v / (1 − β₂ᵗ) the
  bias-corrected second moment Adam divides by: there ε, not the gradient scale, sets the
  step size (Wortsman et al., "Small-scale proxies for large-scale Transformer training
  instabilities", arXiv 2309.14322, on ε dominance as models grow).

Optimizers without an ``exp_avg_sq`` of the parameter's shape (SGD, Adafactor's factored
moments) simply produce no such keys. Cost: per parameter, every ``update_every`` steps, one
fused ``addcmul`` and two compares over g and v (in their own dtype), each followed by a
count; temporaries are one parameter's size at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gradsight.capture.deferred import Deferred

SPAM_THRESHOLD = 5000.0  # SPAM's default θ (arXiv 2501.06842)
EPS_DOMINANCE = 10.0  # √v̂ below 10·ε: ε dominates Adam's denominator


def _bias_correction(step: object, beta2: float, device: torch.device) -> torch.Tensor | float:
    if isinstance(step, torch.Tensor):
        # capturable/fused optimizers keep `step` on the device: stay there (no sync).
        correction: torch.Tensor = 1.0 - beta2 ** step.to(device=device, dtype=torch.float32)
        return correction
    return 1.0 - beta2 ** float(step)  # type: ignore[arg-type,no-any-return]


class StatePending:
    def __init__(self, names: list[str], spike: Deferred, eps: Deferred) -> None:
        self._names, self._spike, self._eps = names, spike, eps

    def resolve(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, s, e in zip(
            self._names,
            self._spike.resolve_vector().tolist(),
            self._eps.resolve_vector().tolist(),
            strict=True,
        ):
            out[f"spike_frac/{name}"] = s
            out[f"eps_frac/{name}"] = e
        return out


def adam_state_stats(
    optimizer: torch.optim.Optimizer,
    names: dict[int, str],
    include: set[str] | None,
) -> StatePending | None:
    """None when the optimizer holds no Adam-style state yet (first step) or ever."""
    picked: list[str] = []
    spikes: list[torch.Tensor] = []
    eps_fracs: list[torch.Tensor] = []
    for group in optimizer.param_groups:
        eps, betas = group.get("eps"), group.get("betas")
        if not isinstance(eps, (int, float)) or not isinstance(betas, Sequence) or len(betas) < 2:
            continue
        beta2 = float(betas[1])
        for p in group["params"]:
            name = names.get(id(p))
            if name is None or (include is not None and name not in include) or p.grad is None:
                continue
            state = optimizer.state.get(p)
            v = state.get("exp_avg_sq") if state else None
            if not isinstance(v, torch.Tensor) or v.shape != p.shape or "step" not in state:  # type: ignore[operator]
                continue
            g = p.grad.detach()
            v_ = v.detach()
            n = g.numel()
            correction = _bias_correction(state["step"], beta2, v.device)  # type: ignore[index]
            if isinstance(correction, float):
                # g² > θ·v/(1 − β₂ᵗ)  ⟺  v − g²·(1 − β₂ᵗ)/θ < 0: one fused addcmul pass.
                over = torch.addcmul(v_, g, g, value=-correction / SPAM_THRESHOLD) < 0
            else:  # capturable: the correction is a device tensor
                over = v_ - g * g * (correction / SPAM_THRESHOLD) < 0
            spikes.append(torch.count_nonzero(over) / n)
            # √v̂ < 10ε  ⟺  v < (10ε)²·(1 − β₂ᵗ): a compare against a scalar, no v̂ or sqrt. Elements
            # with v = 0 never had a gradient (dead units, unused rows): ε is not what stops them.
            limit = (EPS_DOMINANCE * float(eps)) ** 2 * correction
            eps_fracs.append(torch.count_nonzero((v_ < limit) & (v_ > 0)) / n)
            picked.append(name)
    if not picked:
        return None
    device = spikes[0].device  # parameters spread over devices: gather the scalars on one
    return StatePending(
        picked,
        Deferred(torch.stack([s.to(device) for s in spikes])),
        Deferred(torch.stack([e.to(device) for e in eps_fracs])),
    )
