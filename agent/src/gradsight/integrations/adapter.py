"""What the framework callbacks share, with no framework in sight: the run they record into
(given, or started by the first hook), watching the model, forwarding the framework's own
numbers, following the framework's step counter, and a guard so no hook raises into training.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from gradsight.errors import ErrorLog

if TYPE_CHECKING:
    from gradsight.run import Run
    from gradsight.settings import Mode

F = TypeVar("F", bound=Callable[..., None])

WATCH_OPTIONS = ("every", "update_every", "spectral_every", "activations", "include", "exclude")


class Adapter:
    def __init__(self, run: Run | None, init: dict[str, Any], watch: dict[str, Any]) -> None:
        self.run = run
        self._owns_run = run is None
        self._init = init
        self._watch = watch
        self.errors = run.errors if run is not None else ErrorLog()
        self._step: int | None = None
        self.watching = False
        self.url: str | None = run.url if run is not None else None
        """The run's page on the dashboard (kept after the run finished)."""

    def start(self, config: Mapping[str, Any]) -> Run:
        """The run to record into: the one given, or a new one whose config is what the
        framework knows (hyper-parameters, trainer settings) under the user's ``config``."""
        if self.run is None:
            import gradsight

            user_config = self._init.get("config") or {}
            self.run = gradsight.init(**{**self._init, "config": {**config, **user_config}})
            self.errors = self.run.errors
            self.url = self.run.url
        return self.run

    def watch(self, model: Any, optimizers: Sequence[Any], scaler: Any = None) -> None:
        """Hook the model and the optimizers (once per run)."""
        found = [opt for opt in optimizers if opt is not None]
        if self.run is None or self.watching or model is None:
            return
        if not found:
            self.errors.warn_once("no-optimizer", "no optimizer to watch yet: gradients are not captured")
            return
        self.run.watch(model, found, scaler=scaler, **self._watch)
        self.watching = True

    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        if self.run is not None and (values or step is not None):
            self.run.log(values, step)

    def steps_from(self, step: int) -> None:
        """The framework's update count when training starts (non-zero when it resumed from a
        checkpoint): the next update it counts is the first step filed."""
        self._step = step

    def follow_step(self, step: int) -> None:
        """The framework's count of optimizer updates, read after an update: that step is
        filed under it (ARCHITECTURE.md ⚑ The step axis: an explicit step re-bases the
        agent's counter, and gradients already captured for the step are relabelled)."""
        if step != self._step:
            self._step = step
            self.log({}, step)

    def finish(self) -> None:
        """Finish a run this adapter started; a run the user passed in is theirs to finish."""
        if self.run is not None and self._owns_run:
            self.run.finish()
            self.run = None
        self._step = None
        self.watching = False


class AdapterCallback:
    """The constructor and properties both framework callbacks share (they differ only in
    their hooks). Listed first among a callback's bases, so its ``__init__`` is the one used."""

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        *,
        run: Run | None = None,
        server: str | None = None,
        api_key: str | None = None,
        mode: Mode | None = None,
        every: int = 1,
        update_every: int = 10,
        spectral_every: int | None = 200,
        activations: bool = False,
        include: str | None = None,
        exclude: str | None = None,
    ) -> None:
        """``project``, ``name``, ``config``, ``server``, ``api_key``, ``mode``: as for
        ``gradsight.init`` (or pass a ``run`` you started, and finish it yourself). The rest:
        as for ``run.watch``."""
        init = {"project": project, "name": name, "config": config, "server": server, "api_key": api_key}
        options = (every, update_every, spectral_every, activations, include, exclude)
        self.adapter = Adapter(run, {**init, "mode": mode}, dict(zip(WATCH_OPTIONS, options, strict=True)))

    @property
    def run(self) -> Run | None:
        """The run being recorded (None before training starts and once it is finished)."""
        return self.adapter.run

    @property
    def url(self) -> str | None:
        """The run's page on the dashboard, also after it finished."""
        return self.adapter.url


class HasAdapter(Protocol):
    adapter: Adapter


def guarded(hook: F) -> F:
    """A callback hook that never raises into training: failures are counted in
    ``agent/errors`` and logged once per kind (the agent's rule)."""

    @functools.wraps(hook)
    def run_guarded(self: HasAdapter, *args: Any, **kwargs: Any) -> None:
        try:
            hook(self, *args, **kwargs)
        except Exception as exc:
            self.adapter.errors.report(f"{type(self).__name__}.{hook.__name__}", exc)

    return cast(F, run_guarded)


def scalar_like(value: Any) -> bool:
    """A number or a one-element tensor: what ``run.log`` records (no host sync to check)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):  # int, float, numpy scalars
        return True
    numel = getattr(value, "numel", None)
    return callable(numel) and numel() == 1
