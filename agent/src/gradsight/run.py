"""A Gradsight run: what ``gradsight.init`` returns (ARCHITECTURE.md ⚑ Agent API)."""

from __future__ import annotations

import atexit
import functools
import math
import re
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gradsight import metadata as metadata_mod
from gradsight.capture.record import Recorder, Value
from gradsight.distributed.keys import RankKeys
from gradsight.distributed.topology import Topology
from gradsight.errors import ErrorLog
from gradsight.settings import AgentSettings
from gradsight.transport.sender import Sender

if TYPE_CHECKING:
    import torch

    from gradsight.capture.watch import Watcher

_BAD_KEY = re.compile(r"[\x00-\x1f\x7f,]")
MAX_KEY_LENGTH = 256
MAX_SHAPES = 5000  # parameter sizes sent in metadata (keeps it well under the 1 MB limit)


def _hyper(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_hyper(v) for v in value]
    try:
        return float(value)  # a tensor learning rate (capturable optimizers)
    except (TypeError, ValueError):
        return str(value)


def optimizer_metadata(optimizers: Sequence[torch.optim.Optimizer]) -> list[dict[str, Any]]:
    """Class and hyper-parameters of each param group: recommendations quote them
    ("AdamW ε 1e-8 → 1e-10", "β₂ 0.999 → 0.95")."""
    keys = ("lr", "betas", "eps", "weight_decay", "momentum", "nesterov", "fused", "foreach")
    return [
        {
            "class": type(opt).__name__,
            "groups": [
                {"params": sum(p.numel() for p in g["params"]), **{k: _hyper(g[k]) for k in keys if k in g}}
                for g in opt.param_groups
            ],
        }
        for opt in optimizers
    ]


def torch_optimizer(optimizer: Any) -> Any:
    """The torch optimizer whose ``step()`` really runs. Framework wrappers (Accelerate's
    ``AcceleratedOptimizer``, Lightning's ``LightningOptimizer``) subclass or imitate
    ``torch.optim.Optimizer`` but keep the real one inside, and only its step hooks fire."""
    import torch

    for _ in range(4):  # a wrapper of a wrapper at most, in practice
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer) or inner is optimizer:
            break
        optimizer = inner
    return optimizer


def model_metadata(model: torch.nn.Module) -> dict[str, Any]:
    """Parameter counts for the run page and the hyper-parameter advisor (Step Law wants N
    without embeddings: parameters of ``nn.Embedding`` modules are excluded from it)."""
    from torch import nn

    params = {id(p): p for p in model.parameters()}
    embedding = {
        id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters(recurse=False)
    }
    total = sum(p.numel() for p in params.values())
    return {
        "params": {
            "total": total,
            "trainable": sum(p.numel() for p in params.values() if p.requires_grad),
            "non_embedding": total - sum(params[i].numel() for i in embedding if i in params),
        },
        # Element counts let the server compare layers per element (RMS), not per tensor.
        "param_numel": {name: p.numel() for name, p in list(model.named_parameters())[:MAX_SHAPES]},
        "embeddings": sorted(n for n, p in model.named_parameters() if id(p) in embedding),
        "model_class": type(model).__name__,
    }


def rank_metadata(topology: Topology, settings: AgentSettings) -> dict[str, Any]:
    """What this rank adds to the run's metadata: rank 0 everything, plus the job's layout;
    other ranks only ``rank/<k>`` (their host and process), which the server's shallow merge
    keeps side by side."""
    base = metadata_mod.collect()
    own = {"host": base["host"], "pid": base["pid"], "local_rank": topology.local_rank}
    if not topology.distributed:
        return base
    if not topology.is_main:
        return {f"rank/{topology.rank}": own}
    return {
        **base,
        "world_size": topology.world_size,
        "distributed": {
            "world_size": topology.world_size,
            "launcher": topology.source,
            "rank_every": settings.rank_every,
            "rank_layers_every": settings.rank_layers_every,
            "local_grad_norm": settings.ddp_hook,
        },
        "rank/0": own,
    }


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become ``a/b`` keys (the separator of our metric names)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}/"))
        else:
            out[name] = value
    return out


def jsonable(value: Any, depth: int = 0) -> Any:
    """Config values as the server stores them: JSON types, non-finite floats as strings."""
    if depth > 30:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value.replace("\x00", "") if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    try:
        number = float(value)  # numpy scalars, 0-d tensors
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)


class Run:
    def __init__(
        self,
        *,
        run_id: str,
        project: str,
        name: str | None,
        config: Mapping[str, Any] | None,
        settings: AgentSettings,
        topology: Topology | None = None,
    ) -> None:
        self.id = run_id
        self.project = project
        self.name = name or run_id
        self.config: dict[str, Any] = dict(config or {})
        self.settings = settings
        self.topology = topology or Topology()
        """This process's rank and the job's world size (docs/distributed.md)."""
        self.errors = ErrorLog()
        self._recorder = Recorder(max_closed=settings.max_buffer_steps)
        self._watchers: list[Watcher] = []
        self._finished = False
        self._lock = threading.Lock()
        self._sender: Sender | None = None
        if settings.mode != "disabled":
            main = self.topology.is_main
            # Ranks other than 0 send no config and only their own corner of the metadata:
            # the server merges each POST /runs into the run, and rank 0's must win.
            body = {
                "id": run_id,
                "project": project,
                "name": self.name,
                "config": jsonable(self.config) if main else {},
            }
            keys = RankKeys(self.topology, settings.rank_every, settings.rank_keys)
            self._sender = Sender(
                body,
                self._recorder,
                settings,
                self.errors,
                functools.cache(functools.partial(rank_metadata, self.topology, settings)),
                keys,
            )
            self._sender.start()
        atexit.register(self._at_exit)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def __repr__(self) -> str:
        return f"<gradsight.Run {self.id} project={self.project!r} step={self.step}>"

    @property
    def step(self) -> int:
        """The step the next value will be filed under (see the step axis in ARCHITECTURE.md)."""
        return self._recorder.step

    @property
    def url(self) -> str:
        return f"{self.settings.url.rstrip('/')}/runs/{self.id}"

    def watch(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer],
        *,
        every: int = 1,
        update_every: int = 10,
        spectral_every: int | None = 200,
        activations: bool = False,
        include: str | None = None,
        exclude: str | None = None,
        scaler: Any = None,
    ) -> None:
        """Hook the model and its optimizer(s); everything is then captured with no change to
        the training loop (docs/concepts.md lists each statistic and its cost).

        ``every``: cadence of per-parameter gradient norms (the global norm is every step).
        ``update_every``: cadence of update ratios, parameter norms, optimizer-state
        statistics and activation windows. ``spectral_every``: each weight matrix's spectrum
        is measured about this often (the work is spread over the steps); None turns it off.
        ``activations``: hook activation modules (dead units, saturation, outliers).
        ``include``/``exclude``: regexes over parameter (and module) names that bound the
        per-parameter keys. ``scaler``: an AMP ``GradScaler``, for the loss scale and the
        steps it skips.
        """
        if self.settings.mode == "disabled":
            return
        from gradsight.capture.watch import Watcher, WatchOptions

        given = [optimizer] if not isinstance(optimizer, Sequence) else list(optimizer)
        optimizers = [torch_optimizer(opt) for opt in given]
        options = WatchOptions(
            every=every,
            update_every=update_every,
            spectral_every=spectral_every,
            activations=activations,
            include=include,
            exclude=exclude,
            scaler=scaler,
            peak_tflops=self.settings.peak_tflops,
            main=self.topology.is_main,
            world_size=self.topology.world_size,
            local_norm=self.settings.ddp_hook and self.topology.distributed,
            rank_layers_every=self.settings.rank_layers_every,
            noise_scale_ema=self.settings.noise_scale_ema,
        )
        on_metadata = self._sender.add_metadata if self._sender is not None else None
        try:
            watcher = Watcher(self._recorder, self.errors, model, optimizers, options, on_metadata)
        except Exception as exc:
            self.errors.report("watch", exc)
            return
        self._watchers.append(watcher)
        if self._sender is not None and self.topology.is_main:
            self._sender.set_layers(watcher.layers)
            self._sender.add_metadata({**model_metadata(model), "optimizers": optimizer_metadata(optimizers)})

    def forward_begins(self, batch: Any = None) -> None:
        """For frameworks whose training step does not call the watched model itself
        (Lightning's ``training_step``): a micro-batch's training forward begins, which is
        what begins a step (ARCHITECTURE.md ⚑ The step axis); ``batch`` gives its size. Once
        called, the model's own forward hooks no longer mark forwards. The integrations call
        it; plain loops never need to."""
        for watcher in self._watchers:
            self.errors.guard("forward_begins")(watcher.forward_begins)(batch)

    def forward_ends(self) -> None:
        """The micro-batch's forward is done (its backward is next): ``time/forward_s``."""
        for watcher in self._watchers:
            self.errors.guard("forward_ends")(watcher.forward_ends)()

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        *,
        samples: int | None = None,
        tokens: int | None = None,
    ) -> None:
        """Record scalars (numbers or one-element tensors; nested dicts become ``a/b`` keys).

        Tensors on an accelerator are not synchronised here: they are read by the transport
        thread a moment later. ``step`` re-bases the run's step counter; ``samples``/``tokens``
        give the step's batch size when it cannot be inferred from the model's input.
        """
        try:
            if self._finished or self.settings.mode == "disabled":
                return
            values = self._values(flatten(data))
            if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
                raise ValueError(f"step must be an integer >= 0, not {step!r}")
            if values or step is not None:
                self._recorder.log(values, step)
            if samples is not None or tokens is not None:
                for watcher in self._watchers:
                    watcher.set_batch(samples, tokens)
        except Exception as exc:
            self.errors.report("log", exc)

    def _values(self, flat: Mapping[str, Any]) -> dict[str, Value]:
        from gradsight.capture.deferred import scalar

        out: dict[str, Value] = {}
        for raw_key, value in flat.items():
            key = raw_key.strip()
            if not key or len(key) > MAX_KEY_LENGTH or key.startswith("_") or _BAD_KEY.search(key):
                self.errors.warn_once(
                    f"key:{key[:50]}",
                    f"metric name {key[:80]!r} is not allowed (1-{MAX_KEY_LENGTH} characters, no "
                    "commas or control characters, not starting with '_'); it is not recorded",
                )
                continue
            try:
                out[key] = scalar(value)
            except (TypeError, ValueError) as exc:
                self.errors.warn_once(f"value:{key}", f"{key!r} not recorded: {exc}")
        return out

    def finish(self, timeout: float | None = None) -> None:
        """Flush and mark the run finished. Waits at most ``timeout`` seconds
        (``GRADSIGHT_FINISH_TIMEOUT_S``, default 30) for the server, then leaves what it did not
        take in the spool for ``gradsight sync``; never raises."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        try:
            for watcher in self._watchers:
                watcher.remove()
            if self._sender is not None:
                # What the server did not take stays in the spool; the sender logs how to sync it.
                self._sender.finish(self.settings.finish_timeout_s if timeout is None else timeout)
        except Exception as exc:
            self.errors.report("finish", exc)

    def _at_exit(self) -> None:
        self.finish()
