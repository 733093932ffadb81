"""``low_mfu``: model FLOPs utilisation far below what the hardware allows.

MFU = model FLOPs per step / step time / peak FLOP/s (Megatron-LM's measure; MegaScale reports
55 % on 12,288 GPUs, well-tuned LLM training sits around 40–55 %). Under ``THRESHOLD`` (10 %)
in the median of the recent window the accelerator is mostly idle or stalled."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.signals import RunData

RULE = "low_mfu"
SIGNALS = ("mfu", "time/data_s", "time/step_s")
THRESHOLD = 0.10
WINDOW = 200
MIN_POINTS = 20


def evaluate(data: RunData) -> list[Finding]:
    mfu = data.get("mfu").finite()
    if len(mfu) < MIN_POINTS:
        return []
    median = float(np.median(mfu.values[-WINDOW:]))
    if median >= THRESHOLD:
        return []
    wait = data.get("time/data_s").finite()
    step = data.get("time/step_s").finite()
    data_share = (
        float(np.median(wait.values[-WINDOW:]) / np.median(step.values[-WINDOW:]))
        if len(wait) and len(step)
        else None
    )
    hints = [
        "use bf16 autocast (tensor cores) and SDPA/flash attention",
        "compile the model (torch.compile) and use the fused optimizer (AdamW fused=True)",
        "grow the per-device batch until memory is ~85 % used",
    ]
    if data_share is not None and data_share > 0.1:
        hints.insert(0, f"remove the input-pipeline wait ({data_share:.0%} of each step)")
    return [
        Finding(
            rule=RULE,
            subject="throughput",
            severity="warning",
            open=True,
            first_step=int(mfu.steps[-min(WINDOW, len(mfu))]),
            last_step=int(mfu.steps[-1]),
            summary=f"Model FLOPs utilisation is {median:.1%} of the accelerator's peak (well-tuned training reaches 40–55 %).",
            evidence={
                "signal": "mfu",
                "median": median,
                "threshold": THRESHOLD,
                "data_wait_share": data_share,
                "flops_per_step": data.metadata.get("flops_per_step"),
            },
            recommendations=(
                Recommendation(
                    action="Feed the accelerator",
                    detail="; ".join(hints).capitalize() + ".",
                    params={"code": "torch.optim.AdamW(params, lr=..., fused=True)"},
                    references=(ref.MEGATRON, ref.KAPLAN),
                ),
            ),
        )
    ]
