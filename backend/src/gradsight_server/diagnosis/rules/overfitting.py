"""``overfitting``: validation loss rises while training loss keeps falling.

SageMaker Debugger's Overfit rule fires when (mean val − mean train)/mean train > 0.1;
AutoTrainer's test_turn_bad wants train ↓ and val ↑ over consecutive checks. Here: at the
latest validation point the relative gap is above ``GAP`` (0.1), validation is ``RISE`` (5 %)
above its best, and the training loss (smoothed) is lower than when validation was best."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import ema, fmt

RULE = "overfitting"
SIGNALS = ("val/loss", "loss")
GAP = 0.1
RISE = 0.05
MIN_VAL_POINTS = 3


def evaluate(data: RunData) -> list[Finding]:
    val = data.get("val/loss").finite()
    train = data.get("loss").finite()
    if len(val) < MIN_VAL_POINTS or len(train) < 10:
        return []
    smooth = ema(train.values, max(5.0, len(train) / 20))
    train_at = np.interp(val.steps, train.steps, smooth)
    best = int(np.argmin(val.values))
    now_val, best_val = float(val.values[-1]), float(val.values[best])
    gap = (now_val - train_at[-1]) / max(abs(train_at[-1]), 1e-12)
    rising = now_val > best_val + RISE * max(abs(best_val), 1e-12)
    train_fell = train_at[-1] < train_at[best]
    if not (gap > GAP and rising and train_fell and best < len(val) - 1):
        return []
    best_step = int(val.steps[best])
    _, group = data.optimizer()
    wd = group.get("weight_decay")
    recs = [
        Recommendation(
            action="Stop at the best validation step",
            detail=(
                f"Validation loss was lowest ({fmt(best_val)}) at step {best_step} and has risen to {fmt(now_val)} "
                "since: keep that checkpoint (early stopping with patience of a few evaluations)."
            ),
            params={"best_step": best_step, "best_val_loss": best_val},
            references=(ref.PRECHELT,),
        ),
        Recommendation(
            action="Regularise",
            detail=(
                (
                    "Raise weight decay "
                    + (f"{wd:g} → {max(wd * 10, 0.01):g}" if isinstance(wd, (int, float)) else "to ~0.01–0.1")
                )
                + ", add dropout (0.1–0.3), augment the data or use more of it: the model is memorising the "
                "training set."
            ),
            params={
                "weight_decay": {
                    "from": wd,
                    "to": max(wd * 10, 0.01) if isinstance(wd, (int, float)) else 0.05,
                }
            },
            references=(ref.LOSHCHILOV, ref.SRIVASTAVA),
        ),
    ]
    return [
        Finding(
            rule=RULE,
            subject="generalisation",
            severity="warning",
            open=True,
            first_step=best_step,
            last_step=int(val.steps[-1]),
            summary=(
                f"Validation loss rose from {fmt(best_val)} (step {best_step}) to {fmt(now_val)} while the training "
                f"loss kept falling; the gap is now {gap:.0%} of the training loss."
            ),
            evidence={
                "signal": "val/loss, loss",
                "gap": gap,
                "gap_threshold": GAP,
                "best_val_step": best_step,
                "best_val": best_val,
                "val_now": now_val,
                "train_now": float(train_at[-1]),
            },
            recommendations=tuple(recs),
        )
    ]
