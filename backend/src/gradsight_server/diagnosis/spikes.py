"""Spike events in a positive series (loss, gradient norm), for ``loss_spike`` and ``grad_spike``.

A point is a spike when its robust z-score against the trailing window — median and MAD of
the previous ``WINDOW`` points, in log space so the scale of the series does not matter — is
above ``Z``. RULES.md starts at ~5; OLMo 2's spike score counts points ≥ 7σ from a rolling
mean; ZClip clips at z > 2.5 (too eager for a diagnosis). Z = 6 keeps noisy small-batch runs
quiet. Spikes within ``MERGE`` steps are one event. An event has *recovered* when the
series is back within the pre-spike band for ``SETTLE`` consecutive points within
``RECOVERY`` steps (BLOOM saw recoveries take up to ~2k steps at scale; tiny runs recover in
tens). RULES.md principle 2: decide after evidence, record whether the run recovered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradsight_server.diagnosis.signals import Series
from gradsight_server.diagnosis.stats import MAD_TO_SIGMA, runs, trailing_median_mad

WINDOW = 100
Z = 6.0
MERGE = 5
RECOVERY = 200
SETTLE = 5
LOG_FLOOR = 0.02  # a σ of at least 2 % in log space: a flat history does not make wiggles spikes


@dataclass(frozen=True)
class Spike:
    onset: int
    peak_step: int
    peak: float
    baseline: float
    z: float
    recovered_at: int | None

    @property
    def ratio(self) -> float:
        return self.peak / self.baseline if self.baseline > 0 else float("inf")

    def as_dict(self) -> dict[str, object]:
        return {
            "onset": self.onset,
            "peak_step": self.peak_step,
            "peak": self.peak,
            "baseline": self.baseline,
            "z": round(self.z, 1),
            "ratio": round(self.ratio, 2),
            "recovered_at": self.recovered_at,
        }


def find_spikes(series: Series, window: int = WINDOW, z: float = Z) -> list[Spike]:
    s = series.finite()
    s = s.where(s.values > 0)
    if len(s) <= window:
        return []
    logs = np.log(s.values)
    med, mad = trailing_median_mad(logs, window)
    with np.errstate(invalid="ignore"):
        scores = (logs - med) / np.maximum(MAD_TO_SIGMA * mad, LOG_FLOOR)
    events: list[Spike] = []
    for a, b in _merged(runs(scores > z)):
        peak_i = a + int(np.argmax(logs[a : b + 1]))
        base = float(np.exp(med[a]))
        band = med[a] + 3 * max(MAD_TO_SIGMA * mad[a], LOG_FLOOR)
        events.append(
            Spike(
                onset=int(s.steps[a]),
                peak_step=int(s.steps[peak_i]),
                peak=float(s.values[peak_i]),
                baseline=base,
                z=float(scores[peak_i]),
                recovered_at=_recovery(s, logs, b, band),
            )
        )
    return events


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a - out[-1][1] <= MERGE:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _recovery(s: Series, logs: np.ndarray, end: int, band: float) -> int | None:
    limit = int(np.searchsorted(s.steps, s.steps[end] + RECOVERY, side="right"))
    inside = logs[end + 1 : limit] <= band
    for a, b in runs(inside):
        if b - a + 1 >= SETTLE:
            return int(s.steps[end + 1 + a])
    return None


def spike_finding_shape(events: list[Spike], last_step: int, recurring: int, recent: int) -> tuple[str, bool]:
    """(severity, open) for a list of events: recurring spikes are a warning; a single one is an
    observation unless it failed to recover; open while the last one is recent or unrecovered."""
    unrecovered = [e for e in events if e.recovered_at is None and last_step - e.peak_step >= RECOVERY]
    severity = "warning" if len(events) >= recurring or unrecovered else "info"
    latest = events[-1]
    is_open = last_step - latest.peak_step <= recent or latest.recovered_at is None
    return severity, is_open
