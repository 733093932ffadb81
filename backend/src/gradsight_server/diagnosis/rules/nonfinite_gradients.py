"""``nonfinite_gradients``: NaN/Inf in the gradients, outside the steps an AMP GradScaler skipped.

Any non-finite gradient is critical (SageMaker Debugger's ExplodingTensor fires on the first
NaN/Inf). The culprit named is the first non-finite parameter in *backward* order, i.e. the
last in model order: a NaN born in the backward pass at layer k reaches every earlier layer
but none after it. When every parameter is non-finite at once and the loss is too, the NaN
came from the forward pass — usually the data. Steps the scaler skipped are excluded: their
infinities are the scaler doing its job (ARCHITECTURE.md compatibility list).
"""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData

RULE = "nonfinite_gradients"
SIGNALS = ("grad_norm", "loss", "amp/skipped", "grad_norm/", "nonfinite/", "clip/applied")
QUIET_STEPS = 100  # finite gradients this long after the last bad step: resolved


def evaluate(data: RunData) -> list[Finding]:
    skipped = data.skipped_steps()
    gn = data.get("grad_norm").without(skipped)
    per_norm = {n: s.without(skipped) for n, s in data.family("grad_norm/").items()}
    counts = {n: s.without(skipped) for n, s in data.family("nonfinite/").items()}
    bad = set(gn.steps[~np.isfinite(gn.values)].tolist())
    for series in counts.values():
        bad.update(series.steps[series.values > 0].tolist())
    if not bad:
        return []
    steps = sorted(bad)
    first, last = steps[0], steps[-1]
    layers = [n for n, s in per_norm.items() if (v := s.value_at(first)) is not None and not np.isfinite(v)]
    layers += [n for n, s in counts.items() if (s.value_at(first) or 0) > 0 and n not in layers]
    order = {n: i for i, n in enumerate(data.layers)}
    culprit = max(layers, key=lambda n: order.get(n, -1)) if layers else None
    loss_at_first = data.get("loss").value_at(first)
    from_forward = loss_at_first is not None and not np.isfinite(loss_at_first)
    all_layers = bool(per_norm) and len(layers) >= len(per_norm)
    recovered = data.last_step - last >= QUIET_STEPS
    evidence = {
        "signal": "grad_norm, grad_norm/<p>, nonfinite/<p>",
        "first_step": first,
        "steps_affected": len(steps),
        "parameters_at_first_step": len(layers),
        "first_in_backward_order": culprit,
        "nonfinite_elements": {n: counts[n].value_at(first) for n in layers if n in counts},
        "loss_at_first_step": loss_at_first
        if loss_at_first is None or np.isfinite(loss_at_first)
        else str(loss_at_first),
        "amp_skipped_steps_excluded": int(skipped.size),
    }
    if from_forward and all_layers:
        where = (
            f"the loss was already non-finite at step {first}, so the NaN came from the forward pass "
            "(most often a bad input record)"
        )
    else:
        where = f"first in backward order: {culprit}" if culprit else "in the global gradient norm"
    recs = [
        Recommendation(
            action="Find the batch that produced it",
            detail=(
                f"Replay the batch of step {first} with torch.autograd.set_detect_anomaly(True) (slow: replay only) "
                "and assert torch.isfinite on its inputs and targets; drop or repair the record."
                if from_forward
                else f"Replay step {first} with torch.autograd.set_detect_anomaly(True) to find the operation that "
                f"produced the first non-finite gradient, in or before {culprit}."
            ),
            params={"step": first, "code": "torch.autograd.set_detect_anomaly(True)"},
            references=(ref.SMD,),
        ),
        advice.rewind_and_skip(first),
    ]
    clip = advice.clip_at_p90(data, first)
    if clip and not from_forward:
        recs.append(clip)
    return [
        Finding(
            rule=RULE,
            subject="gradients",
            severity="critical",
            open=not recovered,
            first_step=first,
            last_step=last,
            summary=f"Non-finite gradients at {len(steps)} step(s) from step {first}: {where}.",
            evidence=evidence,
            recommendations=tuple(recs),
        )
    ]
