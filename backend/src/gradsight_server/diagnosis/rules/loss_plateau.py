"""``loss_plateau``: the loss has stopped improving over a long window.

SageMaker Debugger's LossNotDecreasing compares the loss with its value ≥ 10 steps earlier;
TheDeepChecker wants a 5 % decrease per window. A plateau is not always a fault: a run that
made most of its progress and now sits at a noise floor has converged (an observation,
``info``). A run that is stuck close to where it started is a ``warning``. A loss that *rose*
over the window is not a plateau: that is the divergence rules' territory."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt, trailing_median

RULE = "loss_plateau"
SIGNALS = ("loss",)
WINDOW_SHARE = 0.4  # the last 40 % of the run …
MIN_WINDOW = 200  # … and at least this many steps
STALL = 0.005  # improved by less than 0.5 % of the loss level over the window
STUCK = 0.1  # less than 10 % better than at the start: stuck, not converged
RISE = 0.05  # worse by more than 5 % over the window: rising, not flat


def evaluate(data: RunData) -> list[Finding]:
    loss = data.get("loss").finite()
    if len(loss) < MIN_WINDOW:
        return []
    # A trailing median, not an EMA: a single spiking batch at the end of the window must not
    # read as a loss that is "stuck" far above where it was.
    smooth = trailing_median(loss.values, int(max(10.0, len(loss) / 20)))
    window = max(MIN_WINDOW, int(WINDOW_SHARE * len(loss)))
    if window >= len(loss):
        return []
    before, now = float(smooth[-window]), float(smooth[-1])
    scale = max(abs(before), abs(now), 1e-12)
    improvement = (before - now) / scale
    if improvement >= STALL or improvement <= -RISE:
        return []
    head = max(10, len(loss) // 20)
    start = float(np.median(loss.values[:head]))
    progress = (start - now) / max(abs(start), 1e-12)
    stuck = progress < STUCK
    first = int(loss.steps[-window])
    return [
        Finding(
            rule=RULE,
            subject="loss",
            severity="warning" if stuck else "info",
            open=True,
            first_step=first,
            last_step=int(loss.steps[-1]),
            summary=(
                f"No improvement over the last {window} steps (loss {fmt(before)} → {fmt(now)})"
                + (
                    f"; only {progress:.0%} better than at the start — training is stuck."
                    if stuck
                    else f"; {progress:.0%} better than at the start — it has converged at this level."
                )
            ),
            evidence={
                "signal": "loss (trailing median)",
                "window_steps": window,
                "improvement": improvement,
                "threshold": STALL,
                "progress_since_start": progress,
            },
            recommendations=(
                Recommendation(
                    action="Check that the model can learn the task at all"
                    if stuck
                    else "Stop or change the schedule",
                    detail=(
                        "Overfit a handful of batches first: if the loss does not fall there either, the labels, "
                        "the loss function or the data pipeline are wrong (shuffled labels, wrong targets, "
                        "frozen parameters); if it does, see the learning-rate and gradient diagnoses."
                        if stuck
                        else "The loss sits at its floor for this configuration: stop here (early stopping), decay "
                        "the learning rate to settle lower, or add capacity or data to move the floor."
                    ),
                    references=(ref.SMD, ref.PRECHELT),
                ),
            ),
        )
    ]
