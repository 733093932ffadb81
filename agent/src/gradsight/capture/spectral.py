"""Spectral statistics of weight matrices, each measured every ``every`` steps, the work
spread over the steps (one matrix at a time, rotating), so no step pays for all of them.

Per visit, on the parameter's device, with no host sync:
- σ_max by power iteration, warm-started from the matrix's previous right singular vector
  (the persistent vectors are the only memory kept: one float32 vector per matrix, of the
  matrix's input width); ``COLD_ITERS`` iterations the first time, ``WARM_ITERS`` after;
- ‖W‖²_F, so stable rank = ‖W‖²_F / σ²_max.
For matrices up to ``EXACT_MAX_ELEMENTS`` with a short side up to ``EXACT_MAX_SIDE``, the
smaller Gram matrix (WᵀW or WWᵀ, float32) is formed on the device instead and only it is
copied to the host, where the transport thread takes its eigenvalues (the σ², in float64):
σ_max and stable rank are then exact, and the heavy-tail exponent α of the eigenvalue
spectrum is fitted (:mod:`gradsight.capture.powerlaw`).
Convolution kernels are measured as (out_channels, in_channels·kh·kw) matrices, as
WeightWatcher does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gradsight.capture.deferred import Deferred
from gradsight.capture.powerlaw import fit_alpha

COLD_ITERS = 30
WARM_ITERS = 4
EXACT_MAX_ELEMENTS = 2**21  # 2M elements: the Gram product stays a few ms on the device
EXACT_MAX_SIDE = 1024  # eigvalsh of a 1024² matrix: ~0.1 s on the transport thread


class SpectralPending:
    def __init__(
        self, name: str, sigma: Deferred, fro2: Deferred, matrix: Deferred | None, shape: tuple[int, int]
    ) -> None:
        self._name, self._sigma, self._fro2, self._matrix, self._shape = name, sigma, fro2, matrix, shape

    def resolve(self) -> dict[str, float]:
        name = self._name
        if self._matrix is not None:
            side = min(self._shape)
            gram = self._matrix.resolve_vector().reshape(side, side)
            if not np.isfinite(gram).all():
                return {f"spectral/top_sv/{name}": float("nan"), f"spectral/stable_rank/{name}": float("nan")}
            lam = np.clip(np.linalg.eigvalsh(gram)[::-1], 0.0, None)
            alpha, _, _ = fit_alpha(lam)
            top = float(np.sqrt(lam[0]))
            out = {
                f"spectral/top_sv/{name}": top,
                f"spectral/stable_rank/{name}": float(lam.sum() / lam[0]) if lam[0] > 0 else float("nan"),
            }
            if np.isfinite(alpha):
                out[f"spectral/alpha/{name}"] = alpha
            return out
        sigma = self._sigma.resolve()
        fro2 = self._fro2.resolve()
        return {
            f"spectral/top_sv/{name}": sigma,
            f"spectral/stable_rank/{name}": fro2 / (sigma * sigma) if sigma > 0 else float("nan"),
        }


class Spectral:
    def __init__(
        self, named: Sequence[tuple[str, torch.nn.Parameter]], include: set[str] | None, every: int
    ) -> None:
        self._items = [
            (n, p)
            for n, p in named
            if p.dim() >= 2
            and min(p.shape[0], p.numel() // p.shape[0]) >= 2
            and (include is None or n in include)
        ]
        self._vectors: dict[str, torch.Tensor] = {}
        self._cursor = 0
        # Visit one matrix every `interval` steps so each is measured about every `every` steps.
        self._interval = max(1, every // max(1, len(self._items)))

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self._items]

    def due(self, step: int) -> bool:
        return bool(self._items) and step % self._interval == 0

    @torch.no_grad()
    def measure_next(self) -> SpectralPending:
        name, param = self._items[self._cursor]
        self._cursor = (self._cursor + 1) % len(self._items)
        w = param.detach().reshape(param.shape[0], -1).float()
        shape = (int(w.shape[0]), int(w.shape[1]))
        if w.numel() <= EXACT_MAX_ELEMENTS and min(shape) <= EXACT_MAX_SIDE:
            # All singular values, as eigenvalues of the smaller Gram matrix: formed here, where
            # the weights are (one small matmul), diagonalised on the transport thread. Only
            # the min(m, n)² Gram matrix travels to the host.
            gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
            copy = Deferred(gram)
            return SpectralPending(name, copy, copy, copy, shape)
        v = self._vectors.get(name)
        iters = WARM_ITERS
        if v is None:
            # A private generator: the agent must never advance the user's RNG streams.
            gen = torch.Generator().manual_seed(len(name) * 7919 + w.shape[1])
            v = torch.randn(w.shape[1], generator=gen).to(w.device)
            v = v / torch.linalg.vector_norm(v)
            iters = COLD_ITERS
        for _ in range(iters):
            u = w @ v
            u = u / torch.linalg.vector_norm(u).clamp_min(1e-30)
            v = w.T @ u
            sigma = torch.linalg.vector_norm(v)
            v = v / sigma.clamp_min(1e-30)
        self._vectors[name] = v
        return SpectralPending(name, Deferred(sigma), Deferred(w.square().sum()), None, shape)
