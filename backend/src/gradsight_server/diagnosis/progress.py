"""How the loss is doing, for the rules that need it: how much of the progress since the start
it has given back (``divergence``, ``lr_too_high``), and whether it has stalled recently
(``vanishing_gradients``, ``lr_too_low``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradsight_server.diagnosis.signals import F64, I64, RunData, Series
from gradsight_server.diagnosis.stats import MAD_TO_SIGMA, ema, trailing_median

MIN_POINTS = 40
RISING_LOST = 0.1  # a climb is taken to start where 10 % of the progress had been given back
NOISE_UNITS = 4  # a climb (and progress) must exceed 4 noise σ of the smoothed loss
STALL = 0.01  # the smoothed loss improved by less than 1 % over the recent window


@dataclass(frozen=True)
class Progress:
    steps: I64
    lost: F64
    """Share of the progress given back, per point."""
    start: float
    best: float
    best_step: int
    now: float

    def onset(self, index: int) -> int:
        """Step where the climb that reaches ``index`` began."""
        i = index
        while i > 0 and self.lost[i - 1] >= RISING_LOST:
            i -= 1
        return int(self.steps[i])


def progress_lost(loss: Series) -> Progress | None:
    """None when the loss never clearly improved (a plateau, not something to lose)."""
    values = loss.values
    if values.size < MIN_POINTS:
        return None
    span = max(5.0, min(50.0, values.size / 10))
    # A trailing median, not an EMA: one huge spike (a bad batch) must not look like a
    # sustained climb. The median of the last `span` points ignores isolated outliers.
    smooth = trailing_median(values, int(span))
    head = max(10, values.size // 20)
    start = float(np.median(values[:head]))
    # The best is looked for after the head: a lucky first batch is not progress.
    best_so_far = np.minimum.accumulate(np.r_[np.full(head, start), smooth[head:]])
    progress = start - best_so_far
    # The smoothed loss still wanders by ~1.25·σ/√span (σ: the per-step noise; the median of n
    # Gaussian points has ~1.25× the mean's standard error). Progress and climbs smaller than a
    # few of those are noise, not learning or divergence.
    noise = 1.25 * MAD_TO_SIGMA * float(np.median(np.abs(values - smooth))) / np.sqrt(span)
    if progress.max() <= max(NOISE_UNITS * 2 * noise, 1e-12):
        return None
    climb = smooth - best_so_far
    with np.errstate(divide="ignore", invalid="ignore"):
        lost = np.where((progress > 0) & (climb > NOISE_UNITS * noise), climb / progress, 0.0)
    lost[:head] = 0.0  # nothing can be given back before anything was won
    best = head + int(np.argmin(smooth[head:])) if values.size > head else 0
    return Progress(loss.steps, lost, start, float(smooth[best]), int(loss.steps[best]), float(smooth[-1]))


def loss_stalled(data: RunData, since: int) -> tuple[bool, float]:
    """(stalled, relative change of the smoothed loss since ``since``)."""
    loss = data.get("loss").finite()
    window = loss.since(since)
    if len(window) < 10:
        window = loss
    if len(window) < 10:
        return False, float("nan")
    smooth = ema(window.values, max(5.0, len(window) / 10))
    start, end = float(smooth[len(smooth) // 10]), float(smooth[-1])
    change = (end - start) / abs(start) if start else 0.0
    return change > -STALL, change
