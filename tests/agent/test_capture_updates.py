"""Update/weight ratios, parameter norms, Adam-state statistics and learning rates."""

from __future__ import annotations

import math

import torch

from gradsight.capture.updates import UpdateStep, UpdateTracker
from tests.support.capture import Captured
from tests.support.training import mlp, regression_batch


def close(a: float, b: float, rel: float = 1e-5) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def test_update_ratios_and_param_norms_are_exact_every_n_steps() -> None:
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    cap = Captured(model, opt, update_every=5)
    reference: dict[int, dict[str, tuple[float, float]]] = {}
    for step in range(16):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        opt.step()
        opt.zero_grad()
        if step % 5 == 0:
            reference[step] = {
                n: (float((p.detach() - before[n]).norm() / before[n].norm()), float(p.detach().norm()))
                for n, p in model.named_parameters()
            }
    table = cap.close()
    assert set(table["update_ratio"]) == {0, 5, 10, 15}
    for step, per_param in reference.items():
        for name, (ratio, norm) in per_param.items():
            assert close(table[f"update_ratio/{name}"][step], ratio), (step, name)
            assert close(table[f"param_norm/{name}"][step], norm), (step, name)
    # The global ratio is ‖Δθ‖/‖θ‖ over all parameters at once.
    assert 0 < table["update_ratio"][5] < 1


def test_global_update_ratio_matches_a_snapshot() -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    cap = Captured(model, opt, update_every=1)
    expected = []
    for _ in range(3):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        opt.step()
        opt.zero_grad()
        after = torch.cat([p.detach().flatten() for p in model.parameters()])
        expected.append(float((after - before).norm() / before.norm()))
    table = cap.close()
    assert all(close(table["update_ratio"][s], expected[s]) for s in range(3))


def test_a_small_snapshot_budget_rotates_and_stays_exact() -> None:
    model = mlp(width=32)
    named = list(model.named_parameters())
    biggest = max(p.numel() * p.element_size() for _, p in named)
    tracker = UpdateTracker(named, include=None, budget_bytes=biggest)  # one or two tensors per step
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen: dict[str, float] = {}
    for _ in range(len(named)):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        before = {n: p.detach().clone() for n, p in named}
        snap = tracker.before_step()
        opt.step()
        part = tracker.after_step(snap)
        opt.zero_grad()
        step = UpdateStep()
        assert part is not None
        step.parts.append(part)
        out = step.resolve()
        ratios = {k.removeprefix("update_ratio/"): v for k, v in out.items() if k.startswith("update_ratio/")}
        assert sum(dict(named)[n].numel() * 4 for n in ratios) <= biggest
        for name, value in ratios.items():
            p = dict(named)[name]
            assert close(value, float((p.detach() - before[name]).norm() / before[name].norm()))
            seen[name] = value
        assert len([k for k in out if k.startswith("param_norm/")]) == len(named)  # all, every time
    assert set(seen) == {n for n, _ in named}  # the rotation reached every parameter


def test_adam_state_fractions_match_the_criteria_on_the_state() -> None:
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-3)  # a large ε so eps_frac is visible
    cap = Captured(model, opt, update_every=4)
    reference: dict[int, dict[str, tuple[float, float]]] = {}
    for step in range(13):
        x, y = regression_batch()
        loss = torch.nn.functional.mse_loss(model(x), y)
        if step == 8:
            loss = loss * 1e4  # a gradient spike: g² ≫ 5000·v for many elements
        loss.backward()
        if step % 4 == 0 and step > 0:
            per_param = {}
            for name, p in model.named_parameters():
                state = opt.state[p]
                v = state["exp_avg_sq"].double()
                g = p.grad.double()  # type: ignore[union-attr]
                v_hat = v / (1 - 0.999 ** float(state["step"]))
                spike = float((g * g > 5000.0 * v_hat).double().mean())
                eps_frac = float(((v_hat.sqrt() < 10 * 1e-3) & (v > 0)).double().mean())
                per_param[name] = (spike, eps_frac)
            reference[step] = per_param
        opt.step()
        opt.zero_grad()
    table = cap.close()
    assert 0 not in table.get("spike_frac/0.weight", {})  # no Adam state before the first step
    for step, per_param in reference.items():
        for name, (spike, eps_frac) in per_param.items():
            assert close(table[f"spike_frac/{name}"][step], spike, rel=1e-6), (step, name)
            assert close(table[f"eps_frac/{name}"][step], eps_frac, rel=1e-6), (step, name)
    assert table["spike_frac/0.weight"][8] > 0.1
    assert any(table[f"eps_frac/{n}"][4] > 0 for n, _ in model.named_parameters())


def test_optimizers_without_adam_state_give_no_state_keys() -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    cap = Captured(model, opt, update_every=2)
    for _ in range(5):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    table = cap.close()
    assert not any(k.startswith(("spike_frac/", "eps_frac/")) for k in table)
    assert "update_ratio" in table


def test_learning_rate_per_param_group() -> None:
    model = mlp()
    params = list(model.parameters())
    opt = torch.optim.AdamW(
        [{"params": params[:2], "lr": 1e-3, "name": "body"}, {"params": params[2:], "lr": 5e-4}], lr=1e-3
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (s + 1))
    cap = Captured(model, opt)
    for _ in range(3):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
        opt.zero_grad()
    table = cap.close()
    # lr is read in the optimizer post-hook: the rate this step used, before the scheduler moved it.
    assert [table["lr"][s] for s in range(3)] == [1e-3, 5e-4, 1e-3 / 3]
    assert table["lr/body"] == table["lr"]
    assert close(table["lr/1"][2], 5e-4 / 3)
