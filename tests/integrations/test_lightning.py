"""``gradsight.integrations.lightning.GradsightCallback`` on a real Lightning ``Trainer``, tiny
model, CPU, against a real embedded server."""

from __future__ import annotations

import math
from typing import Any

import httpx
import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from gradsight.integrations.lightning import GradsightCallback
from tests.support.api import get_run, raw_series, wait_finished
from tests.support.embedded import Embedded


class Regressor(pl.LightningModule):
    """Records what Lightning computed so the test can compare the run with it."""

    def __init__(self, lr: float = 0.05, width: int = 16) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, width), torch.nn.Tanh(), torch.nn.Linear(width, 1))
        self.micro_losses: list[float] = []
        self.pre_clip_norms: list[float] = []
        self.val_losses: dict[int, list[float]] = {}

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.micro_losses.append(loss.item())
        self.log("train_mae", (self.net(x) - y).abs().mean())
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        self.pre_clip_norms.append(float(torch.nn.utils.get_total_norm(grads)))

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        if not self.trainer.sanity_checking:
            self.val_losses.setdefault(self.trainer.global_step, []).append(loss.item())
        self.log("val_loss", loss)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


def data(n: int, seed: int) -> DataLoader[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = x[:, :4].sum(1, keepdim=True) - x[:, 4:].sum(1, keepdim=True)
    return DataLoader(TensorDataset(x, y), batch_size=8)


def trainer(callback: GradsightCallback, **kwargs: Any) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        devices=1,
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def test_steps_losses_gradients_and_validation_follow_lightning(server: Embedded, tmp_path: Any) -> None:
    torch.manual_seed(0)
    model = Regressor()
    callback = GradsightCallback(project="lightning", name="accumulate", server=server.url, update_every=2)
    fit = trainer(
        callback,
        max_epochs=2,
        accumulate_grad_batches=2,
        gradient_clip_val=0.5,
        num_sanity_val_steps=1,
        default_root_dir=tmp_path,
    )
    fit.fit(model, data(64, 1), data(16, 2))  # 8 micro-batches per epoch: 4 optimizer steps
    assert callback.run is None  # finished and released at the end of the fit
    runs = httpx.get(f"{server.url}/api/v1/runs", params={"project": "lightning"}).json()["items"]
    assert len(runs) == 1
    run = wait_finished(server.url, runs[0]["id"])
    assert run["config"]["lr"] == 0.05 and run["config"]["width"] == 16
    assert run["config"]["trainer"]["accumulate_grad_batches"] == 2

    steps = list(range(1, 9))  # trainer.global_step after each of the 8 updates
    loss = raw_series(server.url, run["id"], "loss")
    assert sorted(loss) == steps
    for step in steps:  # each step holds the mean of its two micro-batches
        expected = sum(model.micro_losses[2 * (step - 1) : 2 * step]) / 2
        assert math.isclose(loss[step], expected, rel_tol=1e-5), (step, loss[step], expected)

    grad_norm = raw_series(server.url, run["id"], "grad_norm")
    assert sorted(grad_norm) == steps
    for step in steps:  # before clipping, although Lightning clipped inside optimizer.step()
        assert math.isclose(grad_norm[step], model.pre_clip_norms[step - 1], rel_tol=1e-5)
    assert any(v > 0.5 for v in grad_norm.values())  # so clipping did change something
    assert raw_series(server.url, run["id"], "clip/applied")

    assert set(raw_series(server.url, run["id"], "lr").values()) == {0.05}
    assert sorted(raw_series(server.url, run["id"], "train_mae")) == steps
    val = raw_series(server.url, run["id"], "val/loss")
    assert sorted(val) == sorted(model.val_losses) == [4, 8]  # not the sanity check
    for step, values in model.val_losses.items():
        assert math.isclose(val[step], sum(values) / len(values), rel_tol=1e-5)
    keys = set(httpx.get(f"{server.url}/api/v1/runs/{run['id']}/keys").json()["items"])
    assert {"grad_norm/net.0.weight", "update_ratio", "time/step_s", "time/forward_s"} <= keys
    samples = raw_series(server.url, run["id"], "throughput/samples_per_s")
    assert len(samples) == 8 and all(v > 0 for v in samples.values())  # 16 samples per step
    assert "val_loss" not in keys and "agent/errors" not in keys


def test_a_run_passed_in_stays_open_and_hooks_never_raise(server: Embedded) -> None:
    import gradsight

    run = gradsight.init(project="lightning", name="given", server=server.url)
    callback = GradsightCallback(run=run)
    fit = trainer(callback, max_steps=3, limit_val_batches=0)
    fit.fit(Regressor(), data(32, 3))
    assert callback.run is run and get_run(server.url, run.id)["status"] == "running"
    # Nonsense from a broken framework or plugin is counted, never raised into training.
    callback.on_train_batch_end(None, None, {"loss": object()}, None, 0)  # type: ignore[arg-type]
    callback.setup(None, None, "fit")  # type: ignore[arg-type]
    assert run.errors.count == 2
    run.finish()
    assert sorted(raw_series(server.url, run.id, "loss")) == [1, 2, 3]
    assert raw_series(server.url, run.id, "agent/errors")
