"""``memory_headroom``: the accelerator's memory is largely unused, so the batch or the
sequence could grow (better throughput per step). SageMaker's BatchSize profiler rule fires
when p95 GPU memory is under 70 %; here the p95 of ``memory/reserved_gb`` under ``SHARE``
(50 %) of the device's memory over the recent window. An efficiency observation (``info``)."""

from __future__ import annotations

import math

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt

RULE = "memory_headroom"
SIGNALS = ("memory/reserved_gb",)
SHARE = 0.5
USABLE = 0.85  # leave room for fragmentation and peaks
WINDOW = 500
MIN_POINTS = 20


def evaluate(data: RunData) -> list[Finding]:
    reserved = data.get("memory/reserved_gb").finite()
    total = data.metadata.get("gpu_memory_gb")
    if len(reserved) < MIN_POINTS or not isinstance(total, (int, float)) or total <= 0:
        return []
    p95 = float(np.percentile(reserved.values[-WINDOW:], 95))
    if p95 >= SHARE * total:
        return []
    factor = max(1, math.floor(USABLE * total / max(p95, 1e-6)))
    return [
        Finding(
            rule=RULE,
            subject="memory",
            severity="info",
            open=True,
            first_step=int(reserved.steps[-min(WINDOW, len(reserved))]),
            last_step=int(reserved.steps[-1]),
            summary=(
                f"The run reserves at most {fmt(p95)} GB of the accelerator's {fmt(float(total))} GB "
                f"({p95 / total:.0%}): the batch (or sequence length) could grow about {factor}×."
            ),
            evidence={
                "signal": "memory/reserved_gb",
                "p95_reserved_gb": p95,
                "total_gb": float(total),
                "share": p95 / total,
                "threshold": SHARE,
            },
            recommendations=(
                Recommendation(
                    action="Use the free memory",
                    detail=(
                        f"Increase the batch size up to ~{factor}× (or the sequence length), re-tuning the learning "
                        "rate (roughly ∝ √batch for Adam); or keep the batch and drop activation checkpointing."
                    ),
                    params={"batch_size_factor": factor},
                    references=(ref.SMD_PROFILER,),
                ),
            ),
        )
    ]
