"""Tiny real models and a plain training loop for tests (CPU, deterministic)."""

from __future__ import annotations

from collections.abc import Callable

import torch

import gradsight.run


def mlp(seed: int = 0, width: int = 16) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(8, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, 1),
    )


def regression_batch(batch: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(batch, 8)
    return x, (x[:, :4].sum(1, keepdim=True) - x[:, 4:].prod(1, keepdim=True))


def train(
    run: gradsight.run.Run,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    steps: int,
    *,
    after_backward: Callable[[int], None] | None = None,
) -> list[float]:
    """The usual loop: forward, backward, step, then log the loss. Returns the losses."""
    losses = []
    for step in range(steps):
        x, y = regression_batch()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        if after_backward is not None:
            after_backward(step)
        opt.step()
        opt.zero_grad()
        run.log({"loss": loss})
        losses.append(loss.item())
    return losses


def unstable(run: gradsight.run.Run, steps: int = 1200, blow_up_at: int = 900, seed: int = 0) -> None:
    """A training with an injected instability: a small MLP on a regression task learns with
    Adam at lr=1e-3, then at ``blow_up_at`` the learning rate jumps to 0.5 (a schedule bug):
    gradient and loss spikes, and a divergence the engine diagnoses within seconds. Watched
    with ``update_every=5`` so per-layer families fill a heatmap; ~3 s on a CPU."""
    torch.manual_seed(seed)
    model = mlp(seed, width=64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    run.watch(model, opt, update_every=5)
    for step in range(steps):
        if step == blow_up_at:
            for group in opt.param_groups:
                group["lr"] = 0.5
        x, y = regression_batch(64)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        run.log({"loss": loss})
