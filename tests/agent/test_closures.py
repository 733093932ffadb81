"""``optimizer.step(closure)``: forward and backward run inside ``step()`` (LBFGS, Lightning's
automatic optimization), so gradients are measured when the closure returns, not before."""

from __future__ import annotations

import math

import torch

from tests.support.capture import Captured
from tests.support.training import mlp, regression_batch


def closure_loop(model: torch.nn.Module, opt: torch.optim.Optimizer, steps: int) -> list[float]:
    """Returns the true global gradient norm of each step, read inside the closure."""
    norms: list[float] = []
    for _ in range(steps):
        x, y = regression_batch()

        def closure(x: torch.Tensor = x, y: torch.Tensor = y) -> torch.Tensor:
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            if len(norms) < steps:
                grads = [p.grad for p in model.parameters() if p.grad is not None]
                norms.append(float(torch.nn.utils.get_total_norm(grads)))
            return loss

        opt.step(closure)
    return norms


def test_closure_steps_measure_the_gradients_the_closure_computed() -> None:
    model = mlp(seed=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    cap = Captured(model, opt, update_every=2)
    expected = closure_loop(model, opt, 6)
    table = cap.close()
    assert sorted(table["grad_norm"]) == list(range(6))
    for step, value in table["grad_norm"].items():
        assert math.isclose(value, expected[step], rel_tol=1e-5), (step, value, expected[step])
    assert set(table["update_ratio"]) == {0, 2, 4}  # the snapshot was taken, the update seen
    assert all(v > 0 for v in table["update_ratio"].values())
    assert set(table["time/optimizer_s"]) == set(range(6))


def test_lbfgs_line_search_evaluations_do_not_replace_the_step_gradients() -> None:
    model = mlp(seed=2)
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
    cap = Captured(model, opt)
    first_norms: list[float] = []
    for _ in range(3):
        x, y = regression_batch()
        calls = [0]

        def closure(x: torch.Tensor = x, y: torch.Tensor = y, calls: list[int] = calls) -> torch.Tensor:
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            if calls[0] == 0:
                grads = [p.grad for p in model.parameters() if p.grad is not None]
                first_norms.append(float(torch.nn.utils.get_total_norm(grads)))
            calls[0] += 1
            return loss

        opt.step(closure)
        assert calls[0] > 1  # LBFGS evaluated the closure again inside the step
    table = cap.close()
    # Each step is one optimizer.step(); its gradients are the first evaluation's.
    assert sorted(table["grad_norm"]) == [0, 1, 2]
    for step, value in table["grad_norm"].items():
        assert math.isclose(value, first_norms[step], rel_tol=1e-5)


def test_a_closure_that_raises_reaches_the_caller_unchanged() -> None:
    model = mlp(seed=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    cap = Captured(model, opt)

    def closure() -> torch.Tensor:
        raise KeyError("user bug")

    try:
        opt.step(closure)
    except KeyError as exc:
        assert exc.args == ("user bug",)
    else:
        raise AssertionError("the closure's exception was swallowed")
    cap.watcher.remove()
    assert cap.errors.count == 0
