"""Process and device gauges sampled on the transport thread once per flush (not per step):
``memory/rss_gb`` (psutil) and, with NVML (``pynvml``) and CUDA present, ``gpu/util`` (%)
and ``gpu/power_w``. Per-step CUDA memory (``memory/allocated_gb``, ``memory/reserved_gb``)
is read in the optimizer post-hook instead: the caching allocator's counters are host-side,
so reading them is not a sync.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import psutil
import torch

log = logging.getLogger("gradsight")
GB = 1024**3


def cuda_memory(device: torch.device) -> dict[str, float]:
    return {
        "memory/allocated_gb": torch.cuda.memory_allocated(device) / GB,
        "memory/reserved_gb": torch.cuda.memory_reserved(device) / GB,
    }


def _nvml_sampler(device_index: int) -> Callable[[], dict[str, float]] | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(device_index)
    except Exception:  # not installed, no driver: GPU gauges are simply absent
        return None

    def sample() -> dict[str, float]:
        util = pynvml.nvmlDeviceGetUtilizationRates(handle)
        power_mw = pynvml.nvmlDeviceGetPowerUsage(handle)
        return {"gpu/util": float(util.gpu), "gpu/power_w": power_mw / 1000.0}

    return sample


class SystemSampler:
    def __init__(self, device: torch.device) -> None:
        self._process = psutil.Process(os.getpid())
        self._nvml: Callable[[], dict[str, float]] | None = None
        if device.type == "cuda":
            index = device.index if device.index is not None else torch.cuda.current_device()
            self._nvml = _nvml_sampler(index)

    def __call__(self) -> dict[str, float]:
        out: dict[str, float] = {"memory/rss_gb": self._process.memory_info().rss / GB}
        if self._nvml is not None:
            try:
                out.update(self._nvml())
            except Exception as exc:  # a flaky driver query must not cost the batch
                log.debug("NVML query failed: %s", exc)
                self._nvml = None
        return out


def first_device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")
