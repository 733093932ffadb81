"""``input_pipeline_bound``: the model waits for data.

``time/data_s`` (end of one step to the next forward) against ``time/step_s``: when the
median wait over the recent window exceeds ``SHARE`` (30 %, RULES.md) of the median step,
the input pipeline sets the pace. Medians keep an occasional evaluation or checkpoint step
from triggering it (SageMaker's profiler rules use window percentiles for the same reason)."""

from __future__ import annotations

import math

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt

RULE = "input_pipeline_bound"
SIGNALS = ("time/data_s", "time/step_s")
SHARE = 0.3
WINDOW = 200
MIN_STEPS = 20


def evaluate(data: RunData) -> list[Finding]:
    data_s = data.get("time/data_s").finite()
    step_s = data.get("time/step_s").finite()
    if len(data_s) < MIN_STEPS or len(step_s) < MIN_STEPS:
        return []
    wait = float(np.median(data_s.values[-WINDOW:]))
    step = float(np.median(step_s.values[-WINDOW:]))
    if step <= 0 or wait / step <= SHARE:
        return []
    share = wait / step
    compute = max(step - wait, 1e-9)
    cores = data.metadata.get("cpu_count")
    workers = max(2, math.ceil(wait / compute) + 1)
    if isinstance(cores, int) and cores > 1:
        workers = min(workers, cores - 1)
    first = int(data_s.steps[-min(WINDOW, len(data_s))])
    return [
        Finding(
            rule=RULE,
            subject="input pipeline",
            severity="warning",
            open=True,
            first_step=first,
            last_step=int(data_s.steps[-1]),
            summary=(
                f"The model waits {fmt(wait * 1000)} ms for each batch, {share:.0%} of the {fmt(step * 1000)} ms step: "
                f"the input pipeline sets the pace (up to {fmt(step / compute)}× faster without the wait)."
            ),
            evidence={
                "signal": "time/data_s, time/step_s",
                "median_data_s": wait,
                "median_step_s": step,
                "share": share,
                "threshold": SHARE,
            },
            recommendations=(
                Recommendation(
                    action="Load data in parallel with training",
                    detail=(
                        f"Move decoding and augmentation into DataLoader workers: num_workers={workers} (enough to "
                        f"produce a batch every {fmt(compute * 1000)} ms when one takes {fmt(wait * 1000)} ms), "
                        "pin_memory=True, persistent_workers=True and prefetch_factor=4 so batches are ready "
                        "before the step asks."
                    ),
                    params={
                        "num_workers": workers,
                        "pin_memory": True,
                        "persistent_workers": True,
                        "prefetch_factor": 4,
                        "code": f"DataLoader(dataset, batch_size=..., num_workers={workers}, pin_memory=True, "
                        "persistent_workers=True, prefetch_factor=4)",
                    },
                    references=(ref.TORCH_DATA,),
                ),
            ),
        )
    ]
