"""``loss_scale_collapse``: fp16 loss scaling is failing — the GradScaler's scale sits at its
floor, or it keeps skipping steps. Resolved once the scale is off its floor and the skips
have stopped.

PyTorch's GradScaler starts at 2¹⁶, halves on every overflow and doubles after 2000 clean
steps; OPT-175B's logbook records "extremely unstable loss scales that would drop to the
point of massively underflowing" before its divergences. Fire when the scale reaches
``FLOOR`` (critical), or when more than ``SKIP_SHARE`` (ours: 1 %) of the recent steps were
skipped with ``BACKOFFS`` halvings in a row (warning)."""

from __future__ import annotations

import itertools

import numpy as np

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData

RULE = "loss_scale_collapse"
SIGNALS = ("amp/loss_scale", "amp/skipped", "lr")
FLOOR = 1.0
SKIP_SHARE = 0.01
RECENT = 1000
BACKOFFS = 5


def evaluate(data: RunData) -> list[Finding]:
    scale = data.get("amp/loss_scale").finite()
    skipped = data.get("amp/skipped").finite()
    if not len(scale) and not len(skipped):
        return []
    recent = skipped.since(data.last_step - RECENT) if len(skipped) else skipped
    share = float(recent.values.mean()) if len(recent) else 0.0
    at_floor = scale.steps[scale.values <= FLOOR]
    halvings = _longest_backoff(scale.values)
    if not at_floor.size and not (share > SKIP_SHARE and halvings >= BACKOFFS):
        return []
    critical = bool(at_floor.size)
    # Still failing: the scale is at its floor now, or the recent steps keep overflowing. A
    # scale that touched the floor and climbed back stays on record, resolved.
    still = bool(len(scale) and scale.values[-1] <= FLOOR) or share > SKIP_SHARE
    skip_steps = skipped.steps[skipped.values > 0.5]
    first = int(at_floor[0]) if critical else int(skip_steps[0]) if skip_steps.size else int(scale.steps[0])
    recs = [
        Recommendation(
            action="Train in bfloat16 instead of float16",
            detail=(
                "bf16 has float32's exponent range, so gradients do not overflow and no loss scaling is needed "
                "(torch.autocast(device_type='cuda', dtype=torch.bfloat16) without a GradScaler)."
            ),
            params={"code": "torch.autocast(device_type='cuda', dtype=torch.bfloat16)"},
            references=(ref.BF16, ref.OPT),
        ),
        Recommendation(
            action="Keep overflow-prone operations in float32",
            detail=(
                "Compute softmax/attention scores, norms and the loss in float32 and keep the optimizer state in "
                "float32 (Adam's ε = 1e-8 is 0 in fp16); OPT moved to a more stable attention computation."
            ),
            references=(ref.MICIKEVICIUS, ref.OPT),
        ),
    ]
    lower = advice.lower_lr(data, 0.5, "overflowing gradients often come with an unstable learning rate")
    if lower:
        recs.append(lower)
    return [
        Finding(
            rule=RULE,
            subject="amp",
            severity="critical" if critical else "warning",
            open=still,
            first_step=first,
            last_step=data.last_step,
            summary=(
                (
                    f"The loss scale fell to {float(scale.values.min()):g} (step {int(at_floor[0])}); "
                    if critical
                    else ""
                )
                + f"{share:.0%} of the last {len(recent)} steps were skipped for overflow, with up to {halvings} "
                "halvings of the scale in a row."
            ),
            evidence={
                "signal": "amp/loss_scale, amp/skipped",
                "skipped_share": share,
                "threshold": SKIP_SHARE,
                "longest_backoff": halvings,
                "min_scale": float(scale.values.min()) if len(scale) else None,
            },
            recommendations=tuple(recs),
        )
    ]


def _longest_backoff(scale: np.ndarray) -> int:
    best = run = 0
    for a, b in itertools.pairwise(scale.tolist()):
        run = run + 1 if b < a else 0 if b > a else run
        best = max(best, run)
    return best
