"""``vanishing_gradients``: the early layers receive almost no gradient while the loss stalls.

Relative, not absolute (RULES.md principle 1): per-element gradient RMS of the first quarter
of the layers (model order) against the median layer. AutoTrainer calls it vanishing when
‖g_first‖/‖g_last‖ < 1e-3 (β1); SageMaker Debugger's VanishingGradient uses mean |g| < 1e-7,
an absolute threshold that does not transfer across model sizes (Wortsman et al. show
gradient scale falls as models grow). The ratio must hold over the recent samples and the
loss must be stalling; without the stall it is an observation."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.layers import layer_weights, numel
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.progress import loss_stalled
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt

RULE = "vanishing_gradients"
SIGNALS = ("grad_norm/", "loss")
RATIO = 1e-3
RECENT_SAMPLES = 5


def early_to_median(data: RunData) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(steps, ratio of early-layer to median-layer gradient RMS, early layer names)."""
    sizes = numel(data)
    layers = layer_weights(data, "grad_norm/")
    if len(layers) < 4:
        return None
    names = list(layers)
    common = set(layers[names[0]].steps.tolist())
    for series in layers.values():
        common &= set(series.steps.tolist())
    steps = np.array(sorted(common), dtype=np.int64)
    if steps.size < RECENT_SAMPLES:
        return None
    table = np.vstack(
        [
            np.array([layers[n].value_at(int(s)) for s in steps], dtype=np.float64) / np.sqrt(sizes[n])
            for n in names
        ]
    )
    early = max(1, len(names) // 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.median(table[:early], axis=0) / np.median(table, axis=0)
    return steps, ratio, names[:early]


def evaluate(data: RunData) -> list[Finding]:
    measured = early_to_median(data)
    if measured is None:
        return []
    steps, ratio, early = measured
    recent = ratio[-RECENT_SAMPLES:]
    if not (np.isfinite(recent).all() and (recent < RATIO).all()):
        return []
    below = np.flatnonzero(~(ratio < RATIO))
    first = int(steps[below[-1] + 1]) if below.size else int(steps[0])
    stalled, change = loss_stalled(data, first)
    return [
        Finding(
            rule=RULE,
            subject="early layers",
            severity="warning" if stalled else "info",
            open=True,
            first_step=first,
            last_step=int(steps[-1]),
            summary=(
                f"The first {len(early)} layer(s) ({', '.join(early[:3])}{'…' if len(early) > 3 else ''}) get "
                f"{fmt(float(np.median(recent)))}× the median layer's gradient per element"
                + (f" while the loss barely moves ({change:+.1%} recently)." if stalled else ".")
            ),
            evidence={
                "signal": "grad_norm/<p> per element",
                "early_over_median": float(np.median(recent)),
                "threshold": RATIO,
                "early_layers": early,
                "loss_change_recent": change,
            },
            recommendations=(
                Recommendation(
                    action="Use activations and an initialisation that keep gradients alive",
                    detail=(
                        "Replace saturating activations (sigmoid/tanh) in deep stacks with ReLU/GELU and He "
                        "initialisation, add normalisation (BatchNorm/LayerNorm) and residual connections so "
                        "the gradient reaches the early layers; AutoTrainer's repair order for vanishing "
                        "gradients is SELU, ReLU + He init, BatchNorm."
                    ),
                    references=(ref.HE_INIT, ref.GLOROT, ref.IOFFE, ref.AUTOTRAINER),
                ),
            ),
        )
    ]
