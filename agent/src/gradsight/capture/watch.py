"""``run.watch(model, optimizer)``: hooks that feed the step axis, gradient norms and timing.

- forward pre-hook on the model: a *training* forward (grad enabled) after an
  ``optimizer.step()`` begins the next step; it also counts samples and tokens.
  Forwards under ``torch.no_grad()`` (evaluation) never start a step, so a validation loss
  logged after them lines up with the step just trained.
- optimizer step pre-hook: per-parameter gradient norms, one ``torch._foreach_norm``.
- optimizer step post-hook: step time and throughput; the step ends here.

Every hook is guarded: an exception inside it is counted and logged once, never raised.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from gradsight.capture.deferred import Deferred
from gradsight.capture.gradients import grad_norms
from gradsight.capture.record import Recorder
from gradsight.errors import ErrorLog

_TOKEN_DTYPES = (torch.int64, torch.int32, torch.int16, torch.uint8)


class GradNorms:
    """Per-parameter gradient norms of one step, from one or more optimizers' pre-hooks."""

    def __init__(self) -> None:
        self.parts: list[tuple[list[str], Deferred]] = []

    def resolve(self) -> dict[str, float]:
        vectors = [deferred.resolve_vector() for _, deferred in self.parts]
        norms = np.concatenate(vectors) if vectors else np.zeros(0)
        # The global norm is the 2-norm of the per-parameter norms (get_total_norm's definition).
        return {"grad_norm": float(np.sqrt(np.sum(np.square(norms))))}


def infer_batch(args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[int, int]:
    """(samples, tokens) of a forward call: the leading dimension of the first input tensor;
    tokens when that tensor holds 2-D integer ids (batch × sequence)."""
    candidates: Iterable[Any] = [kwargs["input_ids"]] if "input_ids" in kwargs else [*args, *kwargs.values()]
    for candidate in candidates:
        value = candidate
        if isinstance(value, dict):
            value = value.get("input_ids", next(iter(value.values()), None))
        if isinstance(value, torch.Tensor) and value.dim() >= 1:
            tokens = value.numel() if value.dim() == 2 and value.dtype in _TOKEN_DTYPES else 0
            return int(value.shape[0]), int(tokens)
    return 0, 0


class Watcher:
    def __init__(
        self,
        recorder: Recorder,
        errors: ErrorLog,
        model: torch.nn.Module,
        optimizers: Sequence[torch.optim.Optimizer],
    ) -> None:
        self._recorder = recorder
        self._errors = errors
        self._handles: list[Any] = []
        self._names = {id(p): name for name, p in model.named_parameters()}
        self._step_origin: float | None = None  # when the current step's clock started
        self._step_end: float | None = None  # when the last optimizer.step() returned
        self._samples = 0
        self._tokens = 0
        self._explicit_samples: int | None = None
        self._explicit_tokens: int | None = None
        self._norms: GradNorms | None = None
        self.layers = [name for name, p in model.named_parameters() if p.requires_grad]
        self._handles.append(
            model.register_forward_pre_hook(errors.guard("forward hook")(self._on_forward), with_kwargs=True)
        )
        for optimizer in optimizers:
            params = self._params_of(optimizer)
            names = [self._names.get(id(p), f"param{i}") for i, p in enumerate(params)]
            self._handles.append(
                optimizer.register_step_pre_hook(
                    errors.guard("gradient norms")(self._pre_step_hook(params, names))
                )
            )
            self._handles.append(
                optimizer.register_step_post_hook(errors.guard("step timing")(self._on_step_end))
            )
        recorder.watched = True

    @staticmethod
    def _params_of(optimizer: torch.optim.Optimizer) -> list[torch.nn.Parameter]:
        seen: set[int] = set()
        params = []
        for group in optimizer.param_groups:
            for p in group["params"]:
                if id(p) not in seen:  # a tied weight listed twice is counted once
                    seen.add(id(p))
                    params.append(p)
        return params

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def set_batch(self, samples: int | None, tokens: int | None) -> None:
        """Explicit sizes from ``run.log(..., samples=, tokens=)`` for the current step; they
        replace what was inferred from the model's input. Logged after ``optimizer.step()``
        (the usual place), they also correct the throughput already computed for the step."""
        if samples is not None:
            self._explicit_samples = samples
        if tokens is not None:
            self._explicit_tokens = tokens
        if self._step_end is not None and self._step_origin is not None:
            self._record_throughput(self._step_end - self._step_origin)

    # -- hooks ------------------------------------------------------------------------

    def _on_forward(self, _module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not torch.is_grad_enabled():
            return
        now = time.perf_counter()
        if self._recorder.begin_forward():
            if self._step_end is not None:
                # From the end of the previous step to this forward: waiting for the batch.
                self._recorder.add("time/data_s", now - self._step_end)
            self._step_origin = self._step_end if self._step_end is not None else now
            self._step_end = None
            self._samples = self._tokens = 0
            self._explicit_samples = self._explicit_tokens = None
            self._norms = None
        samples, tokens = infer_batch(args, kwargs)
        self._samples += samples
        self._tokens += tokens

    def _pre_step_hook(self, params: list[torch.nn.Parameter], names: list[str]) -> Any:
        def hook(_optimizer: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
            found = grad_norms(params)
            if found is None:
                return
            order, vector = found
            if self._norms is None:  # several optimizers in one step share one GradNorms
                self._norms = GradNorms()
                self._recorder.add_pending(self._norms)
            self._norms.parts.append(([names[i] for i in order], Deferred(vector)))

        return hook

    def _on_step_end(self, _optimizer: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
        now = time.perf_counter()
        self._step_end = now
        if self._step_origin is not None:
            # time/step_s is the whole iteration: previous step's end → this step's end
            # (data wait included). With several optimizers, the last one's end wins (put).
            step_s = now - self._step_origin
            self._recorder.put("time/step_s", step_s)
            self._record_throughput(step_s)
        self._recorder.end_step()

    def _record_throughput(self, step_s: float) -> None:
        samples = self._explicit_samples if self._explicit_samples is not None else self._samples
        tokens = self._explicit_tokens if self._explicit_tokens is not None else self._tokens
        if samples and step_s > 0:
            self._recorder.put("throughput/samples_per_s", samples / step_s)
        if tokens and step_s > 0:
            self._recorder.put("throughput/tokens_per_s", tokens / step_s)
