"""The gradient noise scale and critical batch size (McCandlish et al. 2018, "An Empirical Model
of Large-Batch Training", arXiv 1812.06162, Appendix A), from gradients the job already has.

With |G_b|² the squared norm of one rank's local gradient (batch b, measured before the
all-reduce: distributed/local_norm.py) and |G_B|² that of the global gradient (batch B = b·W
after the all-reduce), unbiased estimates of the true gradient's squared norm and of the
trace of the per-sample gradient covariance are

    |G|² ≈ (B·|G_B|² − b·|G_b|²) / (B − b)        S ≈ (|G_b|² − |G_B|²) / (1/b − 1/B)

and the simple noise scale B_simple = S / |G|² approximates the critical batch size: batches
well above it buy little speed per sample, batches well below it leave parallelism unused.
Both estimates are very noisy step to step (|G|² can even come out negative), so, as the
paper does, each is smoothed with an exponential moving average *separately* and the ratio
of the averages is reported (the EMAs' start-up bias is the same factor in both, so it
cancels in the ratio).

Only rank 0's local norm is used: averaging all ranks' local norms would need a collective
every step. The estimate is unbiased either way, just noisier with one rank; the EMA
(``GRADSIGHT_NOISE_SCALE_EMA``, default 0.99: a memory of ~100 steps) absorbs that. The unit
is samples (what ``b`` counts: the leading dimension of the model's input, or
``run.log(..., samples=)``).
"""

from __future__ import annotations

import math


class NoiseScale:
    def __init__(self, beta: float = 0.99) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError("the noise-scale EMA factor must be in [0, 1)")
        self.beta = beta
        self._g2 = 0.0
        self._s = 0.0
        self.updates = 0

    def update(self, local_sq: float, global_sq: float, b: float, world: int) -> float | None:
        """Fold in one step; returns the smoothed B_simple (samples), or None while it is not
        defined (non-finite inputs, a single rank, or averages that are not yet positive)."""
        big = b * world
        if world < 2 or b <= 0 or not (math.isfinite(local_sq) and math.isfinite(global_sq)):
            return None
        g2 = (big * global_sq - b * local_sq) / (big - b)
        s = (local_sq - global_sq) / (1.0 / b - 1.0 / big)
        self._g2 = self.beta * self._g2 + (1.0 - self.beta) * g2
        self._s = self.beta * self._s + (1.0 - self.beta) * s
        self.updates += 1
        if self._g2 <= 0.0 or self._s <= 0.0:
            return None
        return self._s / self._g2
