"""Hugging Face ``Trainer``: ``Trainer(..., callbacks=[GradsightCallback(project="my-proj")])``.

- ``on_train_begin`` starts the run (config: the ``TrainingArguments`` and the model's
  config) and watches the model and the Trainer's optimizer (the torch optimizer inside
  Accelerate's wrapper; the AMP scaler when there is one).
- Steps are ``state.global_step``: every optimizer update, with all the micro-batches of
  gradient accumulation in one step.
- What the Trainer logs is forwarded at its step: ``loss`` (at the Trainer's
  ``logging_steps`` cadence: set ``logging_steps=1`` for a loss every step), ``eval_*`` as
  ``val/*`` (``eval_loss`` → ``val/loss``), ``epoch`` and the rest under their own names.
  The Trainer's ``learning_rate`` and ``grad_norm`` are left out: the agent measures ``lr``
  and the pre-clipping ``grad_norm`` itself, every step.
- The run is finished when training ends (unless you passed your own ``run=``).
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from gradsight.integrations.adapter import AdapterCallback, guarded, scalar_like
from gradsight.metric_names import validation_name

# Measured by the agent itself every step; the Trainer's copies are every logging_steps.
_MEASURED = {"learning_rate": "lr", "grad_norm": "grad_norm"}


class GradsightCallback(AdapterCallback, TrainerCallback):
    @guarded
    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        model: Any = None,
        optimizer: Any = None,
        **kwargs: Any,
    ) -> None:
        config: dict[str, Any] = {"trainer": args.to_sanitized_dict()}
        model_config = getattr(model, "config", None)
        if model_config is not None and hasattr(model_config, "to_diff_dict"):
            config["model"] = model_config.to_diff_dict()
        self.adapter.start(config)
        # Accelerate's optimizer wrapper holds the AMP GradScaler (None without fp16).
        self.adapter.watch(model, [optimizer], scaler=getattr(optimizer, "scaler", None))
        self.adapter.steps_from(state.global_step)

    @guarded
    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.adapter.follow_step(state.global_step)

    @guarded
    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        values = {}
        for given, value in (logs or {}).items():
            if not scalar_like(value) or (given in _MEASURED and self.adapter.watching):
                continue
            key = _MEASURED.get(given, given)
            values[validation_name(key) or key] = value
        self.adapter.log(values, state.global_step)

    @guarded
    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.adapter.finish()
