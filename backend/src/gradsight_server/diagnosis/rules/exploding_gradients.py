"""``exploding_gradients``: the gradient norm grows far above its own recent level and keeps
growing. Takase et al. ("Spike No More") model loss spikes as caused by sudden gradient-norm
growth, and OLMo's runs showed steadily growing norms before their spikes, so the *trend* is
the early warning: ≥ 10× over its median of the last ``WINDOW`` steps, held for ``HOLD``
points of the smoothed log-norm, is a warning; ≥ 1000× (or growth that ends in Inf/NaN) is
critical. AutoTrainer's first/last-layer gradient ratio (its β3 = 70) is reported as evidence
only; it decides nothing."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.layers import layer_weights, numel
from gradsight_server.diagnosis.model import Finding, Recommendation, Severity
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import ema, fmt, runs

RULE = "exploding_gradients"
SIGNALS = ("grad_norm", "amp/skipped", "grad_norm/", "lr", "clip/applied")
GROWTH_WARN = 10.0
GROWTH_CRITICAL = 1000.0
WINDOW = 200
HOLD = 10
LAYER_RATIO = 70.0  # AutoTrainer β3


def evaluate(data: RunData) -> list[Finding]:
    gn = data.get("grad_norm").without(data.skipped_steps())
    finite = gn.finite()
    finite = finite.where(finite.values > 0)
    if len(finite) < 2 * HOLD:
        return []
    log = ema(np.log10(finite.values), 5.0)
    # Against the trailing *median*, not the minimum: near a loss of zero the norm's floor is
    # tiny, and a bounce off it is not an explosion.
    padded = np.r_[np.full(WINDOW - 1, np.nan), log]
    floor = np.nanmedian(sliding_window_view(padded, WINDOW), axis=1)
    growth = log - floor
    episodes = [(a, b) for a, b in runs(growth >= np.log10(GROWTH_WARN)) if b - a + 1 >= HOLD]
    nonfinite_after = gn.steps[~np.isfinite(gn.values)]
    if not episodes:
        return []
    a, b = episodes[-1]
    peak = float(10 ** growth[a : b + 1].max())
    ended_nonfinite = bool(nonfinite_after.size and nonfinite_after[0] >= finite.steps[a])
    severity: Severity = "critical" if peak >= GROWTH_CRITICAL or ended_nonfinite else "warning"
    # Onset: where the growth first passed 2× on the way up.
    onset_i = a
    while onset_i > 0 and growth[onset_i - 1] >= np.log10(2.0):
        onset_i -= 1
    onset = int(finite.steps[onset_i])
    still = b == log.size - 1 or ended_nonfinite
    before, after = float(10 ** floor[a]), float(10 ** log[b])
    nonfinite_at = int(nonfinite_after[0]) if ended_nonfinite else None
    evidence: dict[str, object] = {
        "signal": "grad_norm (smoothed, log)",
        "growth": peak,
        "threshold": GROWTH_WARN,
        "from": before,
        "to": after,
        "onset_step": onset,
        "ended_nonfinite_at": nonfinite_at,
    }
    ratio = _layer_ratio(data)
    if ratio is not None:
        evidence["first_over_last_layer_rms"] = ratio
        evidence["layer_ratio_threshold"] = LAYER_RATIO
    recs: list[Recommendation] = []
    clip = advice.clip_at_p90(data, onset)
    if clip:
        recs.append(clip)
    lower = advice.lower_lr(data, 0.3, f"the gradient norm grew {fmt(peak)}× from step {onset}")
    if lower:
        recs.append(lower)
    recs.append(
        Recommendation(
            action="Stabilise the architecture",
            detail=(
                "Keep activations and gradients at unit scale: normalisation layers (LayerNorm/BatchNorm) and "
                "residual connections, a scaled initialisation (orthogonal or Xavier for recurrent and tanh "
                "layers, He for ReLU), and for recurrent nets gated cells (LSTM/GRU) with norm clipping."
            ),
            references=(ref.PASCANU, ref.GLOROT, ref.LN),
        )
    )
    return [
        Finding(
            rule=RULE,
            subject="gradients",
            severity=severity,
            open=still,
            first_step=onset,
            last_step=int(finite.steps[b]),
            summary=(
                f"The gradient norm grew {fmt(peak)}× above its recent level, from {fmt(before)} to "
                f"{fmt(after)} (from step {onset})"
                + (f", then became non-finite at step {nonfinite_at}" if ended_nonfinite else "")
                + "."
            ),
            evidence=evidence,
            recommendations=tuple(recs),
        )
    ]


def _layer_ratio(data: RunData) -> float | None:
    sizes = numel(data)
    layers = layer_weights(data, "grad_norm/")
    if len(layers) < 2:
        return None
    names = list(layers)
    first, last = layers[names[0]].finite(), layers[names[-1]].finite()
    if not len(first) or not len(last) or last.values[-1] <= 0:
        return None
    return float(
        (first.values[-1] / np.sqrt(sizes[names[0]])) / (last.values[-1] / np.sqrt(sizes[names[-1]]))
    )
