"""A step's rank-local gradient statistics, resolved on the transport thread (no host sync on
the training thread): the local norm, sampled per-parameter local norms and, on rank 0, the
gradient noise scale from the local norm and the step's global norm."""

from __future__ import annotations

import math

import torch

from gradsight.capture.deferred import Deferred
from gradsight.capture.gradients import GradNorms
from gradsight.distributed.keys import LOCAL_NORM
from gradsight.distributed.noise_scale import NoiseScale


class RankGradStats:
    def __init__(
        self,
        local_sq: torch.Tensor | None,
        layers: list[tuple[list[str], torch.Tensor]],
        norms: GradNorms | None,
        world_size: int,
        estimator: NoiseScale | None,
    ) -> None:
        self._sq = Deferred(local_sq) if local_sq is not None else None
        self._layers = [(names, Deferred(vector)) for names, vector in layers]
        self._norms = norms
        self._world = world_size
        self._estimator = estimator
        self.samples = 0
        """This rank's samples in the step (set when the step ends or ``run.log(samples=)``)."""

    def resolve(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self._sq is not None:
            local_sq = self._sq.resolve()
            out[LOCAL_NORM] = math.sqrt(local_sq) if local_sq >= 0 else local_sq
            total = self._norms.total if self._norms is not None else None
            if self._estimator is not None and total is not None and self.samples > 0:
                gns = self._estimator.update(local_sq, total * total, float(self.samples), self._world)
                if gns is not None:
                    out["grad_noise_scale"] = gns
        for names, deferred in self._layers:
            for name, value in zip(names, deferred.resolve_vector().tolist(), strict=True):
                out[f"{LOCAL_NORM}/{name}"] = value
        return out
