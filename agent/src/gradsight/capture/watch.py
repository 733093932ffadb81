"""``run.watch(model, optimizer)``: the hooks that feed every statistic, and their cadence.

- model forward pre-hook: a *training* forward (grad enabled) after ``optimizer.step()``
  begins the next step (forwards under ``torch.no_grad()`` never do, so a validation loss
  logged after them lines up with the step just trained); samples and tokens are counted.
- ``clip_grad_norm_`` (:mod:`.clipping`): per-parameter norms before clipping.
- optimizer step pre-hook: per-parameter gradient norms (one ``_foreach_norm``) of what
  clipping did not already measure; on update steps, the parameter snapshot and the
  optimizer-state statistics.
- optimizer step post-hook: the step ends: timings, throughput, learning rates, memory,
  update ratios, a spectral visit when due, MFU.

Cadence: gradient norms every step (per-parameter keys every ``every`` steps); update
ratios, parameter norms, optimizer state and activation windows every ``update_every``
steps; each weight matrix's spectrum about every ``spectral_every`` steps. Every hook is
guarded: an exception inside it is counted in ``agent/errors`` and logged once, never raised.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from gradsight.capture import clipping
from gradsight.capture.activations import ActivationMonitor
from gradsight.capture.amp import ScalerWatch
from gradsight.capture.deferred import Deferred
from gradsight.capture.flops import FlopMeter, peak_flops
from gradsight.capture.gradients import CountArm, GradNorms, grad_norms
from gradsight.capture.optimizer_state import adam_state_stats
from gradsight.capture.record import Recorder
from gradsight.capture.spectral import Spectral
from gradsight.capture.system import SystemSampler, cuda_memory, first_device
from gradsight.capture.timing import StepClock, now
from gradsight.capture.updates import UpdateStep, UpdateTracker
from gradsight.distributed.noise_scale import NoiseScale

if TYPE_CHECKING:
    from gradsight.distributed.local_norm import LocalGradNorm
from gradsight.distributed.stats import RankGradStats
from gradsight.errors import ErrorLog

log = logging.getLogger("gradsight")
_TOKEN_DTYPES = (torch.int64, torch.int32, torch.int16, torch.uint8)


@dataclass(frozen=True)
class WatchOptions:
    every: int = 1
    update_every: int = 10
    spectral_every: int | None = 200
    activations: bool = False
    include: str | None = None
    exclude: str | None = None
    scaler: Any = None
    peak_tflops: float | None = None
    # Data-parallel jobs (docs/distributed.md): ranks other than 0 skip the per-layer work
    # whose results only rank 0 ships; every rank measures its local gradient norm.
    main: bool = True
    world_size: int = 1
    local_norm: bool = True
    rank_layers_every: int = 0
    noise_scale_ema: float = 0.99


def infer_batch(args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[int, int]:
    """(samples, tokens) of a forward call: the leading dimension of the first input tensor;
    tokens when that tensor holds 2-D integer ids (batch × sequence)."""
    candidates = [kwargs["input_ids"]] if "input_ids" in kwargs else [*args, *kwargs.values()]
    for candidate in candidates:
        value = candidate
        if isinstance(value, dict):
            value = value.get("input_ids", next(iter(value.values()), None))
        elif isinstance(value, (list, tuple)) and value:  # an (inputs, targets) batch
            value = value[0]
        if isinstance(value, torch.Tensor) and value.dim() >= 1:
            tokens = value.numel() if value.dim() == 2 and value.dtype in _TOKEN_DTYPES else 0
            return int(value.shape[0]), int(tokens)
    return 0, 0


def name_filter(include: str | None, exclude: str | None) -> Callable[[str], bool]:
    inc = re.compile(include) if include else None
    exc = re.compile(exclude) if exclude else None
    return lambda name: (inc is None or bool(inc.search(name))) and (exc is None or not exc.search(name))


def _attach_local(model: torch.nn.Module, names: dict[int, str]) -> LocalGradNorm | None:
    """The DDP communication hook for rank-local gradient norms (imported only when the
    model is a DDP module: ``torch.distributed`` is missing from some builds)."""
    if not (torch.distributed.is_available() and type(model).__name__ == "DistributedDataParallel"):
        return None
    from gradsight.distributed import local_norm

    return local_norm.attach(model, names)


def _sharded(model: torch.nn.Module, params: Sequence[torch.nn.Parameter]) -> bool:
    """FSDP: the wrapper of FSDP1, or FSDP2's DTensor parameters."""
    if type(model).__name__ == "FullyShardedDataParallel":
        return True
    return any(type(p).__name__ == "DTensor" or type(p.data).__name__ == "DTensor" for p in params)


class Watcher:
    def __init__(
        self,
        recorder: Recorder,
        errors: ErrorLog,
        model: torch.nn.Module,
        optimizers: Sequence[torch.optim.Optimizer],
        options: WatchOptions,
        on_metadata: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if options.every < 1 or options.update_every < 1 or (options.spectral_every or 1) < 1:
            raise ValueError("every, update_every and spectral_every must be >= 1")
        self._recorder, self._errors, self._opts = recorder, errors, options
        self._optimizers = list(optimizers)
        named = list(model.named_parameters())  # tied weights appear once
        self._names = {id(p): name for name, p in named}
        stepped_ids = {id(p) for opt in optimizers for g in opt.param_groups for p in g["params"]}
        trainable = [(n, p) for n, p in named if id(p) in stepped_ids]
        self._trainable_ids = {id(p) for _, p in trainable}
        keep = name_filter(options.include, options.exclude)
        self._include = (
            None
            if options.include is None and options.exclude is None
            else {n for n, _ in trainable if keep(n)}
        )
        self.layers = [n for n, _ in trainable]
        self._order = {n: i for i, n in enumerate(self.layers)}
        self.n_params = sum(p.numel() for _, p in trainable)
        device = first_device(model)
        self._cuda = device.type == "cuda"
        self._device = device
        self._clock = StepClock(cuda=self._cuda)
        self._arm = CountArm()
        self._per_opt = [
            (
                opt,
                self._params_of(opt),
                UpdateTracker(
                    [
                        (n, p)
                        for n, p in trainable
                        if id(p) in {id(q) for g in opt.param_groups for q in g["params"]}
                    ],
                    self._include,
                    budget_bytes=max(1, 48 * 1024 * 1024 // len(self._optimizers)),
                ),
            )
            for opt in self._optimizers
        ]
        sharded = _sharded(model, [p for _, p in trainable])
        # Per-layer statistics are rank 0's job (the other ranks' are the same numbers after
        # the all-reduce) and are off for sharded models: reading a DTensor's norm is a
        # collective, which the agent must never issue (docs/distributed.md).
        self._per_layer = options.main and not sharded
        if sharded and options.main:
            log.warning(
                "gradsight: the model's parameters are sharded (FSDP): gradient and per-layer telemetry "
                "are off (reading them would need a collective); loss, timings and throughput are captured"
            )
        self._spectral = (
            Spectral(trainable, self._include, options.spectral_every)
            if options.spectral_every and self._per_layer
            else None
        )
        self._acts = ActivationMonitor(model, keep) if options.activations and self._per_layer else None
        self._local = _attach_local(model, self._names) if options.local_norm and not sharded else None
        self._noise = NoiseScale(options.noise_scale_ema) if options.main and options.world_size > 1 else None
        self._rank_stats: RankGradStats | None = None
        self._flops = FlopMeter(self.n_params)
        self._peak = peak_flops(device, options.peak_tflops)
        self._scaler = None
        self._on_metadata = on_metadata
        # Per-step state, reset at each step's first forward.
        self._norms: GradNorms | None = None
        self._updates: UpdateStep | None = None
        self._snapshots: dict[int, Any] = {}
        self._update_step = False
        self._samples = self._tokens = 0
        self._explicit: tuple[int | None, int | None] = (None, None)
        self.optimizer_steps = 0
        self._external_forward = False  # forward_begins/forward_ends replace the model's hooks
        self._handles: list[Any] = [
            model.register_forward_pre_hook(errors.guard("forward hook")(self._on_forward), with_kwargs=True),
            model.register_forward_hook(errors.guard("forward hook")(self._on_forward_end)),
        ]
        for opt in self._optimizers:
            self._handles.append(
                opt.register_step_pre_hook(errors.guard("optimizer pre-hook")(self._on_pre_step))
            )
            self._handles.append(
                opt.register_step_post_hook(errors.guard("optimizer post-hook")(self._on_post_step))
            )
        clipping.attach(self)
        if options.scaler is not None:
            self._scaler = ScalerWatch(
                options.scaler, recorder, errors, lambda: self.optimizer_steps, self._close_skipped
            )
        sampler = SystemSampler(device)
        recorder.add_sampler(errors.guard("system gauges")(sampler))
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
        clipping.detach(self)
        if self._local is not None:
            self._local.detach()
        if self._acts is not None:
            self._acts.remove()
        if self._scaler is not None:
            self._scaler.remove()
        self._flops.abandon()

    def set_batch(self, samples: int | None, tokens: int | None) -> None:
        """Explicit sizes from ``run.log(..., samples=, tokens=)``; they replace what was inferred
        from the model's input, and correct a throughput already computed for the step."""
        self._explicit = (
            samples if samples is not None else self._explicit[0],
            tokens if tokens is not None else self._explicit[1],
        )
        if self._clock.end is not None and self._clock.origin is not None:
            self._record_throughput(self._clock.end - self._clock.origin)

    # -- step begin ---------------------------------------------------------------------

    def _on_forward(self, _module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not self._external_forward:
            self._forward_begins(args, kwargs)

    def _on_forward_end(self, _module: torch.nn.Module, _args: Any, _output: Any) -> None:
        if not self._external_forward and torch.is_grad_enabled():
            self._clock.forward_end(now())

    def forward_begins(self, batch: Any) -> None:
        """For frameworks whose training step does not call the watched model (Lightning calls
        ``training_step``): a micro-batch's forward begins. From the first call on, the
        model's own forward hooks are ignored, so nothing is counted twice."""
        self._external_forward = True
        self._forward_begins((batch,), {})

    def forward_ends(self) -> None:
        if self._external_forward:
            self._clock.forward_end(now())

    def _forward_begins(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not torch.is_grad_enabled():
            return
        t = now()
        if self._recorder.begin_forward():
            data = self._clock.begin_step(t)
            if data is not None:
                self._recorder.add("time/data_s", data)
            step = self._recorder.step
            self._update_step = self._per_layer and step % self._opts.update_every == 0
            self._norms = None
            self._updates = None
            self._rank_stats = None
            if self._local is not None:
                self._local.reset()  # what a step the scaler skipped left behind
                every = self._opts.rank_layers_every
                self._local.layers_due = every > 0 and step % every == 0
            self._snapshots = {}
            self._samples = self._tokens = 0
            self._explicit = (None, None)
            if self._acts is not None:
                self._acts.sampling = self._update_step
            self._flops.begin_step()
        self._clock.forward_start(t)
        samples, tokens = infer_batch(args, kwargs)
        self._samples += samples
        self._tokens += tokens

    # -- gradients ----------------------------------------------------------------------

    def _grad_norms(self) -> GradNorms:
        if self._norms is None:
            step = self._recorder.step
            self._norms = GradNorms(
                step,
                step % self._opts.every == 0,
                self._include,
                self._arm,
                self._order,
                self._report_nonfinite,
            )
            self._recorder.add_pending(self._norms)
        return self._norms

    def _measure(self, params: Sequence[torch.nn.Parameter]) -> None:
        norms = self._grad_norms()
        todo = [p for p in params if id(p) not in norms.covered and p.grad is not None]
        found = grad_norms(todo)
        if found is not None:
            order, vector = found
            chosen = [todo[i] for i in order]
            norms.add([self._names.get(id(p), f"param{i}") for i, p in enumerate(chosen)], chosen, vector)

    def before_clip(self, params: list[torch.Tensor]) -> None:
        if not self._per_layer:
            return
        self._errors.guard("clip hook")(self._measure)(
            [p for p in params if id(p) in self._trainable_ids]  # type: ignore[misc]
        )

    def after_clip(self, params: list[torch.Tensor], max_norm: float, total: torch.Tensor) -> None:
        def record() -> None:
            if self._per_layer and any(id(p) in self._trainable_ids for p in params):
                self._grad_norms().clip = (Deferred(total), max_norm)

        self._errors.guard("clip hook")(record)()

    def _report_nonfinite(self, step: int, first: str, count: int) -> None:
        self._errors.warn_once(
            "nonfinite-gradients",
            f"non-finite gradients at step {step} in {count} parameter(s); first in backward "
            f"order: {first} (per-parameter counts are in nonfinite/<name>)",
        )

    # -- optimizer.step() ---------------------------------------------------------------

    def _tracker(self, optimizer: torch.optim.Optimizer) -> tuple[list[torch.nn.Parameter], UpdateTracker]:
        for opt, params, tracker in self._per_opt:
            if opt is optimizer:
                return params, tracker
        raise LookupError("optimizer is not watched")

    def _on_pre_step(
        self, optimizer: torch.optim.Optimizer, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)
        if closure is None:
            self._before_update(optimizer)
            return None
        # optimizer.step(closure): forward and backward run *inside* step() (LBFGS, Lightning's
        # automatic optimization, which also clips there), so the gradients exist only once the
        # closure returns. The pre-step work waits for its first return (LBFGS calls it again
        # for its line search; those evaluations are not the step's gradients).
        pending = [True]

        def observed_closure() -> Any:
            result = closure()
            if pending:
                pending.clear()
                self._errors.guard("optimizer pre-hook")(self._before_update)(optimizer)
            return result

        if "closure" in kwargs:
            return args, {**kwargs, "closure": observed_closure}
        return (args[0], observed_closure, *args[2:]), kwargs

    def _before_update(self, optimizer: torch.optim.Optimizer) -> None:
        """Gradients are final and parameters not yet updated: measure, snapshot."""
        self._clock.optimizer_start(now())
        known = self._flops.flops_per_step is not None
        self._flops.end_backward()
        if not known and self._flops.flops_per_step is not None and self._on_metadata is not None:
            self._on_metadata(
                {"flops_per_step": self._flops.flops_per_step, "flops_method": self._flops.method}
            )
        params, tracker = self._tracker(optimizer)
        if self._per_layer:
            self._measure(params)
        if self._local is not None and self._rank_stats is None:
            self._take_local()
        if self._update_step:
            self._snapshots[id(optimizer)] = tracker.before_step()
            state = adam_state_stats(optimizer, self._names, self._include)
            if state is not None:
                self._recorder.add_pending(state)

    def _take_local(self) -> None:
        """The step's local gradient (the comm hook ran during backward), for rank/<k>/grad_norm
        and the noise scale; the global norms of this step resolve before it (pending order)."""
        assert self._local is not None
        local_sq, layers = self._local.take()
        if local_sq is None and not layers:
            return
        scaler = self._opts.scaler
        scale = getattr(scaler, "_scale", None) if scaler is not None and scaler.is_enabled() else None
        if local_sq is not None and isinstance(scale, torch.Tensor):
            # AMP: the bucket holds scaled gradients, the optimizer sees unscaled ones.
            local_sq = local_sq / scale.float().square()
            layers = [(names, norms / scale.float()) for names, norms in layers]
        self._rank_stats = RankGradStats(local_sq, layers, self._norms, self._opts.world_size, self._noise)
        self._recorder.add_pending(self._rank_stats)

    def _on_post_step(self, optimizer: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
        self.optimizer_steps += 1
        if self._update_step:
            _, tracker = self._tracker(optimizer)
            part = tracker.after_step(self._snapshots.pop(id(optimizer), None))
            if part is not None:
                if self._updates is None:
                    self._updates = UpdateStep()
                    self._recorder.add_pending(self._updates)
                self._updates.parts.append(part)
        self._end_step()

    def _close_skipped(self) -> None:
        """The scaler skipped optimizer.step(): the iteration still ends a step."""
        self._snapshots.clear()
        self._end_step()

    def _end_step(self) -> None:
        t = now()
        timings = self._clock.optimizer_end(t)
        for key, value in timings.items():
            self._recorder.put(key, value)
        if self._clock.spans is not None:
            self._recorder.add_pending(self._clock.spans)
        step_s = timings.get("time/step_s")
        if step_s is not None:
            self._record_throughput(step_s)
        self._record_lrs()
        if self._cuda:
            for key, value in cuda_memory(self._device).items():
                self._recorder.put(key, value)
        step = self._recorder.step
        if self._spectral is not None and self._spectral.due(step):
            self._recorder.add_pending(self._spectral.measure_next())
        if self._acts is not None and self._acts.sampling:
            self._acts.sampling = False
            window = self._acts.close_window()
            if window is not None:
                self._recorder.add_pending(window)
        self._recorder.end_step()

    def _record_throughput(self, step_s: float) -> None:
        samples = self._explicit[0] if self._explicit[0] is not None else self._samples
        tokens = self._explicit[1] if self._explicit[1] is not None else self._tokens
        if self._rank_stats is not None:
            self._rank_stats.samples = samples
        if step_s <= 0:
            return
        if samples:
            self._recorder.put("throughput/samples_per_s", samples / step_s)
        if tokens:
            self._recorder.put("throughput/tokens_per_s", tokens / step_s)
        known = self._flops.flops_per_step is not None
        self._flops.estimate(samples, tokens)
        if not known and self._flops.flops_per_step is not None and self._on_metadata is not None:
            self._on_metadata(
                {"flops_per_step": self._flops.flops_per_step, "flops_method": self._flops.method}
            )
        if self._flops.flops_per_step is not None and self._peak and not self._flops.counting_this_step:
            self._recorder.put("mfu", self._flops.flops_per_step / step_s / self._peak)

    def _record_lrs(self) -> None:
        groups = [g for opt in self._optimizers for g in opt.param_groups]
        for i, group in enumerate(groups):
            lr = group.get("lr")
            value: float | Deferred
            if isinstance(lr, torch.Tensor):  # capturable optimizers: a tensor, maybe on the device
                value = float(lr.item()) if lr.device.type == "cpu" else Deferred(lr)
            elif isinstance(lr, (int, float)):
                value = float(lr)
            else:
                continue
            if i == 0:
                self._recorder.put("lr", value)
            if len(groups) > 1:
                self._recorder.put(f"lr/{group.get('name', i)}", value)

    @property
    def flops_per_step(self) -> float | None:
        return self._flops.flops_per_step
