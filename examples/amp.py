"""Automatic mixed precision with Gradsight, on the CPU.

``--dtype bf16`` (default): ``torch.autocast("cpu", dtype=torch.bfloat16)``; bfloat16 has
float32's range, so no loss scaling is needed. ``--dtype fp16``: float16 autocast with a
``GradScaler``, passed to ``run.watch(..., scaler=scaler)`` so the run records the loss scale
(``amp/loss_scale``) and the steps the scaler skips (``amp/skipped``: their infinite
gradients are the scaler at work, not an alarm). Runs in a few seconds.

    python examples/amp.py --server http://127.0.0.1:8000 --dtype fp16
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import gradsight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=None, help="Gradsight server (default $GRADSIGHT_URL)")
    parser.add_argument("--project", default="examples")
    parser.add_argument("--dtype", choices=("bf16", "fp16"), default="bf16")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()

    torch.manual_seed(0)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    model = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 128), nn.GELU(), nn.Linear(128, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    # float16 needs loss scaling; the initial scale of 2**16 overflows now and then and the
    # scaler backs off, skipping those steps, as on a GPU.
    scaler = torch.amp.GradScaler("cpu", enabled=args.dtype == "fp16")

    run = gradsight.init(
        project=args.project, name=f"amp-{args.dtype}", config={"dtype": args.dtype}, server=args.server
    )
    run.watch(model, optimizer, scaler=scaler if scaler.is_enabled() else None)
    print(f"Run {run.id}: {run.url}", flush=True)

    w = torch.randn(32, 1)
    for step in range(args.steps):
        x = torch.randn(64, 32)
        y = x @ w + 0.1 * torch.randn(64, 1)
        with torch.autocast("cpu", dtype=dtype):
            pred = model(x)
        loss = nn.functional.mse_loss(pred.float(), y)  # the loss in float32
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)  # so clipping (and Gradsight's grad_norm) see true gradients
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)  # skipped when the gradients overflowed
        scaler.update()
        run.log({"loss": loss})
        if step % 100 == 0:
            print(
                f"step {step:4d}  loss {loss.item():.4f}  scale {scaler.get_scale() if scaler.is_enabled() else 1.0:g}",
                flush=True,
            )

    run.finish()
    print(f"Done: {run.url}", flush=True)


if __name__ == "__main__":
    main()
