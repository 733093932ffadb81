"""Gradsight agent: ``run = gradsight.init(...)``, ``run.watch(model, optimizer)``,
``run.log({...})``, ``run.finish()`` (ARCHITECTURE.md ⚑ Agent API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gradsight.run import Run
    from gradsight.settings import Mode

_current: Run | None = None


def init(
    project: str | None = None,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    *,
    server: str | None = None,
    api_key: str | None = None,
    resume: str | None = None,
    mode: Mode | None = None,
) -> Run:
    """Start (or, with ``resume=RUN_ID``, continue) a run. Never waits for the network: the
    run id is made here and the server is contacted from a background thread.

    ``server`` defaults to ``$GRADSIGHT_URL``, then ``http://localhost:8000``; ``project`` to
    ``$GRADSIGHT_PROJECT``, then ``"default"``. ``mode`` (default ``$GRADSIGHT_MODE``, then
    ``"online"``): ``"offline"`` writes only the local spool, for ``gradsight sync DIR`` later;
    ``"disabled"`` records nothing.
    """
    global _current
    from gradsight.distributed.topology import discover, shared_run_id
    from gradsight.ids import new_run_id
    from gradsight.run import Run
    from gradsight.settings import AgentSettings

    overrides: dict[str, Any] = {}
    if server is not None:
        overrides["url"] = server
    if api_key is not None:
        overrides["api_key"] = api_key
    if mode is not None:
        overrides["mode"] = mode
    settings = AgentSettings(**overrides)  # arguments win over GRADSIGHT_* variables
    # Under torchrun (or any launcher), every rank of a job joins one run (docs/distributed.md).
    topology = discover()
    run_id = resume or settings.run_id or shared_run_id(topology, new_run_id(), settings.run_id_timeout_s)
    if _current is not None:
        _current.finish()
    _current = Run(
        run_id=run_id,
        project=project or settings.project,
        name=name,
        config=config,
        settings=settings,
        topology=topology,
    )
    return _current


def log(data: Mapping[str, Any], step: int | None = None, **kwargs: Any) -> None:
    """``run.log`` on the current run (a no-op before ``init``)."""
    if _current is not None:
        _current.log(data, step, **kwargs)


def finish(timeout: float | None = None) -> None:
    """Finish the current run."""
    if _current is not None:
        _current.finish(timeout)


def current_run() -> Run | None:
    return _current


def __getattr__(name: str) -> Any:
    # Lazy, so `import gradsight` does not import torch: `gradsight.clip_grad_norm_` is the
    # observed clip_grad_norm_ for loops that imported torch's before `watch` (docs/agent.md).
    if name == "clip_grad_norm_":
        from gradsight.capture.clipping import clip_grad_norm_

        return clip_grad_norm_
    raise AttributeError(f"module 'gradsight' has no attribute {name!r}")


__all__ = ["__version__", "clip_grad_norm_", "current_run", "finish", "init", "log"]
