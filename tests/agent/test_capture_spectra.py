"""Spectral statistics and activation health against direct computations."""

from __future__ import annotations

import math

import numpy as np
import torch

from gradsight.capture.powerlaw import fit_alpha
from gradsight.capture.spectral import EXACT_MAX_ELEMENTS, Spectral
from tests.support.capture import Captured
from tests.support.training import regression_batch


def matrix_with_spectrum(singular: np.ndarray, rows: int, seed: int = 0) -> torch.Tensor:
    """W = U·diag(s)·Vᵀ with random orthonormal U (rows × n) and V (n × n)."""
    rng = np.random.default_rng(seed)
    n = singular.size
    u, _ = np.linalg.qr(rng.standard_normal((rows, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return torch.tensor(u @ np.diag(singular) @ v.T, dtype=torch.float32)


def test_small_matrices_get_exact_top_singular_value_and_stable_rank() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 48), torch.nn.GELU(), torch.nn.Linear(48, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    cap = Captured(model, opt, spectral_every=2)
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    for step in range(6):
        x, y = regression_batch()
        torch.nn.functional.mse_loss(model(x), y.expand(-1, 4)).backward()
        opt.step()
        opt.zero_grad()
        snapshots[step] = {n: p.detach().clone() for n, p in model.named_parameters() if p.dim() == 2}
    table = cap.close()
    for name in ("0.weight", "2.weight"):
        visits = table[f"spectral/top_sv/{name}"]
        assert len(visits) == 3  # two matrices, one visit per step: each every 2 steps
        for step, sigma in visits.items():
            s = torch.linalg.svdvals(snapshots[step][name].double())
            assert math.isclose(sigma, float(s[0]), rel_tol=1e-5)
            stable = float((s * s).sum() / s[0] ** 2)
            assert math.isclose(table[f"spectral/stable_rank/{name}"][step], stable, rel_tol=1e-5)


def test_large_matrices_use_warm_started_power_iteration() -> None:
    n = 1024
    rows = EXACT_MAX_ELEMENTS // n + 512  # just over the exact-SVD limit
    singular = np.linspace(1.0, 0.1, n)
    singular[:3] = [9.0, 6.0, 5.0]  # a clear gap at the top
    weight = torch.nn.Parameter(matrix_with_spectrum(singular, rows))
    spectral = Spectral([("big.weight", weight)], include=None, every=1)
    first = spectral.measure_next().resolve()
    second = spectral.measure_next().resolve()  # warm start: a few iterations refine it
    assert "spectral/alpha/big.weight" not in first  # too large for the full spectrum
    assert math.isclose(first["spectral/top_sv/big.weight"], 9.0, rel_tol=1e-3)
    assert math.isclose(second["spectral/top_sv/big.weight"], 9.0, rel_tol=1e-5)
    stable = float(np.sum(singular**2) / 81.0)
    assert math.isclose(second["spectral/stable_rank/big.weight"], stable, rel_tol=1e-4)


def reference_alpha(lam: np.ndarray, xmin: float) -> float:
    """Continuous power-law MLE (Clauset et al. 2009, eq. 3.1) at a given λ_min."""
    tail = lam[lam >= xmin]
    return 1.0 + tail.size / float(np.sum(np.log(tail / xmin)))


def test_alpha_of_a_known_power_law_spectrum() -> None:
    rng = np.random.default_rng(3)
    for true_alpha in (2.5, 4.0):
        lam = (1.0 - rng.random(600)) ** (-1.0 / (true_alpha - 1.0))  # Pareto with λ_min = 1
        weight = torch.nn.Parameter(
            matrix_with_spectrum(np.sqrt(np.sort(lam)[::-1].copy()), rows=900, seed=7)
        )
        out = Spectral([("w", weight)], include=None, every=1).measure_next().resolve()
        alpha = out["spectral/alpha/w"]
        fitted, xmin, _ = fit_alpha(np.sort(lam))
        assert math.isclose(alpha, fitted, rel_tol=2e-3)  # float32 matrix vs float64 eigenvalues
        assert math.isclose(fitted, reference_alpha(lam, xmin), rel_tol=1e-9)
        assert abs(alpha - true_alpha) < 0.25 * true_alpha, (alpha, true_alpha)


def test_dead_units_saturation_outliers_and_kurtosis() -> None:
    torch.manual_seed(0)
    body = torch.nn.Linear(8, 32)
    with torch.no_grad():
        body.bias[:16] = -1e3  # half the ReLU units can never fire: dead
    squash = torch.nn.Linear(32, 16)
    with torch.no_grad():
        squash.weight.mul_(40.0)  # a tanh driven deep into saturation
    model = torch.nn.Sequential(body, torch.nn.ReLU(), squash, torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    cap = Captured(model, opt, activations=True, update_every=3)
    seen: dict[int, list[torch.Tensor]] = {1: [], 3: []}

    def keeper(index: int):  # type: ignore[no-untyped-def]
        def keep(_module: torch.nn.Module, _inputs: object, out: torch.Tensor) -> None:
            seen[index].append(out.detach().clone())

        return keep

    hooks = [model[i].register_forward_hook(keeper(i)) for i in (1, 3)]
    for _step in range(7):
        for _micro in range(2):
            x, y = regression_batch(16)
            torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    for hook in hooks:
        hook.remove()
    table = cap.close()
    assert set(table["act/dead_frac/1"]) == {0, 3, 6}  # sampled steps only
    for step in (0, 3, 6):
        window = torch.cat(seen[1][2 * step : 2 * step + 2])  # the step's two micro-batches
        dead = 1.0 - float((window > 0).any(dim=0).double().mean())
        assert table["act/dead_frac/1"][step] == dead >= 0.5  # the 16 forced units, at least
    outputs = torch.cat(seen[3][:2])  # step 0's window
    saturated = float((outputs.abs() > 0.99).double().mean())
    assert math.isclose(table["act/saturated_frac/3"][0], saturated, rel_tol=1e-6)
    assert table["act/saturated_frac/3"][0] > 0.5
    assert math.isclose(table["act/max_abs/3"][0], float(outputs.abs().max()), rel_tol=1e-6)
    x = outputs.double().flatten()
    d = x - x.mean()
    kurtosis = float((d**4).mean() / (d**2).mean() ** 2 - 3)
    assert math.isclose(table["act/kurtosis/3"][0], kurtosis, rel_tol=1e-6)
    assert "act/dead_frac/3" not in table and "act/saturated_frac/1" not in table
