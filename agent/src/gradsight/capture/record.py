"""The step axis (ARCHITECTURE.md ⚑ "The step axis") and per-step accumulation.

With a watched model, a step begins at the first training forward after the previous
``optimizer.step()`` and ends at the next ``optimizer.step()``; whatever ``run.log`` receives
after that ``optimizer.step()`` and before the next forward still belongs to it. So the open
step is closed, and the counter advanced, by the *next forward*, not by ``optimizer.step``.
Without a watched model every ``run.log`` without ``step=`` is the next step (wandb's rule).
``run.log(step=s)`` re-bases the counter.

The training thread writes the open record; the transport thread drains closed records.
Values stay as they were given (floats, or :class:`Deferred` tensors still on the device):
resolving them is the transport thread's job, so nothing here forces a host sync.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Resolvable(Protocol):
    def resolve(self) -> float: ...


class Pending(Protocol):
    """Statistics computed on the training thread, read later: ``resolve`` → {key: value}."""

    def resolve(self) -> Mapping[str, float]: ...


Value = float | Resolvable


@dataclass
class StepRecord:
    step: int
    wall: float = field(default_factory=time.time)
    scalars: dict[str, list[Value]] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    explicit: bool = False
    """The step number came from ``run.log(step=...)``."""

    def is_empty(self) -> bool:
        return not self.scalars and not self.pending

    def n_values(self) -> int:
        return sum(len(v) for v in self.scalars.values()) + len(self.pending)


class Recorder:
    def __init__(self, max_closed: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._open: StepRecord | None = None
        self._closed: deque[StepRecord] = deque()
        self._max_closed = max_closed
        self._advance = False  # an optimizer.step() ended the open step
        self._started = False  # any step has been opened
        self.step = 0
        self.watched = False
        self.dropped_points = 0
        self._samplers: list[Callable[[], Mapping[str, float] | None]] = []

    # -- driven by hooks (training thread) --------------------------------------------

    def begin_forward(self) -> bool:
        """A training forward of the watched model. True when it begins a new step."""
        with self._lock:
            if self._advance:
                self._advance = False
                self._close()
                self.step += 1
                self._open = StepRecord(self.step, self._clock())
                return True
            if not self._started:
                self._ensure_open()
                return True
            return False

    def end_step(self) -> None:
        """``optimizer.step()`` returned: the open step ends at the next forward."""
        with self._lock:
            self._ensure_open()
            self._advance = True

    def add(self, key: str, value: Value) -> None:
        with self._lock:
            record = self._ensure_open()
            record.scalars.setdefault(key, []).append(value)
            record.wall = self._clock()

    def put(self, key: str, value: Value) -> None:
        """Set a key for the open step, replacing what it held (not averaged)."""
        with self._lock:
            record = self._ensure_open()
            record.scalars[key] = [value]
            record.wall = self._clock()

    def add_pending(self, pending: Pending) -> None:
        with self._lock:
            self._ensure_open().pending.append(pending)

    # -- run.log --------------------------------------------------------------------------

    def log(self, values: Mapping[str, Value], step: int | None = None) -> int:
        """Add user values; returns the step they were filed under."""
        with self._lock:
            record = self._target(step)
            for key, value in values.items():
                record.scalars.setdefault(key, []).append(value)
            record.wall = self._clock()
            return record.step

    def _target(self, step: int | None) -> StepRecord:
        open_ = self._open
        if step is None:
            if self.watched or (open_ is None and not self._started):
                return self._ensure_open()
            # Unwatched: each call is the next step.
            self._close()
            self.step += 1
            self._open = StepRecord(self.step, self._clock())
            return self._open
        if open_ is not None and open_.step == step:
            open_.explicit = True
            return open_
        if self.watched and open_ is not None and not open_.explicit:
            # First explicit step for the open step: relabel what hooks captured so far
            # (gradients line up with the loss the user files under this step).
            open_.step, open_.explicit = step, True
            self.step = step
            return open_
        self._close()
        self.step = step
        self._started = True
        self._open = StepRecord(step, self._clock(), explicit=True)
        return self._open

    # -- transport thread -----------------------------------------------------------------

    def add_sampler(self, sampler: Callable[[], Mapping[str, float] | None]) -> None:
        """A gauge read once per drain (process memory, GPU power) and filed under the last
        drained step, instead of costing every step."""
        self._samplers.append(sampler)

    def drain(self, close_open: bool = False) -> list[StepRecord]:
        """Take the closed records (and, at finish, the open one too)."""
        with self._lock:
            if close_open:
                self._close()
            out = list(self._closed)
            self._closed.clear()
        if out:
            for sampler in self._samplers:
                for key, value in (sampler() or {}).items():
                    out[-1].scalars[key] = [value]
        return out

    def pending_steps(self) -> int:
        with self._lock:
            return len(self._closed)

    # -- internals (lock held) ------------------------------------------------------------

    def _ensure_open(self) -> StepRecord:
        if self._open is None:
            self._started = True
            self._open = StepRecord(self.step, self._clock())
        return self._open

    def _close(self) -> None:
        record, self._open = self._open, None
        if record is None or record.is_empty():
            return
        if len(self._closed) >= self._max_closed:
            # The transport is far behind (server away and spool failing): drop the oldest,
            # count what was lost, and keep training unblocked.
            lost = self._closed.popleft()
            self.dropped_points += lost.n_values()
        self._closed.append(record)


def mean(values: list[float]) -> float:
    """Mean of a key logged several times in one step; non-finite values propagate."""
    if len(values) == 1:
        return values[0]
    total = math.fsum(values) if all(math.isfinite(v) for v in values) else sum(values)
    return total / len(values)
