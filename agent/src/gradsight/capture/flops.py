"""FLOPs per training step, for MFU (model FLOPs utilisation).

Measured once: the forwards and the backward of the second step run under
``torch.utils.flop_counter.FlopCounterMode`` (the first step is skipped: lazy modules and
compilation warm up there). That step pays the dispatch overhead of counting; no other does.
When counting fails (custom kernels, some compiled graphs), the estimate is 6·N FLOPs per
token (2N forward + 4N backward for N parameters; Kaplan et al., "Scaling Laws for Neural
Language Models", arXiv 2001.08361), or per sample when there are no tokens.

MFU = FLOPs per step / step time / peak FLOP/s. Peaks are dense bf16/fp16 tensor-core figures
from NVIDIA's datasheets; ``GRADSIGHT_PEAK_TFLOPS`` overrides (and enables MFU on hardware
missing from the table, the CPU included).
"""

from __future__ import annotations

from typing import Any

import torch

# Substring of torch.cuda.get_device_name() → dense bf16/fp16 peak FLOP/s. Order matters:
# the first match wins, so specific names precede general ones.
PEAK_FLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756e12),
    ("H100", 989e12),
    ("H200", 989e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("V100", 125e12),
    ("T4", 65e12),
)


def peak_flops(device: torch.device, override_tflops: float | None) -> float | None:
    if override_tflops:
        return override_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_FLOPS if key in name), None)


class FlopMeter:
    MEASURE_STEP = 1  # the second step of the watch

    def __init__(self, n_params: int) -> None:
        self.flops_per_step: float | None = None
        self.method: str | None = None
        self._n_params = n_params
        self._steps = 0
        self._mode: Any = None
        self.counting_this_step = False
        """The current step runs under the counter: its time is inflated, so no MFU for it."""

    def begin_step(self) -> None:
        """First forward of a step."""
        self._finish_measurement()  # a step that never reached optimizer.step (skipped by AMP)
        self.counting_this_step = False
        if self.flops_per_step is None and self._steps == self.MEASURE_STEP:
            self.counting_this_step = True
            from torch.utils.flop_counter import FlopCounterMode

            self._mode = FlopCounterMode(display=False)
            self._mode.__enter__()
        self._steps += 1

    def end_backward(self) -> None:
        """Optimizer pre-hook: forwards and backward of the step are done."""
        self._finish_measurement()

    def _finish_measurement(self) -> None:
        mode, self._mode = self._mode, None
        if mode is not None:
            mode.__exit__(None, None, None)
            total = float(mode.get_total_flops())
            if total > 0:
                self.flops_per_step, self.method = total, "measured"

    def estimate(self, samples: int, tokens: int) -> None:
        """Fallback when counting did not produce a number by the third step."""
        if self.flops_per_step is None and self._steps > self.MEASURE_STEP + 1:
            units = tokens or samples
            if units:
                self.flops_per_step, self.method = 6.0 * self._n_params * units, "6N-estimate"

    def abandon(self) -> None:
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None
