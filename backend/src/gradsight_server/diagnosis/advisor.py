"""The hyper-parameter advisor (a panel, not a rule).

Step Law (Li et al., "Predictable Scale: Part I — Optimal Hyperparameter Scaling Law in Large
Language Model Pretraining", 2025): for N non-embedding parameters and D training tokens,
η* = 1.79 · N^−0.713 · D^0.307 and B* = 0.58 · D^0.571 tokens per batch, within ~0.1 % of the
grid-search optimum for dense LLM pretraining with AdamW. It is a prior, not a verdict: it
applies to token-level language-model pretraining, so it is only offered when the run
reports tokens. The gradient noise scale (McCandlish et al. 2018) estimates the critical
batch size when the agent reports it (``grad_noise_scale``, from per-rank vs global norms).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.advice import peak_lr
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt, nice

SIGNALS = ("lr", "throughput/tokens_per_s", "throughput/samples_per_s", "time/step_s", "grad_noise_scale")
STEP_LAW_LR = (1.79, -0.713, 0.307)  # η* = a · N^b · D^c
STEP_LAW_BATCH = (0.58, 0.571)  # B* = a · D^b tokens
TOKEN_KEYS = ("total_tokens", "train_tokens", "tokens", "dataset_tokens", "num_tokens")
STEP_KEYS = ("max_steps", "total_steps", "train_steps", "num_steps", "steps", "max_iters", "iters")
FAR = 2.0  # the Step Law optimum is broad: within ~2× the loss penalty is small (seed digest D10)
MIN_PARAMS = 1e7  # below this (and MIN_TOKENS), the law is extrapolated far from the LLM pretraining
MIN_TOKENS = 1e8  # runs it was fitted on: the numbers are shown, not recommended


def _config_number(config: Any, keys: tuple[str, ...]) -> float | None:
    if not isinstance(config, dict):
        return None
    for key in keys:
        value = config.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def tokens_per_step(data: RunData, key: str = "throughput/tokens_per_s") -> float | None:
    tps = data.get(key).finite()
    step = data.get("time/step_s").finite()
    if not len(tps) or not len(step):
        return None
    common = np.intersect1d(tps.steps, step.steps)
    if not common.size:
        return None
    per_step = tps.values[np.isin(tps.steps, common)] * step.values[np.isin(step.steps, common)]
    return float(np.median(per_step[-200:]))


def advise(data: RunData) -> dict[str, Any]:
    params = data.metadata.get("params") or {}
    n = params.get("non_embedding") or params.get("total")
    per_step = tokens_per_step(data)
    d, d_source = _config_number(data.config, TOKEN_KEYS), "config"
    if d is None and per_step:
        planned = _config_number(data.config, STEP_KEYS)
        if planned:
            d, d_source = per_step * planned, "tokens per step × planned steps (config)"
        else:
            d, d_source = per_step * (data.last_step + 1), "tokens so far (no planned length in the config)"
    lr = peak_lr(data)
    out: dict[str, Any] = {
        "run_id": data.run_id,
        "inputs": {
            "non_embedding_params": n,
            "tokens": d,
            "tokens_source": d_source if d else None,
            "tokens_per_step": per_step,
            "peak_lr": lr,
        },
        "step_law": None,
        "gradient_noise_scale": _noise_scale(data),
        "recommendations": [],
        "references": [ref.STEP_LAW.as_dict(), ref.MCCANDLISH.as_dict()],
    }
    noise = out["gradient_noise_scale"]
    if noise is not None and "recommendation" in noise:
        out["recommendations"].append(noise["recommendation"])
    if not (isinstance(n, (int, float)) and n > 0 and d and d > 0 and per_step):
        out["note"] = (
            "Step Law applies to language-model pretraining: it needs the non-embedding parameter count "
            "(sent by run.watch) and token throughput (token-id inputs, or run.log(..., tokens=))."
        )
        return out
    a, b, c = STEP_LAW_LR
    lr_star = a * n**b * d**c
    batch_star = STEP_LAW_BATCH[0] * d ** STEP_LAW_BATCH[1]
    in_regime = n >= MIN_PARAMS and d >= MIN_TOKENS
    out["step_law"] = {"lr": lr_star, "batch_tokens": batch_star, "in_fitted_regime": in_regime}
    recs = out["recommendations"] if in_regime else []
    if not in_regime:
        out["note"] = (
            f"N = {fmt(float(n))} parameters and D = {fmt(d)} tokens are far below the LLM pretraining runs Step "
            "Law was fitted on: its numbers are an extrapolation here, shown for orientation only."
        )
    if lr is not None and lr > 0:
        ratio = lr / lr_star
        out["step_law"]["lr_ratio"] = ratio
        if ratio > FAR or ratio < 1 / FAR:
            recs.append(
                {
                    "action": "Move the peak learning rate towards the Step Law prior",
                    "detail": f"Peak LR {fmt(lr)} is {fmt(ratio)}× the prior {fmt(lr_star)} for N = {fmt(float(n))}, "
                    f"D = {fmt(d)} tokens; try {fmt(nice(lr_star))}.",
                    "params": {"lr": {"from": lr, "to": nice(lr_star)}},
                    "references": [ref.STEP_LAW.as_dict()],
                }
            )
    ratio_b = per_step / batch_star
    out["step_law"]["batch_ratio"] = ratio_b
    if ratio_b > FAR or ratio_b < 1 / FAR:
        recs.append(
            {
                "action": "Move the batch size towards the Step Law prior",
                "detail": f"{fmt(per_step)} tokens per step is {fmt(ratio_b)}× the prior {fmt(batch_star)} for "
                f"D = {fmt(d)} tokens (re-tune the learning rate with it).",
                "params": {"batch_tokens": {"from": per_step, "to": nice(batch_star)}},
                "references": [ref.STEP_LAW.as_dict()],
            }
        )
    return out


NOISE_FAR = 10.0
"""A batch more than 10× above (or below) the noise scale is flagged (prior-art table: B > 10·B_simple
wastes compute, B < 0.1·B_simple leaves parallelism unused)."""


def _noise_scale(data: RunData) -> dict[str, Any] | None:
    """McCandlish et al.'s critical batch size (the agent's smoothed B_simple, in samples)
    against the job's global batch: rank 0's samples per step × the world size."""
    gns = data.get("grad_noise_scale").finite()
    if not len(gns):
        return None
    recent = float(np.median(gns.values[-50:]))
    out: dict[str, Any] = {
        "critical_batch": recent,
        "steps": len(gns),
        "note": "Batches well above this size waste compute; well below it, steps are noise-dominated.",
    }
    local = tokens_per_step(data, "throughput/samples_per_s")
    world = data.metadata.get("world_size")
    if local and isinstance(world, int) and world > 0 and recent > 0:
        batch = local * world
        ratio = batch / recent
        out.update({"batch": batch, "batch_ratio": ratio})
        if ratio > NOISE_FAR:
            out["recommendation"] = {
                "action": "The batch is far above the critical batch size",
                "detail": f"{fmt(batch)} samples per step is {fmt(ratio)}× the gradient noise scale ({fmt(recent)}): "
                f"each extra sample buys little progress. A batch near {fmt(nice(recent))} (with the learning rate "
                "re-tuned) reaches the same loss with less compute; or keep it and spend the compute on a larger model.",
                "params": {"batch": {"from": batch, "to": nice(recent)}},
                "references": [ref.MCCANDLISH.as_dict()],
            }
        elif ratio < 1 / NOISE_FAR:
            out["recommendation"] = {
                "action": "The batch is far below the critical batch size",
                "detail": f"{fmt(batch)} samples per step is {fmt(ratio)}× the gradient noise scale ({fmt(recent)}): "
                "steps are noise-dominated, so more data parallelism (more ranks, or a larger per-rank batch) would "
                "speed training up almost linearly.",
                "params": {"batch": {"from": batch, "to": nice(recent)}},
                "references": [ref.MCCANDLISH.as_dict()],
            }
    return out
