"""``grad_spike``: the global gradient norm jumps far above its recent level (robust z > 6 in
log space, :mod:`..spikes`; ZClip's z-score idea, kinder threshold for a diagnosis), or Adam's
second moment is overrun: a share of elements with g² > 5000·v (SPAM's criterion, θ = 5000,
``spike_frac/<p>``). Recurring spikes are a warning; a single recovered one an observation.
Steps an AMP GradScaler skipped are excluded."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.spikes import Z, find_spikes, spike_finding_shape
from gradsight_server.diagnosis.stats import fmt

RULE = "grad_spike"
SIGNALS = ("grad_norm", "amp/skipped", "spike_frac/", "lr", "clip/applied")
RECURRING = 3
RECENT_STEPS = 500
SPAM_FRACTION = 1e-3  # a layer with 0.1 % of its elements at g² > 5000·v̂ at an update step
SPAM_SETTLE_STEPS = 100  # Adam's v̂ averages too few gradients before this to judge a spike


def evaluate(data: RunData) -> list[Finding]:
    skipped = data.skipped_steps()
    events = find_spikes(data.get("grad_norm").without(skipped))
    spam = _spam_layers(data)
    if not events and not spam:
        return []
    last = data.last_step
    if events:
        severity, is_open = spike_finding_shape(events, last, RECURRING, RECENT_STEPS)
        first, latest = events[0].onset, events[-1].peak_step
    else:
        severity, is_open = "info", True
        first, latest = min(s for s, _ in spam.values()), max(s for s, _ in spam.values())
    if len(spam) >= 1 and any(count >= RECURRING for _, count in spam.values()):
        severity = "warning"
    worst = max(events, key=lambda e: e.ratio) if events else None
    parts = []
    if events and worst is not None:
        parts.append(
            f"{len(events)} gradient-norm spike(s), the largest {fmt(worst.peak)} at step {worst.peak_step} "
            f"({fmt(worst.ratio)}× its recent median)"
        )
    if spam:
        name = max(spam, key=lambda n: spam[n][1])
        parts.append(
            f"Adam's second moment was overrun (g² > 5000·v) in {len(spam)} layer(s), most often {name}"
        )
    recs: list[Recommendation] = []
    for extra in (
        advice.clip_at_p90(data, first),
        advice.lower_beta2(data),
        advice.transformer_stability(data),
    ):
        if extra is not None:
            recs.append(extra)
    recs.append(
        Recommendation(
            action="Use spike-aware clipping",
            detail=(
                "Clip against the gradient norm's own running statistics instead of a fixed threshold "
                "(ZClip: z-score > 2.5 against an EMA with α = 0.97), or clip individual elements to "
                "√(5000·v) as SPAM does; both absorb isolated spikes without slowing normal steps."
            ),
            params={"zclip": {"z_threshold": 2.5, "alpha": 0.97}, "spam_threshold": 5000},
            references=(ref.ZCLIP, ref.SPAM),
        )
    )
    return [
        Finding(
            rule=RULE,
            subject="gradients",
            severity=severity,  # type: ignore[arg-type]
            open=is_open,
            first_step=first,
            last_step=latest,
            summary="; ".join(parts) + ".",
            evidence={
                "signal": "grad_norm, spike_frac/<p>",
                "z_threshold": Z,
                "events": [e.as_dict() for e in events[-20:]],
                "spam_layers": {n: {"last_step": s, "updates_with_spikes": c} for n, (s, c) in spam.items()},
                "spam_fraction_threshold": SPAM_FRACTION,
            },
            recommendations=tuple(recs),
        )
    ]


def _spam_layers(data: RunData) -> dict[str, tuple[int, int]]:
    """{layer: (last step, number of update steps)} where the spike fraction passed the threshold."""
    out = {}
    for name, series in data.family("spike_frac/").items():
        late = series.since(SPAM_SETTLE_STEPS)
        hits = late.steps[np.nan_to_num(late.values) > SPAM_FRACTION]
        if hits.size:
            out[name] = (int(hits[-1]), int(hits.size))
    return out
