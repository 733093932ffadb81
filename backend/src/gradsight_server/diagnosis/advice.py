"""Recommendations several rules share, each computed from the run's own numbers
(RULES.md principle 4: "clip at 1.8 — the 90th percentile of this run's healthy grad norms",
not "clip gradients")."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt, nice

PALM_REWIND_STEPS = 100  # PaLM: restart ~100 steps before the spike began …
PALM_SKIP_BATCHES = 300  # … and skip roughly 200–500 batches


def peak_lr(data: RunData) -> float | None:
    """The highest learning rate the run has used (``lr``), else the optimizer's configured one."""
    lr = data.get("lr").finite()
    if len(lr):
        return float(lr.values.max())
    _, group = data.optimizer()
    value = group.get("lr")
    return float(value) if isinstance(value, (int, float)) else None


def lower_lr(data: RunData, factor: float, why: str) -> Recommendation | None:
    peak = peak_lr(data)
    if peak is None or peak <= 0:
        return None
    target = nice(peak * factor)
    return Recommendation(
        action="Lower the peak learning rate",
        detail=f"Peak learning rate {fmt(peak)} → {fmt(target)} (×{fmt(target / peak)}): {why}",
        params={"lr": {"from": peak, "to": target}, "code": f"lr = {target:g}"},
        references=(ref.PLAYBOOK, ref.CS231N),
    )


def healthy_grad_norms(data: RunData, before_step: int | None) -> np.ndarray:
    """Finite global gradient norms before ``before_step`` (the run's healthy regime), AMP-skipped
    steps excluded."""
    gn = data.get("grad_norm").without(data.skipped_steps()).finite()
    if before_step is not None:
        gn = gn.where(gn.steps < before_step)
    return gn.values


def clip_at_p90(data: RunData, before_step: int | None) -> Recommendation | None:
    values = healthy_grad_norms(data, before_step)
    if values.size < 20:
        return None
    p90 = nice(float(np.percentile(values, 90)), 2)
    clipping = len(data.get("clip/applied")) > 0
    detail = (
        f"Clip the global gradient norm at {fmt(p90)}, the 90th percentile of this run's "
        f"{values.size} healthy steps"
        + (
            " (the run already clips; this is the tighter threshold its own data supports)"
            if clipping
            else ""
        )
        + ". If clipping has to be much tighter than that, lower the learning rate instead."
    )
    return Recommendation(
        action="Clip gradients at the 90th percentile",
        detail=detail,
        params={
            "max_norm": p90,
            "code": f"torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm={p90:g})",
        },
        references=(ref.PLAYBOOK, ref.PASCANU, ref.ZCLIP),
    )


def rewind_and_skip(onset: int) -> Recommendation:
    rewind = max(0, onset - PALM_REWIND_STEPS)
    skip_to = onset + PALM_SKIP_BATCHES - PALM_REWIND_STEPS
    return Recommendation(
        action="Rewind and skip the batches around the spike",
        detail=(
            f"Restart from the checkpoint nearest before step {rewind} (~{PALM_REWIND_STEPS} steps before the "
            f"instability began at step {onset}) and skip data batches {rewind}–{skip_to}, as PaLM did; BLOOM "
            "used the same rollback with a skipped range."
        ),
        params={"rewind_to": rewind, "skip_batches": [rewind, skip_to]},
        references=(ref.PALM, ref.BLOOM),
    )


def lower_beta2(data: RunData) -> Recommendation | None:
    name, group = data.optimizer()
    betas = group.get("betas")
    if not data.is_adam_like() or not isinstance(betas, list) or len(betas) < 2 or betas[1] <= 0.95:
        return None
    return Recommendation(
        action="Lower Adam's β₂",
        detail=(
            f"{name} β₂ {betas[1]} → 0.95: the second moment then tracks a suddenly larger gradient within "
            "~20 steps instead of ~1000, so one large gradient does not produce an oversized update "
            "(OPT-175B and PaLM trained with β₂ = 0.95)."
        ),
        params={"betas": {"from": betas, "to": [betas[0], 0.95]}, "code": f"betas=({betas[0]}, 0.95)"},
        references=(ref.OPT, ref.PALM, ref.MOLYBOG),
    )


def longer_warmup(data: RunData, onset: int) -> Recommendation:
    lr = data.get("lr").finite()
    warm = 0
    if len(lr) > 2 and lr.values[0] < lr.values.max():
        warm = int(lr.steps[int(np.argmax(lr.values))])
    target = max(2 * onset, 2 * warm, 100)
    return Recommendation(
        action="Lengthen the learning-rate warmup",
        detail=(
            f"Warm up over {target} steps (the instability began at step {onset}"
            + (f"; the current warmup reaches its peak at step {warm}" if warm else "")
            + "): a longer warmup lets the same peak learning rate be reached stably."
        ),
        params={"warmup_steps": target},
        references=(ref.PLAYBOOK, ref.EOS),
    )


ATTENTION_NAMES = ("attn", "attention", "q_proj", "k_proj", "qkv", "in_proj")


def has_attention(data: RunData) -> bool:
    names = list(data.layers) or list((data.metadata.get("param_numel") or {}).keys())
    return any(tag in name.lower() for name in names for tag in ATTENTION_NAMES)


def transformer_stability(data: RunData) -> Recommendation | None:
    """QK-norm and z-loss: the structural fixes that let transformers train stably at a learning
    rate that otherwise diverges (Wortsman et al.; OLMo 2; PaLM's z-loss of 1e-4)."""
    if not has_attention(data):
        return None
    return Recommendation(
        action="Add QK-norm and a z-loss",
        detail=(
            "Normalise queries and keys before the attention dot product (QK-LayerNorm) so attention logits "
            "cannot grow without bound, and add a z-loss of 1e-4·log²Z on the output logits (PaLM; OLMo 2 "
            "used 1e-5): together they let the same learning rate train without spikes."
        ),
        params={
            "z_loss": 1e-4,
            "code": "loss = ce_loss + 1e-4 * torch.logsumexp(logits, dim=-1).pow(2).mean()",
        },
        references=(ref.WORTSMAN, ref.OLMO2, ref.PALM),
    )
