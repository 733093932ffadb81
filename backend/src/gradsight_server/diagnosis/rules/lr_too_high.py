"""``lr_too_high``: each step moves the weights by a large fraction of their size, and the
loss pays for it.

CS231n puts a healthy update/weight ratio ‖Δθ‖/‖θ‖ "somewhere around 1e-3"; DeepDiagnosis
flags η·‖ΔW‖/‖W‖ outside [1e-5, 1e-1] and TheDeepChecker log10 |update| outside [-4, -1].
Adam's first steps already move each element by ~lr, so a ratio of a few 1e-2 is common in
small healthy models; the rule therefore wants ``HIGH`` = 0.1 held for ``HOLD`` samples, or a
single step above ``EXTREME`` = 1 (the weights rewritten), *and* damage to the loss (it is
no better than at the start, or it rose by a quarter of the progress). Without damage it is
an observation. The recommended LR brings the ratio back to ``TARGET``."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.progress import progress_lost
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt, runs

RULE = "lr_too_high"
SIGNALS = ("update_ratio", "loss", "lr", "param_norm/")
HIGH = 0.1
EXTREME = 1.0
HOLD = 3
TARGET = 1e-2  # comfortably inside the healthy range for Adam-family and SGD alike


def evaluate(data: RunData) -> list[Finding]:
    ratio = data.get("update_ratio").finite()
    if len(ratio) < 2:
        return []
    high = ratio.values > HIGH
    episodes = [(a, b) for a, b in runs(high) if b - a + 1 >= HOLD or ratio.values[a : b + 1].max() > EXTREME]
    if not episodes:
        return []
    a, b = episodes[0]
    onset, end = int(ratio.steps[a]), int(ratio.steps[b])
    worst = float(ratio.values[a : b + 1].max())
    damaged, how = _loss_damage(data)
    if not damaged and worst > EXTREME:
        damaged, how = True, f"one update moved the weights by {fmt(worst)}× their own norm"
    still_high = bool(high[-1])
    recs: list[Recommendation] = []
    typical = float(np.median(ratio.values[a : b + 1]))
    factor = min(0.5, max(0.01, TARGET / typical))
    lower = advice.lower_lr(
        data,
        factor,
        f"updates moved the weights by {fmt(typical)}× their norm per step (healthy ≈ 1e-3–1e-2)",
    )
    if lower:
        recs.append(lower)
    recs.append(advice.longer_warmup(data, onset))
    norm_growth = _param_norm_growth(data)
    return [
        Finding(
            rule=RULE,
            subject="learning rate",
            severity="warning" if damaged else "info",
            open=still_high or damaged,
            first_step=onset,
            last_step=end if not still_high else int(ratio.steps[-1]),
            summary=(
                f"Update/weight ratio up to {fmt(worst)} (median {fmt(typical)} over steps {onset}–{end}), "
                f"{fmt(typical / 1e-3)}× the ~1e-3 healthy band" + (f"; {how}" if damaged else "") + "."
            ),
            evidence={
                "signal": "update_ratio",
                "max": worst,
                "median": typical,
                "threshold": HIGH,
                "extreme": EXTREME,
                "loss_damage": how if damaged else None,
                "param_norm_growth": norm_growth,
            },
            recommendations=tuple(recs),
        )
    ]


def _loss_damage(data: RunData) -> tuple[bool, str]:
    loss = data.get("loss").finite()
    if len(loss) < 20:
        return False, ""
    head = max(5, len(loss) // 20)
    start = float(np.median(loss.values[:head]))
    now = float(np.median(loss.values[-head:]))
    if now >= start:
        return True, f"the loss is no better than at the start ({fmt(start)} → {fmt(now)})"
    p = progress_lost(loss)
    if p is not None and p.lost.max() >= 0.25:
        return True, f"the loss gave back {p.lost.max():.0%} of its progress"
    if not np.isfinite(data.get("loss").values).all():
        return True, "the loss became non-finite"
    return False, ""


def _param_norm_growth(data: RunData) -> float | None:
    norms = data.family("param_norm/")
    if not norms:
        return None
    series = list(norms.values())
    steps = series[0].steps
    if steps.size < 2:
        return None
    total = np.sqrt(
        np.sum([np.square(s.values[: steps.size]) for s in series if s.steps.size >= steps.size], axis=0)
    )
    return float(total.max() / total[0]) if total[0] > 0 else None
