"""The CUDA code paths of the agent: pinned-memory deferred reads, host-side update snapshots,
armed non-finite counting, CUDA-event timings and memory gauges. They run wherever a CUDA
device exists and are skipped, with that reason, where none does (these machines)."""

from __future__ import annotations

import math

import pytest
import torch

from gradsight.capture.deferred import Deferred
from tests.support.capture import Captured

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; this machine has none"),
]


def cuda_mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1)).cuda()


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(32, 8, device="cuda")
    return x, x.sum(1, keepdim=True)


def test_deferred_reads_back_through_pinned_memory() -> None:
    value = torch.arange(5, dtype=torch.float32, device="cuda") * 1.5
    deferred = Deferred(value)
    assert deferred.resolve_vector().tolist() == [0.0, 1.5, 3.0, 4.5, 6.0]
    assert deferred.resolve_vector().tolist() == [0.0, 1.5, 3.0, 4.5, 6.0]  # cached: safe to read twice


def test_norms_updates_timings_and_memory_on_cuda() -> None:
    model = cuda_mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    cap = Captured(model, opt, update_every=2)
    expected_norms, expected_ratios = {}, {}
    for step in range(5):
        x, y = batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        expected_norms[step] = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))  # type: ignore[misc]
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        opt.step()
        opt.zero_grad()
        if step % 2 == 0:
            expected_ratios[step] = {
                n: float((p - before[n]).norm() / before[n].norm()) for n, p in model.named_parameters()
            }
    table = cap.close()
    for step, norm in expected_norms.items():
        assert math.isclose(table["grad_norm"][step], norm, rel_tol=1e-5)
    for step, ratios in expected_ratios.items():
        for name, ratio in ratios.items():
            assert math.isclose(table[f"update_ratio/{name}"][step], ratio, rel_tol=1e-4)
    for key in (
        "time/forward_s",
        "time/backward_s",
        "time/optimizer_s",
        "memory/allocated_gb",
        "memory/reserved_gb",
    ):
        assert set(table[key]) == set(range(5)), key
        assert all(v >= 0 for v in table[key].values())


def test_nonfinite_counts_are_armed_after_the_first_nan_on_cuda() -> None:
    model = cuda_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    cap = Captured(model, opt)
    for step in range(4):
        x, y = batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        if step >= 1:
            model[2].weight.grad[0, :2] = float("nan")  # type: ignore[index]
        opt.step()
        opt.zero_grad()
        with torch.no_grad():
            model[2].weight.nan_to_num_(0.0)  # type: ignore[index]
        cap.collect()  # the transport thread reads norms each flush; that arms the counting
    table = cap.close()
    assert math.isnan(table["grad_norm/2.weight"][1])  # seen from the norms at once
    assert table["nonfinite/2.weight"][3] == 2.0  # counted once armed
