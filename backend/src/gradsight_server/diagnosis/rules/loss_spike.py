"""``loss_spike``: the loss jumps far above its recent level (robust z > 6 in log space, see
:mod:`..spikes`). Recurring spikes (≥ 3) are a warning — typically bad batches or an optimizer
instability; a single spike the run recovered from is recorded as an observation (many
spikes recover by themselves: BLOOM lessons, ZClip)."""

from __future__ import annotations

import itertools

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.spikes import Z, find_spikes, spike_finding_shape
from gradsight_server.diagnosis.stats import fmt

RULE = "loss_spike"
SIGNALS = ("loss", "grad_norm", "amp/skipped", "lr", "clip/applied")
RECURRING = 3
RECENT_STEPS = 500


def evaluate(data: RunData) -> list[Finding]:
    skipped = data.skipped_steps()
    events = find_spikes(data.get("loss").without(skipped))
    if not events:
        return []
    last = data.last_step
    severity, is_open = spike_finding_shape(events, last, RECURRING, RECENT_STEPS)
    grad_events = find_spikes(data.get("grad_norm").without(skipped))
    together = [e for e in events if any(abs(g.peak_step - e.peak_step) <= 1 for g in grad_events)]
    worst = max(events, key=lambda e: e.ratio)
    recovered = sum(1 for e in events if e.recovered_at is not None)
    recs: list[Recommendation] = []
    steps = [e.peak_step for e in events]
    if len(events) >= RECURRING:
        gaps = sorted({b - a for a, b in itertools.pairwise(steps)})
        periodic = len(gaps) == 1
        recs.append(
            Recommendation(
                action="Inspect the batches at the spikes",
                detail=(
                    f"The loss spiked at steps {', '.join(map(str, steps[:10]))}"
                    + (
                        f" — every {gaps[0]} steps, which points at specific data shards or records"
                        if periodic
                        else ""
                    )
                    + ". Log the sample ids of those batches and check them for corrupt labels, unusual lengths "
                    "or units; OLMo 2 traced its spikes to repeated n-gram sequences in the data."
                ),
                params={"steps": steps[:50], **({"period": gaps[0]} if periodic else {})},
                references=(ref.OLMO2, ref.PALM),
            )
        )
    if any(e.recovered_at is None for e in events):
        first_bad = next(e for e in events if e.recovered_at is None)
        recs.append(advice.rewind_and_skip(first_bad.onset))
    for extra in (
        advice.clip_at_p90(data, events[0].onset),
        advice.lower_beta2(data),
        advice.transformer_stability(data),
    ):
        if extra is not None:
            recs.append(extra)
    return [
        Finding(
            rule=RULE,
            subject="loss",
            severity=severity,  # type: ignore[arg-type]
            open=is_open,
            first_step=events[0].onset,
            last_step=events[-1].peak_step,
            summary=(
                f"{len(events)} loss spike(s); the largest reached {fmt(worst.peak)} at step {worst.peak_step}, "
                f"{fmt(worst.ratio)}× its recent median; the run recovered from {recovered} of them"
                + (f"; {len(together)} came with a gradient-norm spike" if together else "")
                + "."
            ),
            evidence={
                "signal": "loss",
                "z_threshold": Z,
                "events": [e.as_dict() for e in events[-20:]],
                "with_gradient_spike": [e.peak_step for e in together],
            },
            recommendations=tuple(recs),
        )
    ]
