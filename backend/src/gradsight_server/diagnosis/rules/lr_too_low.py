"""``lr_too_low``: healthy gradients, but the weights barely move and neither does the loss.

DeepDiagnosis flags an update/weight ratio below 1e-5 (SageMaker Debugger's 1e-8 is too loose
to be useful); Cockpit tells "learning rate too small" (small updates, healthy gradients)
apart from a flat plateau (small gradients). Here: the per-layer median ratio below ``LOW``
over the recent samples, the loss improving by under 1 % over the recent window, and neither
vanishing gradients (early layers starved) nor ε dominance (Adam's ε sets the step) explaining
it — those have their own rules and fixes."""

from __future__ import annotations

import warnings

import numpy as np

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.progress import loss_stalled
from gradsight_server.diagnosis.rules.vanishing_gradients import RATIO as VANISHING_RATIO
from gradsight_server.diagnosis.rules.vanishing_gradients import early_to_median
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt, nice

RULE = "lr_too_low"
SIGNALS = ("update_ratio/", "grad_norm/", "eps_frac/", "act/dead_frac/", "grad_norm", "loss", "lr")
LOW = 1e-5
RECENT_SAMPLES = 5
EPS_DOMINATED = 0.5  # median layer with half its elements ε-dominated: that rule explains it
TARGET = 1e-3
DEAD = 0.5  # dead_units' threshold


def evaluate(data: RunData) -> list[Finding]:
    per_layer = data.family("update_ratio/")
    if not per_layer:
        return []
    series = list(per_layer.values())
    n = min(s.steps.size for s in series)
    if n < RECENT_SAMPLES:
        return []
    table = np.vstack([s.values[-RECENT_SAMPLES:] for s in series])
    with warnings.catch_warnings():  # a step where every layer is NaN gives NaN, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(table, axis=0)
    if not (np.isfinite(median).all() and (median < LOW).all()):
        return []
    vanishing = early_to_median(data)
    if vanishing is not None and np.nanmedian(vanishing[1][-RECENT_SAMPLES:]) < VANISHING_RATIO * 10:
        return []
    eps = [s.values[-1] for s in data.family("eps_frac/").values() if len(s)]
    if eps and float(np.median(eps)) >= EPS_DOMINATED:
        return []
    dead = [s.values[-1] for s in data.family("act/dead_frac/").values() if len(s)]
    if dead and max(dead) > DEAD:
        return []  # updates are zero because the units are dead: dead_units explains it
    grads = [s.finite().values[-1] for s in data.family("grad_norm/").values() if len(s.finite())]
    if not grads or float(np.median(grads)) <= 0:
        return []  # no gradient at all: not a learning-rate problem
    gn = data.get("grad_norm").finite()
    if not len(gn) or gn.values[-1] <= 0:
        return []
    steps = series[0].steps
    first = int(steps[-RECENT_SAMPLES])
    stalled, change = loss_stalled(data, first)
    if not stalled:
        return []
    typical = max(float(np.median(median)), 1e-12)  # exactly 0: the weights do not move at all
    peak = advice.peak_lr(data)
    factor = min(100.0, max(3.0, TARGET / max(typical, 1e-12)))
    recs = []
    if peak:
        target = nice(peak * factor)
        recs.append(
            Recommendation(
                action="Raise the learning rate",
                detail=(
                    f"Learning rate {fmt(peak)} → {fmt(target)}: updates move the weights by {fmt(typical)} of their "
                    f"norm per step, {fmt(1e-3 / typical)}× below the ~1e-3 healthy band, while gradients are "
                    "normal. A short LR range test (exponentially increasing LR for ~100 steps) finds the "
                    "largest stable value."
                ),
                params={"lr": {"from": peak, "to": target}, "code": f"lr = {target:g}"},
                references=(ref.CS231N, ref.PLAYBOOK),
            )
        )
    return [
        Finding(
            rule=RULE,
            subject="learning rate",
            severity="warning",
            open=True,
            first_step=int(steps[0]),
            last_step=int(steps[-1]),
            summary=(
                f"Updates move the weights by {fmt(typical)} of their norm per step (median layer), "
                f"{fmt(1e-3 / typical)}× below the ~1e-3 band, and the loss changed {change:+.2%} recently."
            ),
            evidence={
                "signal": "update_ratio/<p>",
                "median_ratio": typical,
                "threshold": LOW,
                "loss_change_recent": change,
            },
            recommendations=tuple(recs),
        )
    ]
