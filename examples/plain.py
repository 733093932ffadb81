"""A plain PyTorch training loop with Gradsight: the four lines you add are marked ``# +``.

A small MLP classifies points of a synthetic spiral data set, with a cosine learning-rate
schedule, gradient clipping and a validation pass every 50 steps. Runs on the CPU in a few
seconds; nothing is downloaded.

    python examples/plain.py --server http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import nn

import gradsight


def spirals(n: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (n,), generator=g)
    radius = torch.rand(n, generator=g)
    angle = labels * (2 * math.pi / classes) + radius * 4 + torch.randn(n, generator=g) * 0.2
    points = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
    return points, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=None, help="Gradsight server (default $GRADSIGHT_URL)")
    parser.add_argument("--project", default="examples")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()

    torch.manual_seed(0)
    x_train, y_train = spirals(4096, classes=3, seed=0)
    x_val, y_val = spirals(1024, classes=3, seed=1)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)

    config = {"lr": args.lr, "batch_size": 64, "steps": args.steps, "model": "mlp-2x64"}
    run = gradsight.init(project=args.project, name="plain-loop", config=config, server=args.server)  # +
    run.watch(model, optimizer)  # +
    print(f"Run {run.id}: {run.url}", flush=True)

    for step in range(args.steps):
        batch = torch.randint(0, len(x_train), (64,))
        loss = nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(
            model.parameters(), max_norm=1.0
        )  # Gradsight records the norm before clipping
        optimizer.step()
        schedule.step()
        metrics = {"loss": loss}
        if step % 50 == 49 or step == args.steps - 1:
            with torch.no_grad():  # evaluation forwards never start a step
                logits = model(x_val)
                metrics["val/loss"] = nn.functional.cross_entropy(logits, y_val)
                metrics["val/acc"] = (logits.argmax(1) == y_val).float().mean()
            print(
                f"step {step + 1:4d}  loss {loss.item():.4f}  val/acc {metrics['val/acc'].item():.3f}",
                flush=True,
            )
        run.log(metrics)  # +  tensors are fine: no host sync is forced

    run.finish()  # +  (also runs at interpreter exit)
    print(f"Done: {run.url}", flush=True)


if __name__ == "__main__":
    main()
