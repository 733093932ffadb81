"""Timing, throughput, AMP, MFU, and the agent's promise to change nothing about training."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from gradsight.errors import ErrorLog
from tests.support.capture import Captured
from tests.support.training import mlp, regression_batch


def slow_loader(n: int, delay: float, batch: int = 16) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for _ in range(n):
        time.sleep(delay)  # the input pipeline: what time/data_s must show
        yield regression_batch(batch)


def test_data_time_step_time_and_throughput() -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    cap = Captured(model, opt)
    for x, y in slow_loader(8, delay=0.05, batch=16):
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    table = cap.close()
    data, step = table["time/data_s"], table["time/step_s"]
    assert set(data) == set(range(1, 8))  # step 0 has no previous step to wait after
    assert all(0.045 <= data[s] < 0.5 for s in data), data
    assert all(step[s] >= data[s] for s in data)
    for s in range(1, 8):
        parts = table["time/forward_s"][s] + table["time/backward_s"][s] + table["time/optimizer_s"][s]
        assert parts <= step[s] - data[s] + 1e-3
        assert abs(table["throughput/samples_per_s"][s] - 16 / step[s]) < 1e-6 * 16 / step[s]
    assert "throughput/tokens_per_s" not in table  # float inputs are not token ids
    assert table["memory/rss_gb"] and all(0 < v < 64 for v in table["memory/rss_gb"].values())


def test_tokens_are_counted_from_integer_ids_across_accumulated_micro_batches() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(50, 8), torch.nn.Flatten(), torch.nn.Linear(8 * 6, 50))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    cap = Captured(model, opt)
    for _ in range(3):
        for _micro in range(2):  # gradient accumulation: two forwards, one update
            ids = torch.randint(0, 50, (4, 6))
            torch.nn.functional.cross_entropy(model(ids), ids[:, 0]).backward()
        opt.step()
        opt.zero_grad()
    table = cap.close()
    for s in range(3):
        assert abs(table["throughput/tokens_per_s"][s] * table["time/step_s"][s] - 48) < 1e-6
        assert abs(table["throughput/samples_per_s"][s] * table["time/step_s"][s] - 8) < 1e-6


def test_grad_scaler_skipped_steps_and_loss_scale() -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=2)
    cap = Captured(model, opt, scaler=scaler)
    for step in range(6):
        x, y = regression_batch()
        loss = torch.nn.functional.mse_loss(model(x), y)
        if step in (1, 2):
            loss = loss * float("inf")  # an fp16-style overflow: the scaler skips the update
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
    table = cap.close()
    assert table["amp/skipped"] == {0: 0.0, 1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0, 5: 0.0}
    assert table["amp/loss_scale"] == {0: 2.0**16, 1: 2.0**15, 2: 2.0**14, 3: 2.0**14, 4: 2.0**15, 5: 2.0**15}
    assert set(table["time/step_s"]) == set(range(6))  # skipped iterations are still steps
    assert 1 not in table["grad_norm"] and 2 not in table["grad_norm"]  # their inf grads: no alarm
    assert "step" not in scaler.__dict__  # the wrapper is removed with the watch


def test_mfu_from_measured_flops_and_a_configured_peak() -> None:
    model = mlp(width=64)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    cap = Captured(model, opt, peak_tflops=0.5)
    for _ in range(5):
        x, y = regression_batch(64)
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    table = cap.close()
    with FlopCounterMode(display=False) as counter:
        x, y = regression_batch(64)
        torch.nn.functional.mse_loss(model(x), y).backward()
    model.zero_grad()
    assert cap.watcher.flops_per_step == counter.get_total_flops()
    assert set(table["mfu"]) == {2, 3, 4}  # measured on step 1, known from then on
    for s in (2, 3, 4):
        assert abs(table["mfu"][s] - counter.get_total_flops() / table["time/step_s"][s] / 0.5e12) < 1e-12


def test_watching_changes_nothing_about_training() -> None:
    def train(watch: bool) -> list[float]:
        torch.manual_seed(1)
        model = torch.nn.Sequential(
            torch.nn.Linear(8, 32),
            torch.nn.Tanh(),
            torch.nn.Linear(32, 32),
            torch.nn.ReLU(),
            torch.nn.Linear(32, 1),
        )
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        cap = Captured(model, opt, update_every=2, spectral_every=2, activations=True) if watch else None
        losses = []
        for _ in range(12):
            x, y = regression_batch()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
        losses.append(float(torch.rand(())))  # the global RNG stream is untouched too
        if cap is not None:
            table = cap.close()
            assert {"act/kurtosis/1", "spectral/top_sv/0.weight", "update_ratio"} <= set(table)
        return losses

    assert train(watch=True) == train(watch=False)


def test_a_failing_hook_is_counted_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    errors = ErrorLog()

    @errors.guard("probe")
    def broken() -> None:
        raise RuntimeError("boom")

    broken()
    broken()
    assert errors.count == 2
    assert caplog.text.count("probe failed") == 1  # logged once, counted every time


def test_a_warning_kind_is_logged_once_even_when_its_text_changes(caplog: pytest.LogCaptureFixture) -> None:
    errors = ErrorLog()
    for step in range(5):
        errors.warn_once("nonfinite-gradients", f"non-finite gradients at step {step}")
    assert caplog.text.count("non-finite gradients at step") == 1
