"""The rank-local gradient norm, measured before DDP's all-reduce, with a DDP communication hook.

By ``optimizer.step()`` every rank's ``.grad`` already holds the all-reduced (global) mean
gradient: DDP reduces buckets *during* backward. The only documented place that sees a
bucket's local gradient is a communication hook (``DistributedDataParallel.
register_comm_hook``): ours takes the bucket's 2-norm (one read of the bucket, float32
accumulation, no host sync: the value is read a step later by the transport thread) and
then runs exactly what DDP runs without a hook (divide by the world size, ``all_reduce``,
``default_hooks.allreduce_hook``). Costs: one extra read of the gradients per step (the
same order as the global norm the agent already takes), a Python call per bucket (DDP's
default buckets are 25 MB, so a handful per step), and the reduction itself runs through the
Python hook path instead of DDP's built-in C++ one. ``GRADSIGHT_DDP_HOOK=false`` turns it off
(no local norm then, hence no ``rank/<k>/grad_norm`` and no gradient noise scale).

Why not per-parameter gradient hooks: a hook per parameter is a Python call and a kernel
launch per tensor per step, and with ``gradient_as_bucket_view=True`` ``.grad`` *is* the
bucket, which the asynchronous all-reduce overwrites in place: the hook would race it.

DDP accepts one communication hook. If the user already registered one, we cannot wrap it
from outside: the local norm is then off and a warning shows how to keep both
(``gradsight.distributed.local_norm.measured(hook)``). A hook the user registers *after*
``watch`` is run by ours (the instance's ``register_comm_hook`` is replaced), so their call
still works. With ``no_sync`` micro-steps DDP does not reduce, so the hook only runs on the
micro-step that syncs, when the bucket holds the whole step's accumulated local gradient.

This module deliberately does not use ``from __future__ import annotations``: DDP checks
the hook's annotations at registration and compares them with the real classes.
"""

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch._C._distributed_c10d import GradBucket
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel

log = logging.getLogger("gradsight")

Hook = Callable[[Any, GradBucket], torch.futures.Future[torch.Tensor]]


class LocalGradNorm:
    """Collects one step's local bucket norms (and, on sampled steps, per-parameter norms)."""

    def __init__(self, ddp: DistributedDataParallel, names: dict[int, str], register: bool = True) -> None:
        self.process_group = ddp.process_group
        self.inner: tuple[Hook, Any] | None = None
        self.layers_due = False
        """Set by the watcher on steps whose per-parameter local norms are wanted."""
        self.active = True
        """Cleared by ``run.finish``: DDP cannot unregister a hook, so ours stops measuring."""
        self._names = names
        self._norms: list[torch.Tensor] = []
        self._layers: list[tuple[list[str], torch.Tensor]] = []
        if register:
            ddp.register_comm_hook(self, _measured_allreduce)
            ddp.register_comm_hook = self._register_inner  # type: ignore[method-assign]
        else:  # the user's hook is wrapped with measured(): it reports to us
            _ACTIVE.append(self)

    def _register_inner(self, state: Any, hook: Hook) -> None:
        """A hook registered after ``watch``: ours measures, then hands the bucket to it."""
        self.inner = (hook, state)

    def observe(self, bucket: GradBucket) -> None:
        if not self.active:
            return
        buffer = bucket.buffer()
        self._norms.append(torch.linalg.vector_norm(buffer, 2, dtype=torch.float32))
        if self.layers_due:
            grads = bucket.gradients()
            params = bucket.parameters()
            if grads:
                norms = torch._foreach_norm(grads, 2, dtype=torch.float32)
                names = [self._names.get(id(p), f"param{i}") for i, p in enumerate(params)]
                self._layers.append((names, torch.stack(norms)))

    def detach(self) -> None:
        self.active = False
        self.reset()
        if self in _ACTIVE:
            _ACTIVE.remove(self)

    def reset(self) -> None:
        self._norms.clear()
        self._layers.clear()

    def take(self) -> tuple[torch.Tensor | None, list[tuple[list[str], torch.Tensor]]]:
        """(sum of squares of this step's local gradient, per-parameter local norms) and reset.
        None when no bucket was reduced (no backward, or every micro-step under ``no_sync``)."""
        norms, layers = self._norms, self._layers
        self._norms, self._layers = [], []
        if not norms:
            return None, layers
        total = torch.stack(norms).square().sum() if len(norms) > 1 else norms[0].square()
        return total, layers


def _measured_allreduce(state: LocalGradNorm, bucket: GradBucket) -> torch.futures.Future[torch.Tensor]:
    try:
        state.observe(bucket)
    except Exception as exc:  # measuring must never stop the reduction
        log.warning("gradsight: local gradient norm failed: %s", exc)
    if state.inner is not None:
        hook, user_state = state.inner
        return hook(user_state, bucket)
    return default_hooks.allreduce_hook(state.process_group, bucket)


def measured(hook: Hook) -> Hook:
    """Wrap your own DDP communication hook so the agent still sees the local gradient:
    ``ddp.register_comm_hook(state, gradsight.distributed.local_norm.measured(my_hook))``
    *before* ``run.watch``. The local norms go to the run being watched."""

    def wrapper(state: Any, bucket: GradBucket) -> torch.futures.Future[torch.Tensor]:
        for watcher in _ACTIVE:
            watcher.observe(bucket)
        return hook(state, bucket)

    wrapper.__name__ = getattr(hook, "__name__", "measured_hook")
    wrapper._gradsight_measured = True  # type: ignore[attr-defined]
    return wrapper


_ACTIVE: list[LocalGradNorm] = []


def attach(model: torch.nn.Module, names: dict[int, str]) -> LocalGradNorm | None:
    """Measure ``model``'s local gradients if it is a DDP module; None otherwise (or when a
    hook is already registered and is not ``measured``)."""
    if not isinstance(model, DistributedDataParallel):
        return None
    existing = getattr(model, "_comm_hooks", [])
    if existing:
        hook = existing[0][0]
        if getattr(hook, "_gradsight_measured", False):
            return LocalGradNorm(model, names, register=False)
        log.warning(
            "gradsight: this DDP model already has a communication hook (%s), so the rank-local "
            "gradient norm (rank/<k>/grad_norm) and the gradient noise scale are off. Register it "
            "as gradsight.distributed.local_norm.measured(hook) before run.watch to keep both.",
            getattr(hook, "__qualname__", hook),
        )
        return None
    return LocalGradNorm(model, names)
