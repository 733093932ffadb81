"""PyTorch Lightning: ``Trainer(callbacks=[GradsightCallback(project="my-proj")])``.

- ``setup`` starts the run (config: the module's ``hparams`` and the trainer's settings);
  ``on_train_start`` watches the module and ``trainer.optimizers`` (and the AMP scaler).
- Each training batch logs the loss ``training_step`` returned (undoing Lightning's division
  by ``accumulate_grad_batches``); what the module logs with ``self.log`` is forwarded too,
  with ``val_*`` names as ``val/*`` (``val_loss`` → ``val/loss``). Sanity checks are skipped.
- Steps are ``trainer.global_step`` after each optimizer update, so with gradient
  accumulation one step holds all its micro-batches (their mean loss) and its gradients.
- The run is finished when fitting ends (unless you passed your own ``run=``).

Works with ``lightning`` (``import lightning.pytorch``) or the older ``pytorch_lightning``.
"""

from __future__ import annotations

from typing import Any

from gradsight.integrations.adapter import AdapterCallback, guarded, scalar_like
from gradsight.metric_names import validation_name

try:
    from lightning.pytorch import Callback, LightningModule, Trainer
except ImportError:  # the standalone package of Lightning < 2 and its users
    from pytorch_lightning import Callback, LightningModule, Trainer  # type: ignore[assignment,unused-ignore]


_TRAINER_SETTINGS = (
    "max_epochs",
    "max_steps",
    "accumulate_grad_batches",
    "gradient_clip_val",
    "gradient_clip_algorithm",
    "precision",
    "world_size",
)


class GradsightCallback(AdapterCallback, Callback):
    _metric_names: set[str] | frozenset[str] = frozenset()  # torchmetrics objects: read at epoch end
    _patched: LightningModule | None = None  # the module whose self.log is wrapped

    @guarded
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        settings = {k: _plain(getattr(trainer, k, None)) for k in _TRAINER_SETTINGS}
        self.adapter.start({**dict(pl_module.hparams), "trainer": settings})
        self._metric_names = set()
        self._forward_self_log(trainer, pl_module)

    @guarded
    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        self.adapter.watch(pl_module, trainer.optimizers, scaler=scaler)
        self.adapter.steps_from(trainer.global_step)

    @guarded
    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        # Lightning calls training_step, not the module's forward: say where micro-batches are.
        if self.run is not None:
            self.run.forward_begins(batch)

    @guarded
    def on_before_backward(self, trainer: Trainer, pl_module: LightningModule, loss: Any) -> None:
        if self.run is not None:
            self.run.forward_ends()

    @guarded
    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        values = {}
        if loss is not None and scalar_like(loss):
            # Automatic optimization divides the returned loss by accumulate_grad_batches.
            scale = trainer.accumulate_grad_batches if pl_module.automatic_optimization else 1
            values["loss"] = loss.detach() * scale if scale != 1 else loss.detach()
        self.adapter.log(values)
        self.adapter.follow_step(trainer.global_step)

    @guarded
    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._log_metric_objects(trainer)

    @guarded
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._log_metric_objects(trainer)

    @guarded
    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        if self._patched is not None:
            vars(self._patched).pop("log", None)  # the class's own LightningModule.log again
            self._patched = None
        self.adapter.finish()

    # -- self.log ---------------------------------------------------------------------

    def _forward_self_log(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Wrap the module's ``self.log`` (and so ``log_dict``) for this fit: Lightning records
        first, exactly as before; then the value is forwarded to the run (a tensor is read
        later by the transport thread, so this adds no host sync)."""
        original = pl_module.log

        def log(name: str, value: Any, *args: Any, **kwargs: Any) -> None:
            original(name, value, *args, **kwargs)
            self._forward(trainer, name, value)

        pl_module.log = log  # type: ignore[method-assign]  # an instance attribute: shadows LightningModule.log until teardown
        self._patched = pl_module

    @guarded
    def _forward(self, trainer: Trainer, name: str, value: Any) -> None:
        if trainer.sanity_checking:
            return
        if scalar_like(value):
            self.adapter.log(
                {validation_name(name) or name: value.detach() if hasattr(value, "detach") else value}
            )
        elif hasattr(value, "compute"):  # a torchmetrics Metric: Lightning computes it at epoch end
            self._metric_names = {*self._metric_names, name}

    def _log_metric_objects(self, trainer: Trainer) -> None:
        if trainer.sanity_checking or not self._metric_names:
            return
        metrics = trainer.callback_metrics
        values = {}
        for name in self._metric_names:
            value = metrics.get(name, metrics.get(f"{name}_epoch"))
            if value is not None and scalar_like(value):
                values[validation_name(name) or name] = value
        self.adapter.log(values)


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)
