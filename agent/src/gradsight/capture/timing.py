"""Where a step's time goes: ``time/step_s`` (the whole iteration, from the end of the
previous step to the end of this one), ``time/data_s`` (from the end of the previous step
to the first forward: waiting for the batch), ``time/forward_s`` (the model's forwards,
summed over micro-batches), ``time/backward_s`` (from the last forward to
``optimizer.step()``: backward plus whatever the loop does there, loss and clipping
included) and ``time/optimizer_s``.

These are host clocks (``time.perf_counter``). On CUDA the host runs ahead of the device, so
forward/backward/optimizer are also measured with CUDA events (recorded on the current
stream, read on the transport thread: no sync on the training thread) and those device
durations are reported instead; step and data time stay host clocks, which the device's
back-pressure makes equal to the real iteration time over a few steps.
"""

from __future__ import annotations

import time
from typing import Any

import torch


class EventSpans:
    """Device durations of one step from CUDA events, resolved on the transport thread."""

    def __init__(self) -> None:
        self.forward: list[tuple[Any, Any]] = []
        self.optimizer_start: Any = None
        self.optimizer_end: Any = None

    def resolve(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.forward:
            self.forward[-1][1].synchronize()
            out["time/forward_s"] = sum(a.elapsed_time(b) for a, b in self.forward) / 1000.0
            if self.optimizer_start is not None:
                self.optimizer_start.synchronize()
                out["time/backward_s"] = self.forward[-1][1].elapsed_time(self.optimizer_start) / 1000.0
        if self.optimizer_start is not None and self.optimizer_end is not None:
            self.optimizer_end.synchronize()
            out["time/optimizer_s"] = self.optimizer_start.elapsed_time(self.optimizer_end) / 1000.0
        return out


def _event() -> Any:
    event = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
    event.record()
    return event


class StepClock:
    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.origin: float | None = None  # when this step's clock started
        self.end: float | None = None  # when the last optimizer.step() returned
        self._forward_start = 0.0
        self._forward_total = 0.0
        self._last_forward_end: float | None = None
        self._optimizer_start: float | None = None
        self.spans: EventSpans | None = None
        self._pending_event: Any = None

    def begin_step(self, now: float) -> float | None:
        """A new step's first forward. Returns the data wait, if there was a previous step."""
        data = now - self.end if self.end is not None else None
        self.origin = self.end if self.end is not None else now
        self.end = None
        self._forward_total = 0.0
        self._last_forward_end = None
        self._optimizer_start = None
        self.spans = EventSpans() if self.cuda else None
        return data

    def forward_start(self, now: float) -> None:
        self._forward_start = now
        if self.spans is not None:
            self._pending_event = _event()

    def forward_end(self, now: float) -> None:
        self._forward_total += now - self._forward_start
        self._last_forward_end = now
        if self.spans is not None and self._pending_event is not None:
            self.spans.forward.append((self._pending_event, _event()))
            self._pending_event = None

    def optimizer_start(self, now: float) -> None:
        if self._optimizer_start is None:  # several optimizers: the first one's start
            self._optimizer_start = now
            if self.spans is not None:
                self.spans.optimizer_start = _event()

    def optimizer_end(self, now: float) -> dict[str, float]:
        """Host timings of the step that just ended (the last optimizer's end wins)."""
        self.end = now
        out: dict[str, float] = {}
        if self.origin is not None:
            out["time/step_s"] = now - self.origin
        if self.spans is not None:
            self.spans.optimizer_end = _event()
            return out
        if self._forward_total:
            out["time/forward_s"] = self._forward_total
        if self._optimizer_start is not None:
            out["time/optimizer_s"] = now - self._optimizer_start
            if self._last_forward_end is not None:
                out["time/backward_s"] = self._optimizer_start - self._last_forward_end
        return out


def now() -> float:
    return time.perf_counter()
