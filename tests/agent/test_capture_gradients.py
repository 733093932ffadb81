"""Per-parameter gradient norms, non-finite counts and clipping, against direct computation."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from tests.support.capture import Captured
from tests.support.training import mlp, regression_batch

REL = 1e-5


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def test_per_parameter_and_global_norms_match_a_direct_computation() -> None:
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    cap = Captured(model, opt)
    expected: dict[int, dict[str, float]] = {}
    for step in range(12):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        expected[step] = {n: float(p.grad.norm()) for n, p in model.named_parameters()}  # type: ignore[union-attr]
        expected[step]["_total"] = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))  # type: ignore[misc]
        opt.step()
        opt.zero_grad()
    table = cap.close()
    assert cap.keys("grad_norm/") == {n for n, _ in model.named_parameters()}
    for step, norms in expected.items():
        assert close(table["grad_norm"][step], norms.pop("_total"))
        for name, value in norms.items():
            assert close(table[f"grad_norm/{name}"][step], value), (step, name)
    assert not any(k.startswith("nonfinite/") for k in table)


def test_every_and_include_exclude_bound_the_per_parameter_keys() -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    cap = Captured(model, opt, every=3, include=r"weight", exclude=r"^4\.")
    for _ in range(7):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    table = cap.close()
    assert cap.keys("grad_norm/") == {"0.weight", "2.weight"}
    assert set(table["grad_norm/0.weight"]) == {0, 3, 6}
    assert set(table["grad_norm"]) == set(range(7))  # the global norm is every step


def test_a_nan_injected_in_one_layer_is_reported_for_that_layer(caplog: pytest.LogCaptureFixture) -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    cap = Captured(model, opt)
    target = model[2].weight  # type: ignore[index]
    for step in range(4):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        if step == 2:
            target.grad[0, :3] = float("nan")
            target.grad[1, 0] = float("inf")
        opt.step()
        opt.zero_grad()
        if step == 2:
            with torch.no_grad():  # keep later steps finite: repair the poisoned row
                target.copy_(torch.nan_to_num(target, nan=0.0, posinf=0.0))
    with caplog.at_level(logging.WARNING, logger="gradsight"):
        table = cap.close()
    assert table["nonfinite/2.weight"] == {2: 4.0}
    assert [k for k in table if k.startswith("nonfinite/")] == ["nonfinite/2.weight"]
    assert math.isnan(table["grad_norm/2.weight"][2]) and math.isnan(table["grad_norm"][2])
    assert math.isfinite(table["grad_norm/0.weight"][2])
    assert "step 2" in caplog.text and "first in backward order: 2.weight" in caplog.text


def test_clipping_records_the_pre_clip_norm_and_that_it_clipped() -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    cap = Captured(model, opt)
    reference = []
    for _ in range(6):
        x, y = regression_batch()
        (10 * torch.nn.functional.mse_loss(model(x), y)).backward()
        per_param = {n: float(p.grad.norm()) for n, p in model.named_parameters()}  # type: ignore[union-attr]
        pre = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))  # type: ignore[misc]
        returned = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        post = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))  # type: ignore[misc]
        reference.append((per_param, pre, float(returned), post))
        opt.step()
        opt.zero_grad()
    table = cap.close()
    assert torch.nn.utils.clip_grad_norm_.__module__ == "torch.nn.utils.clip_grad"  # restored
    for step, (per_param, pre, returned, post) in enumerate(reference):
        assert close(table["grad_norm"][step], returned) and close(returned, pre)
        assert close(table["grad_norm/post_clip"][step], post, rel=1e-4)
        assert table["clip/applied"][step] == (1.0 if pre > 1.0 else 0.0)
        for name, value in per_param.items():  # per-parameter norms are pre-clip too
            assert close(table[f"grad_norm/{name}"][step], value)


def test_two_optimizers_give_one_global_norm() -> None:
    model = mlp()
    first = torch.optim.SGD(list(model.parameters())[:2], lr=1e-2)
    second = torch.optim.Adam(list(model.parameters())[2:], lr=1e-3)
    cap = Captured(model, [first, second])
    expected = []
    for _ in range(3):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        expected.append(float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])))  # type: ignore[misc]
        first.step()
        second.step()
        first.zero_grad()
        second.zero_grad()
    table = cap.close()
    assert [round(table["grad_norm"][s] / expected[s], 6) for s in range(3)] == [1.0] * 3
    assert len(cap.keys("grad_norm/")) == len(list(model.parameters()))


def test_a_loop_holding_the_original_function_can_use_gradsights() -> None:
    import gradsight

    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    cap = Captured(model, opt)
    x, y = regression_batch()
    (50 * torch.nn.functional.mse_loss(model(x), y)).backward()
    pre = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))  # type: ignore[misc]
    returned = gradsight.clip_grad_norm_(model.parameters(), 0.1)
    opt.step()
    table = cap.close()
    assert math.isclose(float(returned), pre, rel_tol=1e-6)
    assert close(table["grad_norm"][0], pre) and table["clip/applied"][0] == 1.0
