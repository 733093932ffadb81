"""Hugging Face Accelerate, the documented pattern (docs/integrations.md): watch the prepared
model and optimizer; gradient accumulation and clipping through the Accelerator."""

from __future__ import annotations

import math

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader, TensorDataset

import gradsight
from tests.support.api import raw_series, wait_finished
from tests.support.embedded import Embedded
from tests.support.training import mlp


def test_accumulation_and_clipping_through_the_accelerator(server: Embedded) -> None:
    torch.manual_seed(0)
    x = torch.randn(96, 8)
    y = x[:, :4].sum(1, keepdim=True) - x[:, 4:].prod(1, keepdim=True)
    accelerator = Accelerator(gradient_accumulation_steps=3, cpu=True)
    model = mlp(seed=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model, optimizer, loader = accelerator.prepare(
        model, optimizer, DataLoader(TensorDataset(x, y), batch_size=8)
    )

    run = gradsight.init(project="accelerate", name="accumulate-3", server=server.url)
    run.watch(model, optimizer)  # the Accelerate wrappers: the torch optimizer inside is hooked
    pre_clip: list[float] = []
    micro_losses: list[float] = []
    for inputs, targets in loader:
        with accelerator.accumulate(model):
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                pre_clip.append(float(accelerator.clip_grad_norm_(model.parameters(), 0.5)))
            optimizer.step()
            optimizer.zero_grad()
        run.log({"loss": loss})
        micro_losses.append(loss.item())
    run.finish()

    wait_finished(server.url, run.id)
    steps = list(range(4))  # 12 micro-batches, an update every 3
    grad_norm = raw_series(server.url, run.id, "grad_norm")
    assert sorted(grad_norm) == steps
    for step in steps:
        assert math.isclose(grad_norm[step], pre_clip[step], rel_tol=1e-5)
    loss_series = raw_series(server.url, run.id, "loss")
    assert sorted(loss_series) == steps
    for step in steps:
        expected = sum(micro_losses[3 * step : 3 * step + 3]) / 3
        assert math.isclose(loss_series[step], expected, rel_tol=1e-5)
    assert sorted(raw_series(server.url, run.id, "update_ratio")) == [0]  # update_every=10
    assert set(raw_series(server.url, run.id, "lr").values()) == {3e-3}
