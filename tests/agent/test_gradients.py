"""Gradient norms captured by the real agent, read back through the real server."""

from __future__ import annotations

import math

import torch

import gradsight
from tests.support.api import raw_series, wait_finished
from tests.support.procs import Server
from tests.support.training import mlp, regression_batch, train


def test_grad_norm_equals_get_total_norm_every_step(server: Server) -> None:
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    run = gradsight.init(project="agent-tests", name="grad-norm", server=server.url)
    run.watch(model, opt)
    expected: dict[int, float] = {}

    def reference(step: int) -> None:
        expected[step] = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))

    train(run, model, opt, 40, after_backward=reference)
    run.finish()
    wait_finished(server.url, run.id)
    got = raw_series(server.url, run.id, "grad_norm")
    assert sorted(got) == list(range(40))
    for step, value in expected.items():
        assert math.isclose(got[step], value, rel_tol=1e-5), (step, got[step], value)
    assert len(raw_series(server.url, run.id, "loss")) == 40


def test_frozen_parameters_and_tied_weights_are_handled(server: Server) -> None:
    torch.manual_seed(0)
    emb = torch.nn.Embedding(20, 8)
    head = torch.nn.Linear(8, 20, bias=False)
    head.weight = emb.weight  # tied: one parameter, two modules
    frozen = torch.nn.Linear(8, 8)
    frozen.requires_grad_(False)
    model = torch.nn.Sequential(emb, frozen, head)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    run = gradsight.init(project="agent-tests", name="tied", server=server.url)
    run.watch(model, opt)
    expected = []
    for _ in range(5):
        ids = torch.randint(0, 20, (4, 6))
        loss = torch.nn.functional.cross_entropy(model(ids).reshape(-1, 20), ids.reshape(-1))
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        expected.append(float(torch.nn.utils.get_total_norm(grads)))
        opt.step()
        opt.zero_grad()
        run.log({"loss": loss})
    run.finish()
    wait_finished(server.url, run.id)
    got = raw_series(server.url, run.id, "grad_norm")
    assert [round(got[s] / expected[s], 6) for s in range(5)] == [1.0] * 5
    assert run.errors.count == 0
    # Token ids (batch × sequence) give a token throughput.
    assert len(raw_series(server.url, run.id, "throughput/tokens_per_s")) == 5


def test_nan_loss_and_gradients_survive_to_the_server(server: Server) -> None:
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    run = gradsight.init(project="agent-tests", name="nan", server=server.url)
    run.watch(model, opt)
    for step in range(6):
        x, y = regression_batch()
        if step == 3:
            x[0, 0] = float("nan")
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        run.log({"loss": loss, "inf_metric": float("inf") if step == 2 else 1.0})
    run.finish()
    wait_finished(server.url, run.id)
    loss = raw_series(server.url, run.id, "loss")
    assert all(math.isfinite(loss[s]) for s in range(3))
    assert all(math.isnan(loss[s]) for s in range(3, 6))  # weights are NaN after step 3
    assert math.isnan(raw_series(server.url, run.id, "grad_norm")[3])
    assert raw_series(server.url, run.id, "inf_metric")[2] == float("inf")


def test_every_family_reaches_the_server(server: Server) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 32),
        torch.nn.Tanh(),
        torch.nn.Linear(32, 1),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    run = gradsight.init(project="agent-tests", name="families", server=server.url)
    run.watch(model, opt, update_every=5, spectral_every=3, activations=True)
    train(run, model, opt, 20)
    run.finish()
    wait_finished(server.url, run.id)
    import httpx

    keys = set(httpx.get(f"{server.url}/api/v1/runs/{run.id}/keys").json()["items"])
    for family in (
        "grad_norm/",
        "param_norm/",
        "update_ratio/",
        "spike_frac/",
        "eps_frac/",
        "spectral/top_sv/",
        "spectral/stable_rank/",
        "spectral/alpha/",
        "act/dead_frac/",
        "act/saturated_frac/",
        "act/max_abs/",
        "act/kurtosis/",
    ):
        assert any(k.startswith(family) for k in keys), family
    for key in (
        "loss",
        "grad_norm",
        "lr",
        "update_ratio",
        "time/step_s",
        "time/forward_s",
        "time/backward_s",
        "time/optimizer_s",
        "throughput/samples_per_s",
        "memory/rss_gb",
    ):
        assert key in keys, key
    assert raw_series(server.url, run.id, "update_ratio/0.weight").keys() == {0, 5, 10, 15}
    assert run.errors.count == 0
    meta = httpx.get(f"{server.url}/api/v1/runs/{run.id}").json()["metadata"]
    assert meta["optimizers"][0]["class"] == "AdamW" and meta["optimizers"][0]["groups"][0]["eps"] == 1e-8
    n = sum(p.numel() for p in model.parameters())
    assert meta["params"] == {"total": n, "trainable": n, "non_embedding": n}
    assert meta["flops_per_step"] > 0 and meta["flops_method"] == "measured"
    assert meta["cpu_count"] >= 1
