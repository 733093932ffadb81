"""Training never fails, and never waits long, because the server is unreachable."""

from __future__ import annotations

import time

import torch

import gradsight
from tests.support.procs import free_port
from tests.support.training import mlp, train


def test_training_continues_when_the_server_port_is_closed() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    run = gradsight.init(project="p", name="offline-by-accident", server=closed)
    run.watch(model, opt)
    started = time.monotonic()
    losses = train(run, model, opt, 60)
    train_s = time.monotonic() - started
    t0 = time.monotonic()
    run.finish(timeout=2.0)
    finish_s = time.monotonic() - t0
    assert len(losses) == 60 and losses[-1] < losses[0]
    assert finish_s < 10.0, f"finish took {finish_s:.1f} s with a 2 s timeout"
    assert train_s < 30.0
    assert run.errors.count == 0  # an unreachable server is expected, not an agent error


def test_garbage_values_are_dropped_not_raised() -> None:
    run = gradsight.init(project="p", server=f"http://127.0.0.1:{free_port()}")
    run.log({"ok": 1.0, "text": "hello", "vector": torch.ones(3), ",bad": 1.0, "_reserved": 2})
    run.log({"loss": 1.0}, step=-5)  # invalid step: reported, not raised
    run.finish(timeout=0.5)
    assert run.errors.count == 1
