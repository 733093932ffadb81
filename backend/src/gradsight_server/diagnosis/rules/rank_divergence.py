"""``rank_divergence``: the ranks of a data-parallel job disagree, which the averaged loss hides
(Li et al. 2026, "Silent Inconsistency in Data-Parallel Full Fine-Tuning").

Ranks are compared *at the same step* (RULES.md): a fault present from step 0 has no
"normal" history to compare with, but it always has the other ranks. With i.i.d. shards,
every rank's local loss is the same model's loss on a different random batch, so at any
step the ranks scatter by about one rank's own step-to-step noise. Three signatures of ranks
that do not see the same data distribution:

1. **An offset rank.** Rank k's median deviation from the cross-rank median, over the
   window, is more than ``OFFSET_Z`` (3) times a rank's step-to-step noise (robust: MAD of
   first differences / √2). For i.i.d. shards that median deviation shrinks like 1/√steps,
   so even 256 healthy ranks stay far below it. Local loss and local gradient norm (before
   the all-reduce) are both checked.
2. **Conflicting gradients.** From the local norms |g_k| and the global norm |G| of the mean
   gradient, with no extra collective: Σ_{j≠k} g_j·g_k = W²|G|² − Σ|g_k|², and dividing by
   Σ_{j≠k}|g_j||g_k| gives a weighted mean of the pairwise cosines between ranks' gradients.
   For independent batches E[g_j·g_k] = |∇L|² ≥ 0, so a median below ``COSINE_CONFLICT``
   (−0.2) over the window means the ranks pull against each other (the paper's falling
   inter-worker cosine, taken to the point where it cannot be noise).
3. **Identical ranks.** Every rank reports the same local loss *and* local gradient norm at
   (nearly) every step: they computed the same batch — an unsharded sampler, the whole job
   doing one rank's work. Identical losses alone are not enough (a loop may log the
   all-reduced loss on every rank), so without local gradient norms this is only an ``info``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.ranks import Aligned, aligned, host_of, names, step_noise, world_size
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt

RULE = "rank_divergence"
SIGNALS = ("rank/", "grad_norm")
WINDOW = 200
MIN_STEPS = 20
OFFSET_Z = 3.0
"""Median cross-rank offset, in units of a rank's own step-to-step noise, that flags a rank."""
COSINE_CONFLICT = -0.2
"""Median mean-pairwise cosine between ranks' gradients below which ranks conflict ([P] seed digest D12)."""
IDENTICAL_REL = 1e-6
IDENTICAL_SHARE = 0.9
METRICS = ("loss", "grad_norm")


def offsets(block: Aligned) -> dict[str, Any]:
    """Per rank: median deviation from the cross-rank median, and its size in noise units."""
    center = np.median(block.values, axis=0)
    offset = np.median(block.values - center, axis=1)
    noise = float(np.median(step_noise(block.values)))
    floor = 1e-12 + 1e-6 * float(np.median(np.abs(block.values)))
    z = np.abs(offset) / max(noise, floor)
    return {"offset": offset, "noise": noise, "z": z}


def identical(block: Aligned) -> bool:
    spread = np.ptp(block.values, axis=0)
    scale = np.maximum(np.abs(np.median(block.values, axis=0)), 1e-12)
    return bool(np.mean(spread <= IDENTICAL_REL * scale) >= IDENTICAL_SHARE)


def pairwise_cosine(data: RunData, window: int) -> tuple[float, int] | None:
    """Median over the window of the weighted mean pairwise cosine between ranks' local
    gradients (see the module docstring), and the number of steps it is taken over."""
    local = aligned(data, "grad_norm", window)
    world = world_size(data)
    glob = data.get("grad_norm").finite()
    if local is None or world is None or len(local.ranks) != world or not len(glob):
        return None
    common = np.intersect1d(local.steps, glob.steps)
    if common.size < MIN_STEPS:
        return None
    g = local.at(common).values
    big = glob.values[np.isin(glob.steps, common)]
    sq = np.sum(g**2, axis=0)
    cross = (world * big) ** 2 - sq
    denom = np.sum(g, axis=0) ** 2 - sq
    ok = denom > 0
    if ok.sum() < MIN_STEPS:
        return None
    return float(np.median(np.clip(cross[ok] / denom[ok], -1.0, 1.0))), int(ok.sum())


def evaluate(data: RunData) -> list[Finding]:
    found = {m: aligned(data, m, WINDOW) for m in METRICS}
    blocks = {m: b.tail(WINDOW) for m, b in found.items() if b is not None and b.n_steps >= MIN_STEPS}
    if not blocks:
        return []
    findings: list[Finding] = []
    same = {m: identical(b) for m, b in blocks.items()}
    if same and all(same.values()):
        findings.append(_identical(data, blocks, "grad_norm" in blocks))
        return findings
    stats = {m: offsets(b) for m, b in blocks.items()}
    outliers = sorted(
        {b.ranks[i] for m, b in blocks.items() for i in np.flatnonzero(stats[m]["z"] > OFFSET_Z).tolist()}
    )
    cosine = pairwise_cosine(data, WINDOW)
    conflict = cosine is not None and cosine[0] < COSINE_CONFLICT
    if outliers or conflict:
        findings.append(_divergent(data, blocks, stats, outliers, cosine))
    return findings


def _span(blocks: dict[str, Aligned]) -> tuple[int, int]:
    return (
        min(int(b.steps[0]) for b in blocks.values()),
        max(int(b.steps[-1]) for b in blocks.values()),
    )


def _divergent(
    data: RunData,
    blocks: dict[str, Aligned],
    stats: dict[str, dict[str, Any]],
    outliers: list[int],
    cosine: tuple[float, int] | None,
) -> Finding:
    first, last = _span(blocks)
    n_ranks = max(len(b.ranks) for b in blocks.values())
    evidence: dict[str, Any] = {"signal": "rank/<k>/loss, rank/<k>/grad_norm, grad_norm", "ranks": n_ranks}
    parts: list[str] = []
    for metric, block in blocks.items():
        s = stats[metric]
        worst = int(np.argmax(s["z"]))
        evidence[metric] = {
            "offsets": {str(r): float(o) for r, o in zip(block.ranks, s["offset"], strict=True)},
            "noise": s["noise"],
            "z": {str(r): float(z) for r, z in zip(block.ranks, s["z"], strict=True)},
            "threshold_z": OFFSET_Z,
            "steps": block.n_steps,
        }
        if s["z"][worst] > OFFSET_Z:
            parts.append(
                f"rank {block.ranks[worst]}'s local {metric.replace('_', ' ')} sits {fmt(float(s['offset'][worst]))} "
                f"from the other ranks' at the same steps, {fmt(float(s['z'][worst]))}× a rank's own step-to-step "
                f"noise ({fmt(s['noise'])})"
            )
    if cosine is not None:
        evidence["mean_pairwise_cosine"] = cosine[0]
        evidence["cosine_threshold"] = COSINE_CONFLICT
        if cosine[0] < COSINE_CONFLICT:
            parts.append(
                f"the ranks' gradients point against each other (mean pairwise cosine {cosine[0]:.2f} over "
                f"{cosine[1]} steps; independent batches of the same data give ≥ 0)"
            )
    who = names(outliers) if outliers else "the ranks"
    evidence["outliers"] = outliers
    hosts = {str(r): h for r in outliers if (h := host_of(data, r))}
    if hosts:
        evidence["hosts"] = hosts
    if outliers:
        verb = "trains" if len(outliers) == 1 else "train"
        head = f"{who.capitalize()} {verb} on different data than the other ranks of this {n_ranks}-rank job"
    else:
        head = f"The ranks of this {n_ranks}-rank job do not train on the same data distribution"
    summary = f"{head}: " + "; ".join(parts) + ". The averaged loss hides it."
    where = f" (host {', '.join(f'{r}: {h}' for r, h in hosts.items())})" if hosts else ""
    return Finding(
        rule=RULE,
        subject="ranks",
        severity="warning",
        open=True,
        first_step=first,
        last_step=last,
        summary=summary,
        evidence=evidence,
        recommendations=(
            Recommendation(
                action=f"Check what {who} read{where}",
                detail=(
                    f"Compare {who}'s dataset path, version and preprocessing with rank 0's, and its shard: every "
                    "rank must read the same dataset through a DistributedSampler created with the same seed, "
                    "with sampler.set_epoch(epoch) called every epoch on every rank."
                ),
                params={
                    "ranks": outliers,
                    "code": "sampler = DistributedSampler(dataset, shuffle=True, seed=SEED)  # same SEED everywhere\n"
                    "for epoch in range(epochs):\n    sampler.set_epoch(epoch)",
                },
                references=(ref.SILENT, ref.TORCH_SAMPLER),
            ),
            Recommendation(
                action="Seed every rank deliberately",
                detail=(
                    "Use one seed for anything that must agree across ranks (model init, data shuffling, the "
                    "sampler) and seed + rank only for what should differ (augmentation, dropout); re-check "
                    "rank/<k>/loss and rank/<k>/grad_norm after the fix."
                ),
                params={"code": "torch.manual_seed(SEED); random.seed(SEED + rank)  # augmentation only"},
                references=(ref.SILENT,),
            ),
        ),
    )


def _identical(data: RunData, blocks: dict[str, Aligned], with_grads: bool) -> Finding:
    first, last = _span(blocks)
    n_ranks = max(len(b.ranks) for b in blocks.values())
    world = world_size(data) or n_ranks
    what = " and ".join(f"local {m.replace('_', ' ')}" for m in blocks)
    summary = (
        f"All {n_ranks} ranks report the same {what} at every step: they compute on the same batches, so "
        f"the job does {world}× the work for one rank's worth of data (the sampler is not sharded)."
    )
    if not with_grads:
        summary += (
            " Only the loss is compared (no rank-local gradient norms): if the loop logs an all-reduced "
            "loss on every rank, identical values are expected."
        )
    return Finding(
        rule=RULE,
        subject="identical batches",
        severity="warning" if with_grads else "info",
        open=True,
        first_step=first,
        last_step=last,
        summary=summary,
        evidence={
            "signal": ", ".join(f"rank/<k>/{m}" for m in blocks),
            "ranks": n_ranks,
            "steps": max(b.n_steps for b in blocks.values()),
            "identical_share_threshold": IDENTICAL_SHARE,
        },
        recommendations=(
            Recommendation(
                action="Shard the data across ranks",
                detail=(
                    f"Give the DataLoader a DistributedSampler so each of the {world} ranks reads its own 1/{world} "
                    "of every epoch, and call sampler.set_epoch(epoch) each epoch so the shuffle changes."
                ),
                params={
                    "world_size": world,
                    "code": "sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True)\n"
                    "loader = DataLoader(dataset, batch_size=per_rank_batch, sampler=sampler)",
                },
                references=(ref.TORCH_SAMPLER, ref.SILENT),
            ),
        ),
    )
