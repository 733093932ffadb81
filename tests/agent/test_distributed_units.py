"""The agent's distributed pieces on their own: rank discovery and the shared run id, which
keys each rank ships, and the noise-scale estimator against a known noise scale."""

from __future__ import annotations

import numpy as np
import pytest

from gradsight.distributed.keys import LOCAL_NORM, RankKeys
from gradsight.distributed.noise_scale import NoiseScale
from gradsight.distributed.topology import Topology, discover, job_run_id


def test_rank_and_world_come_from_the_launchers_environment() -> None:
    assert discover({"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}) == Topology(3, 8, 1, "env")
    assert discover({"SLURM_PROCID": "2", "SLURM_NTASKS": "4", "SLURM_LOCALID": "0"}) == Topology(
        2, 4, 0, "slurm"
    )
    assert discover({}) == Topology()
    assert discover({"RANK": "5", "WORLD_SIZE": "2"}) == Topology()  # inconsistent: not trusted


def test_every_rank_of_a_job_derives_the_same_run_id_and_other_jobs_another() -> None:
    job = {"TORCHELASTIC_RUN_ID": "a1b2", "MASTER_ADDR": "node-3", "MASTER_PORT": "29500", "RANK": "0"}
    same = job_run_id({**job, "RANK": "7", "LOCAL_RANK": "3"})
    assert job_run_id(job) == same and same is not None and same.startswith("job-") and len(same) <= 64
    assert job_run_id({**job, "TORCHELASTIC_RUN_ID": "c3d4"}) != same
    assert (
        job_run_id({"TORCHELASTIC_RUN_ID": "none", "MASTER_PORT": "29500"}) is None
    )  # torchrun's placeholder
    assert job_run_id({"SLURM_JOB_ID": "991", "SLURM_STEP_ID": "0"}) is not None


def test_rank_zero_ships_everything_and_its_per_rank_copies() -> None:
    keys = RankKeys(Topology(0, 4), every=1, user="^loss$")
    assert keys.names("loss", 5) == ("loss", "rank/0/loss")
    assert keys.names("grad_norm", 5) == ("grad_norm",)  # the global norm
    assert keys.names(LOCAL_NORM, 5) == ("rank/0/grad_norm",)  # the local one, never under its own name
    assert keys.names("time/data_s", 5) == ("time/data_s", "rank/0/time/data_s")
    assert keys.names("grad_norm/fc.weight", 5) == ("grad_norm/fc.weight",)
    assert keys.names("agent/errors", 5) == ("agent/errors",)


def test_other_ranks_ship_only_their_own_scalars_at_their_cadence() -> None:
    keys = RankKeys(Topology(3, 4), every=10, user="^(loss|acc)$")
    assert keys.names("loss", 20) == ("rank/3/loss",)
    assert keys.names("loss", 21) == ()  # between per-rank steps
    assert keys.names("acc", 30) == ("rank/3/acc",)
    assert keys.names("grad_norm", 20) == ()  # identical to rank 0's after the all-reduce
    assert keys.names("grad_norm/fc.weight", 20) == ()
    assert keys.names(f"{LOCAL_NORM}/fc.weight", 7) == (
        "rank/3/grad_norm/fc.weight",
    )  # sampled by its own cadence
    assert keys.names("agent/errors", 21) == ("rank/3/agent/errors",)
    assert keys.names("val/loss", 20) == ()


def test_a_single_process_ships_no_rank_keys() -> None:
    keys = RankKeys(Topology())
    assert keys.names("loss", 0) == ("loss",) and keys.names(LOCAL_NORM, 0) == ()


def test_the_noise_scale_estimate_recovers_a_known_noise_scale() -> None:
    # Per-sample gradients g = G + noise with tr(Σ) = dim·σ²: B_simple = tr(Σ)/|G|² exactly.
    rng = np.random.default_rng(0)
    dim, sigma, b, world = 200, 0.5, 8, 4
    true = rng.normal(size=dim)
    true *= 1.0 / np.linalg.norm(true)  # |G|² = 1
    expected = dim * sigma**2  # 50 samples
    estimator = NoiseScale(beta=0.99)
    value = None
    for _ in range(3000):
        locals_ = [true + rng.normal(scale=sigma, size=(b, dim)).mean(axis=0) for _ in range(world)]
        local_sq = float(np.sum(locals_[0] ** 2))  # rank 0's only, as the agent does
        global_sq = float(np.sum(np.mean(locals_, axis=0) ** 2))
        value = estimator.update(local_sq, global_sq, b, world)
    assert value == pytest.approx(expected, rel=0.25)


def test_the_noise_scale_needs_two_ranks_and_finite_norms() -> None:
    estimator = NoiseScale()
    assert estimator.update(1.0, 0.5, 8, 1) is None
    assert estimator.update(float("inf"), 0.5, 8, 4) is None and estimator.updates == 0
    with pytest.raises(ValueError):
        NoiseScale(beta=1.0)
