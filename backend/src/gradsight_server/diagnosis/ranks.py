"""Per-rank series of a data-parallel run (``rank/<k>/<metric>``, ARCHITECTURE.md ⚑), lined up
at the steps every reporting rank has, so rules compare ranks *at the same step*."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradsight_server.diagnosis.signals import F64, I64, RunData

RANK_KEY = re.compile(r"^rank/(\d+)/(.+)$")
MAD_TO_STD = 1.4826
"""Scales a median absolute deviation to a standard deviation for normal noise."""


@dataclass(frozen=True)
class Aligned:
    ranks: list[int]
    steps: I64
    values: F64
    """Shape (ranks, steps): finite values only (a step missing on any rank is left out)."""

    @property
    def n_steps(self) -> int:
        return int(self.steps.size)

    def tail(self, n: int) -> Aligned:
        return Aligned(self.ranks, self.steps[-n:], self.values[:, -n:])

    def at(self, steps: I64) -> Aligned:
        keep = np.isin(self.steps, steps)
        return Aligned(self.ranks, self.steps[keep], self.values[:, keep])


def rank_metrics(data: RunData) -> dict[str, dict[int, str]]:
    """{metric: {rank: key}} for every ``rank/<k>/<metric>`` key of the run."""
    out: dict[str, dict[int, str]] = {}
    for key in data.series:
        match = RANK_KEY.match(key)
        if match:
            out.setdefault(match.group(2), {})[int(match.group(1))] = key
    return out


def aligned(data: RunData, metric: str, window: int) -> Aligned | None:
    """The ranks reporting ``metric`` within the run's last ``window`` steps, at the steps
    where all of them have a finite value; None with fewer than two ranks. A rank that
    stopped reporting (killed) is left out rather than cutting every rank's history short."""
    keys = rank_metrics(data).get(metric, {})
    if len(keys) < 2:
        return None
    since = data.last_step - window
    series = {rank: data.get(key).since(since).finite() for rank, key in sorted(keys.items())}
    latest = max((s.last_step or -1) for s in series.values())
    # Ranks whose reports reach the last quarter of the window are the live ones.
    live = {r: s for r, s in series.items() if len(s) and (s.last_step or -1) >= latest - window // 4}
    if len(live) < 2:
        return None
    common = None
    for s in live.values():
        common = s.steps if common is None else np.intersect1d(common, s.steps)
    assert common is not None
    values = np.vstack([s.values[np.isin(s.steps, common)] for s in live.values()])
    return Aligned(sorted(live), common, values)


def step_noise(values: F64) -> F64:
    """Each rank's own step-to-step noise: a robust standard deviation of its first
    differences, divided by √2 (the difference of two independent draws has twice the
    variance). Trends inflate it, which only makes the comparison more conservative."""
    diffs = np.diff(values, axis=1)
    mad = np.median(np.abs(diffs - np.median(diffs, axis=1, keepdims=True)), axis=1)
    result: F64 = MAD_TO_STD * mad / np.sqrt(2.0)
    return result


def world_size(data: RunData) -> int | None:
    dist = data.metadata.get("distributed")
    size = dist.get("world_size") if isinstance(dist, dict) else data.metadata.get("world_size")
    return int(size) if isinstance(size, int) and size > 0 else None


def host_of(data: RunData, rank: int) -> str | None:
    entry: Any = data.metadata.get(f"rank/{rank}")
    host = entry.get("host") if isinstance(entry, dict) else None
    return str(host) if host else None


def names(ranks: list[int]) -> str:
    """ "rank 3", "ranks 1 and 4", "ranks 1, 2 and 5"."""
    if len(ranks) == 1:
        return f"rank {ranks[0]}"
    return "ranks " + ", ".join(str(r) for r in ranks[:-1]) + f" and {ranks[-1]}"
