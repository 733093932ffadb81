"""``divergence``: the loss became non-finite, or it gave back much of what training had won.

Scale-free criterion (RULES.md principle 1): with ``progress`` = starting loss level − best
smoothed loss so far, the run has lost ``(smoothed loss now − best) / progress`` of it.
TheDeepChecker's Loss/Diverging check fires at 2× the minimum loss; ratios of the minimum mean
nothing for losses near zero or below it, so the share of progress lost is used instead:
≥ 25 % lost and held is a warning, ≥ 50 % (or a non-finite loss) is critical. Steps an AMP
GradScaler skipped are excluded.
"""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import advice
from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.progress import MIN_POINTS, RISING_LOST, progress_lost
from gradsight_server.diagnosis.signals import RunData, Series
from gradsight_server.diagnosis.stats import fmt, runs

RULE = "divergence"
SIGNALS = ("loss", "lr", "grad_norm", "clip/applied", "amp/skipped")
WARN_LOST = 0.25
CRITICAL_LOST = 0.5
MIN_HOLD = 20
HOLD_SHARE = 0.1


def evaluate(data: RunData) -> list[Finding]:
    loss = data.get("loss").without(data.skipped_steps())
    if len(loss) < MIN_POINTS:
        return []
    nonfinite = loss.steps[~np.isfinite(loss.values)]
    if nonfinite.size:
        return [_nonfinite(data, loss, int(nonfinite[0]), int(nonfinite[-1]), int(nonfinite.size))]
    p = progress_lost(loss.finite())
    if p is None:
        return []
    episodes = [(a, b) for a, b in runs(p.lost >= WARN_LOST) if b - a + 1 >= _hold(b)]
    if not episodes:
        return []
    a, b = episodes[-1]
    worst = float(p.lost[a : b + 1].max())
    still = float(p.lost[-1]) >= RISING_LOST
    onset = p.onset(a)
    return [
        Finding(
            rule=RULE,
            subject="loss",
            severity="critical" if worst >= CRITICAL_LOST else "warning",
            open=still,
            first_step=onset,
            last_step=int(p.steps[b]),
            summary=(
                f"The loss climbed back from its best {fmt(p.best)} (step {p.best_step}): {worst:.0%} of the "
                f"progress since the start ({fmt(p.start)}) was given back"
                + (f", and it is at {fmt(p.now)} now." if still else "; it has since recovered.")
            ),
            evidence={
                "signal": "loss (trailing median)",
                "start_level": p.start,
                "best": p.best,
                "best_step": p.best_step,
                "now": p.now,
                "progress_lost": worst,
                "threshold": WARN_LOST,
                "onset_step": onset,
            },
            recommendations=tuple(_recommendations(data, onset)),
        )
    ]


def _hold(end: int) -> int:
    """Points a climb must last to be a divergence: 10 % of the run up to its end, at least 20.
    Shorter excursions are spikes (``loss_spike``) or noise."""
    return max(MIN_HOLD, int(HOLD_SHARE * (end + 1)))


def _nonfinite(data: RunData, loss: Series, first: int, last: int, count: int) -> Finding:
    before = loss.finite().until(first)
    p = progress_lost(before)
    onset = first
    if p is not None and p.lost.max() >= WARN_LOST:
        onset = p.onset(int(np.argmax(p.lost)))
    return Finding(
        rule=RULE,
        subject="loss",
        severity="critical",
        open=True,
        first_step=onset,
        last_step=last,
        summary=f"The loss became non-finite at step {first}"
        + (f", after climbing from step {onset}" if onset < first else "")
        + ".",
        evidence={
            "signal": "loss",
            "first_nonfinite_step": first,
            "nonfinite_steps": count,
            "last_finite_loss": float(before.values[-1]) if len(before) else None,
        },
        recommendations=tuple(_recommendations(data, onset)),
    )


def _recommendations(data: RunData, onset: int) -> list[Recommendation]:
    recs: list[Recommendation] = []
    lr = data.get("lr").finite()
    early = lr.until(onset)
    if len(early) and lr.values.max() > 1.5 * early.values[0] and lr.values[-1] >= 0.99 * lr.values.max():
        recs.append(
            Recommendation(
                action="Cap the learning-rate schedule",
                detail=(
                    f"The learning rate rose from {fmt(float(early.values[0]))} to {fmt(float(lr.values.max()))} "
                    "and was still at its maximum when the loss turned: check that the warmup stops at the "
                    "peak (lr = peak · min(1, step / warmup))."
                ),
                params={
                    "lr_start": float(early.values[0]),
                    "lr_max": float(lr.values.max()),
                    "code": "lr = peak_lr * min(1.0, (step + 1) / warmup_steps)",
                },
                references=(ref.PLAYBOOK,),
            )
        )
    recs.append(advice.rewind_and_skip(onset))
    for extra in (
        advice.lower_lr(data, 0.3, f"the run diverged from step {onset}"),
        advice.clip_at_p90(data, onset),
        advice.lower_beta2(data),
        advice.transformer_stability(data),
    ):
        if extra is not None:
            recs.append(extra)
    return recs
