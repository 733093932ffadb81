"""``straggler``: one rank is consistently slower, and the whole job runs at its pace.

Every collective waits for the slowest rank, so total step times (``time/step_s``) come out
equal on all ranks: the slow one is visible only in the time each rank spends on its *own*
work before the first collective of the step — waiting for its batch (``time/data_s``) and
its forward (``time/forward_s``; DDP's first all-reduce starts in backward). RULES.md.

Criterion (MegaScale-style, seed digest D13 [P]): over the last ``WINDOW`` (100) steps the
ranks share, rank k's own time exceeds ``RATIO`` (1.1) × the median rank's at the same step
in at least ``SHARE`` (half) of the steps, and the median excess is at least ``MIN_COST``
(10 %) of the median step time — smaller gaps are noise, or too cheap to chase.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.ranks import Aligned, aligned, host_of, names
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt

RULE = "straggler"
SIGNALS = ("rank/",)
WINDOW = 100
MIN_STEPS = 20
RATIO = 1.1
SHARE = 0.5
MIN_COST = 0.10


def own_time(data: RunData) -> tuple[Aligned, dict[str, Aligned]] | None:
    """Per rank and step: data wait + forward (whichever of the two are reported)."""
    parts = {m: aligned(data, m, WINDOW * 2) for m in ("time/data_s", "time/forward_s")}
    present = {m: b for m, b in parts.items() if b is not None}
    if not present:
        return None
    ranks = sorted(set.intersection(*(set(b.ranks) for b in present.values())))
    steps = None
    for b in present.values():
        steps = b.steps if steps is None else np.intersect1d(steps, b.steps)
    if len(ranks) < 2 or steps is None or steps.size < MIN_STEPS:
        return None
    picked = {
        m: Aligned(ranks, steps, b.at(steps).values[[b.ranks.index(r) for r in ranks]]).tail(WINDOW)
        for m, b in present.items()
    }
    total = sum(b.values for b in picked.values())
    first = next(iter(picked.values()))
    return Aligned(ranks, first.steps, np.asarray(total)), picked


def evaluate(data: RunData) -> list[Finding]:
    found = own_time(data)
    if found is None:
        return []
    own, parts = found
    center = np.median(own.values, axis=0)
    ok = center > 0
    if ok.sum() < MIN_STEPS:
        return []
    ratio = own.values[:, ok] / center[ok]
    excess = np.median(own.values[:, ok] - center[ok], axis=1)
    step_time = _step_time(data, own)
    slow_share = np.mean(ratio > RATIO, axis=1)
    slow = [
        i
        for i in range(len(own.ranks))
        if slow_share[i] >= SHARE and np.median(ratio[i]) > RATIO and excess[i] >= MIN_COST * step_time
    ]
    if not slow:
        return []
    return [_finding(data, own, parts, slow, ratio, excess, slow_share, step_time)]


def _step_time(data: RunData, own: Aligned) -> float:
    """Median step time over the window (the ranks' own ``time/step_s``, else rank 0's)."""
    steps = aligned(data, "time/step_s", WINDOW * 2)
    if steps is not None:
        return float(np.median(steps.at(own.steps).values)) if steps.at(own.steps).n_steps else 0.0
    single = data.get("time/step_s").finite()
    return float(np.median(single.values[-WINDOW:])) if len(single) else float(np.median(own.values))


def _finding(
    data: RunData,
    own: Aligned,
    parts: dict[str, Aligned],
    slow: list[int],
    ratio: Any,
    excess: Any,
    slow_share: Any,
    step_time: float,
) -> Finding:
    ranks = [own.ranks[i] for i in slow]
    worst = max(slow, key=lambda i: float(excess[i]))
    rank = own.ranks[worst]
    others = [i for i in range(len(own.ranks)) if i not in slow]
    component: dict[str, dict[str, float]] = {}
    for metric, block in parts.items():
        mine = float(np.median(block.values[worst]))
        rest = float(np.median(block.values[others])) if others else float(np.median(block.values))
        component[metric] = {"rank": mine, "others": rest}
    culprit = max(component, key=lambda m: component[m]["rank"] - component[m]["others"])
    lost = float(excess[worst]) / step_time if step_time > 0 else None
    host = host_of(data, rank)
    on = f" on host {host}" if host else ""
    what = "waits for its batches" if culprit == "time/data_s" else "computes its forward"
    summary = (
        f"{names(ranks).capitalize()} {'is' if len(ranks) == 1 else 'are'} a straggler: rank {rank}{on} {what} in "
        f"{fmt(component[culprit]['rank'] * 1000)} ms against {fmt(component[culprit]['others'] * 1000)} ms on the other "
        f"ranks ({fmt(float(np.median(ratio[worst])))}× the median rank in {slow_share[worst]:.0%} of the last "
        f"{own.n_steps} steps)"
        + (
            f"; every rank waits for it in the all-reduce, {lost:.0%} of each step."
            if lost is not None
            else "."
        )
    )
    evidence: dict[str, Any] = {
        "signal": "rank/<k>/time/data_s, rank/<k>/time/forward_s",
        "ranks": ranks,
        "own_time_s": {str(r): float(np.median(own.values[i])) for i, r in enumerate(own.ranks)},
        "median_ratio": {str(own.ranks[i]): float(np.median(ratio[i])) for i in slow},
        "slow_share": {str(own.ranks[i]): float(slow_share[i]) for i in slow},
        "components": component,
        "median_step_s": step_time,
        "lost_share_of_step": lost,
        "threshold_ratio": RATIO,
        "threshold_share": SHARE,
        "steps": own.n_steps,
    }
    if host:
        evidence["host"] = host
    if culprit == "time/data_s":
        first = Recommendation(
            action=f"Fix rank {rank}'s input pipeline{on}",
            detail=(
                f"Rank {rank} waits {fmt(component[culprit]['rank'] * 1000)} ms for each batch, the others "
                f"{fmt(component[culprit]['others'] * 1000)} ms. Check that host's storage and CPU load (another job, "
                "a slow network mount), give its DataLoader workers (num_workers, pin_memory, prefetch_factor) and "
                "check that its shard is not heavier (longer sequences, larger images) than the others'."
            ),
            params={
                "rank": rank,
                "host": host,
                "code": "DataLoader(..., num_workers=4, pin_memory=True, prefetch_factor=4)",
            },
            references=(ref.TORCH_DATA, ref.MEGASCALE),
        )
    else:
        first = Recommendation(
            action=f"Check rank {rank}'s hardware{on}",
            detail=(
                f"Rank {rank}'s forward takes {fmt(component[culprit]['rank'] * 1000)} ms, the others' "
                f"{fmt(component[culprit]['others'] * 1000)} ms on the same model and batch size: look for a throttled "
                "or down-clocked accelerator (nvidia-smi -q -d PERFORMANCE,CLOCK,TEMPERATURE), a neighbour on the same "
                "device, or a degraded PCIe link."
            ),
            params={"rank": rank, "host": host, "code": "nvidia-smi -q -d PERFORMANCE,CLOCK,TEMPERATURE"},
            references=(ref.MEGASCALE,),
        )
    return Finding(
        rule=RULE,
        subject=f"rank {rank}",
        severity="warning",
        open=True,
        first_step=int(own.steps[0]),
        last_step=int(own.steps[-1]),
        summary=summary,
        evidence=evidence,
        recommendations=(
            first,
            Recommendation(
                action="Replace the slow host if it stays slow",
                detail=(
                    f"A synchronous job runs at its slowest rank's pace: {f'{lost:.0%} of every step' if lost else 'part of every step'} "
                    "is spent waiting. If the host cannot be fixed, restart the job without it (torchrun's elastic "
                    "restart, or exclude it from the allocation), as MegaScale's straggler workflow does."
                ),
                params={"rank": rank, "host": host, "lost_share_of_step": lost},
                references=(ref.MEGASCALE,),
            ),
        ),
    )
