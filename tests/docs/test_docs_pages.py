"""The documentation keeps its promises: every metric name of the contract is explained in
concepts.md, and relative links between pages resolve."""

from __future__ import annotations

import re

from tests.support.procs import REPO

DOCS = REPO / "docs"

# ARCHITECTURE.md ⚑ Metric names (scalars, then per-parameter and per-module families, then
# per-rank scalars): each must have its row in concepts.md.
CONTRACT_METRICS = [
    "loss",
    "val/loss",
    "lr",
    "lr/<group>",
    "grad_norm",
    "grad_norm/post_clip",
    "clip/applied",
    "update_ratio",
    "throughput/samples_per_s",
    "throughput/tokens_per_s",
    "time/step_s",
    "time/data_s",
    "time/forward_s",
    "time/backward_s",
    "time/optimizer_s",
    "mfu",
    "memory/allocated_gb",
    "memory/reserved_gb",
    "memory/rss_gb",
    "gpu/util",
    "gpu/power_w",
    "amp/loss_scale",
    "amp/skipped",
    "grad_noise_scale",
    "agent/errors",
    "agent/dropped_points",
    "grad_norm/<p>",
    "param_norm/<p>",
    "update_ratio/<p>",
    "spike_frac/<p>",
    "eps_frac/<p>",
    "nonfinite/<p>",
    "spectral/top_sv/<p>",
    "spectral/stable_rank/<p>",
    "spectral/alpha/<p>",
    "act/dead_frac/<m>",
    "act/saturated_frac/<m>",
    "act/max_abs/<m>",
    "act/kurtosis/<m>",
    "rank/<k>/loss",
    "rank/<k>/grad_norm",
    "rank/<k>/time/step_s",
    "rank/<k>/time/data_s",
    "rank/<k>/time/forward_s",
]

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_concepts_explains_every_metric_of_the_contract() -> None:
    text = (DOCS / "concepts.md").read_text()
    rows = {m for m in CONTRACT_METRICS if f"`{m}`" in text}
    assert rows == set(CONTRACT_METRICS), sorted(set(CONTRACT_METRICS) - rows)


def test_relative_links_resolve() -> None:
    broken = []
    for page in [*DOCS.glob("*.md"), REPO / "README.md"]:
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if (page.parent / target).exists():
                continue
            broken.append(f"{page.relative_to(REPO)} → {target}")
    assert not broken, broken
