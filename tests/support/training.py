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
