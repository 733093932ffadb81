"""``watch(..., scaler=GradScaler)``: the loss scale and the steps the scaler skips.

``GradScaler.step`` does not call ``optimizer.step()`` when it found Inf/NaN gradients, so
the optimizer hooks never see a skipped step. The scaler's ``step`` and ``update`` are
wrapped on the instance: after ``step``, if the optimizer did not step, the iteration is
still closed as a step and marked ``amp/skipped = 1`` (its inf gradients are the scaler
working as intended, not an alarm); after ``update``, ``amp/loss_scale`` is read from the
scaler's scale tensor without a sync (``get_scale()`` would ``.item()`` it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradsight.capture.deferred import Deferred
from gradsight.capture.record import Recorder
from gradsight.errors import ErrorLog


class ScalerWatch:
    def __init__(
        self,
        scaler: Any,
        recorder: Recorder,
        errors: ErrorLog,
        stepped: Callable[[], int],
        close_skipped: Callable[[], None],
    ) -> None:
        self._scaler = scaler
        self._recorder = recorder
        self._stepped = stepped  # how many optimizer steps the watcher has seen
        self._close_skipped = close_skipped
        original_step, original_update = scaler.step, scaler.update

        def step(optimizer: Any, *args: Any, **kwargs: Any) -> Any:
            before = stepped()
            result = original_step(optimizer, *args, **kwargs)
            errors.guard("amp step")(self._after_step)(before)
            return result

        def update(*args: Any, **kwargs: Any) -> Any:
            result = original_update(*args, **kwargs)
            errors.guard("amp update")(self._after_update)()
            return result

        scaler.step = step
        scaler.update = update

    def _after_step(self, before: int) -> None:
        if not self._scaler.is_enabled():
            return
        skipped = self._stepped() == before
        self._recorder.put("amp/skipped", 1.0 if skipped else 0.0)
        if skipped:
            self._close_skipped()

    def _after_update(self) -> None:
        scale = getattr(self._scaler, "_scale", None)
        if self._scaler.is_enabled() and scale is not None:
            self._recorder.put("amp/loss_scale", Deferred(scale))

    def remove(self) -> None:
        for name in ("step", "update"):
            self._scaler.__dict__.pop(name, None)
