"""The rules, one module each (ids fixed by ARCHITECTURE.md). Each module has ``RULE`` and
``evaluate(data: RunData) -> list[Finding]``, a pure function of the run's data."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from gradsight_server.diagnosis.model import Finding
from gradsight_server.diagnosis.rules import (
    adam_epsilon_dominance,
    dead_units,
    divergence,
    exploding_gradients,
    grad_spike,
    input_pipeline_bound,
    loss_plateau,
    loss_scale_collapse,
    loss_spike,
    low_mfu,
    lr_too_high,
    lr_too_low,
    memory_headroom,
    nonfinite_gradients,
    overfitting,
    rank_collapse,
    rank_divergence,
    stalled_run,
    straggler,
    vanishing_gradients,
)
from gradsight_server.diagnosis.signals import RunData

Rule = Callable[[RunData], list[Finding]]
MODULES: tuple[ModuleType, ...] = (
    nonfinite_gradients,
    divergence,
    loss_spike,
    grad_spike,
    exploding_gradients,
    vanishing_gradients,
    lr_too_high,
    lr_too_low,
    loss_plateau,
    dead_units,
    adam_epsilon_dominance,
    loss_scale_collapse,
    rank_collapse,
    input_pipeline_bound,
    overfitting,
    memory_headroom,
    low_mfu,
    rank_divergence,
    straggler,
    stalled_run,
)
RULES: dict[str, Rule] = {module.RULE: module.evaluate for module in MODULES}
