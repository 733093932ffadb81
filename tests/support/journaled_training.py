"""A training process for tests that kill it: ``python -m tests.support.journaled_training
JOURNAL RUN_ID``. It trains the tiny MLP until killed, and after each step appends
"step loss wall_time" to JOURNAL (flushed), the ground truth of what the loop logged.
The agent's settings come from the GRADSIGHT_* environment, as in any training script."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

import gradsight
from tests.support.training import mlp, regression_batch


def main(journal_path: str, run_id: str) -> None:
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    run = gradsight.init(project="faults", name="killed", resume=run_id)
    run.watch(model, opt)
    with Path(journal_path).open("a", buffering=1) as journal:  # line-buffered: a line per step
        step = 0
        while True:
            x, y = regression_batch()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            run.log({"loss": loss})
            journal.write(f"{step} {loss.item()!r} {time.time()!r}\n")
            step += 1
            time.sleep(0.02)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
