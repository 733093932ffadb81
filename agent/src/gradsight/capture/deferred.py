"""Tensors read on the transport thread, a step later, without a host sync on the training thread.

On CUDA a value is copied with ``non_blocking=True`` into pinned host memory and a CUDA event
is recorded after the copy; the transport thread waits on that event (a sync of *its* thread
only) and then reads the host buffer. Pinned buffers are pooled by (numel, dtype) because
``cudaHostAlloc`` costs far more than the copy. CPU tensors need none of this: their value
is already computed, so they are read at once (``.item()`` on a CPU tensor is not a sync).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import numpy as np
import numpy.typing as npt
import torch


class _PinnedPool:
    def __init__(self) -> None:
        self._free: dict[tuple[int, torch.dtype], list[torch.Tensor]] = defaultdict(list)
        self._lock = threading.Lock()

    def take(self, numel: int, dtype: torch.dtype) -> torch.Tensor:
        with self._lock:
            free = self._free[(numel, dtype)]
            if free:
                return free.pop()
        return torch.empty(numel, dtype=dtype, pin_memory=True)

    def give(self, buffer: torch.Tensor) -> None:
        with self._lock:
            free = self._free[(buffer.numel(), buffer.dtype)]
            if len(free) < 64:
                free.append(buffer)


_POOL = _PinnedPool()


class Deferred:
    """A tensor value in flight to the host. ``resolve`` is called once, off the training thread."""

    __slots__ = ("_event", "_host", "_pooled", "_value")

    def __init__(self, tensor: torch.Tensor) -> None:
        t = tensor.detach()
        self._event: Any = None
        self._pooled = False
        self._value: npt.NDArray[np.float64] | None = None
        if t.device.type == "cuda":
            host = _POOL.take(t.numel(), t.dtype)
            host.copy_(t.reshape(-1), non_blocking=True)
            self._event = torch.cuda.Event()  # type: ignore[no-untyped-call]
            self._event.record(torch.cuda.current_stream(t.device))
            self._host = host
            self._pooled = True
        elif t.device.type == "cpu":
            # Copy: the caller may keep updating this tensor in place (running sums).
            self._host = t.reshape(-1).clone()
        else:  # mps, xla, …: the transport thread's read is the sync
            self._host = t.reshape(-1).to("cpu", non_blocking=True)

    def _array(self) -> npt.NDArray[np.float64]:
        if self._value is None:
            if self._event is not None:
                self._event.synchronize()  # waits for the copy only, on this (transport) thread
            self._value = self._host.to(torch.float64).numpy().copy()
            if self._pooled:  # the pinned buffer may be reused once its value is read
                _POOL.give(self._host)
                self._pooled = False
        return self._value

    def resolve(self) -> float:
        return float(self._array()[0])

    def resolve_vector(self) -> npt.NDArray[np.float64]:
        return self._array()


def scalar(value: Any) -> float | Deferred:
    """A loggable scalar: tensors on an accelerator stay deferred; everything else is a float.

    Raises TypeError/ValueError for values that are not scalars (the caller drops them).
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"a logged tensor must hold one element, not {value.numel()}")
        if value.device.type == "cpu":
            return float(value.detach().item())
        return Deferred(value)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    raise TypeError(f"cannot log a {type(value).__name__} as a scalar")
