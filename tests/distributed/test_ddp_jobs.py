"""Real data-parallel jobs (torchrun, gloo, 2–3 CPU processes) through a real embedded
server: one run per job with every rank's scalars, the rank-local gradient norm taken
before the all-reduce, the gradient noise scale, and the distributed rules — quiet on a
healthy job, ``rank_divergence`` on a rank with different data and on an unsharded sampler,
``straggler`` on a rank that sleeps every step, ``stalled_run`` on a hung collective; a killed
rank costs the other ranks none of their data."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest

from tests.distributed.jobs import alarms, diagnoses, launch, run_job, settled, stop
from tests.support.api import get_run, raw_series
from tests.support.procs import Server, wait_until

Srv = tuple[Server, Path]


def test_a_healthy_job_is_one_run_with_every_ranks_scalars_and_no_alarm(server: Srv, tmp_path: Path) -> None:
    srv, db = server
    run_id = run_job(
        srv.url,
        tmp_path,
        "healthy",
        3,
        *("--steps", "80", "--fault", "none", "--reference-norm"),
        env={"GRADSIGHT_RANK_KEYS": "^(loss|ref_local_norm)$"},
    )
    items = settled(srv.url, db, run_id)
    assert not alarms(items), items

    runs = httpx.get(f"{srv.url}/api/v1/runs", params={"q": "healthy"}).json()["items"]
    assert [r["id"] for r in runs] == [run_id]  # three ranks, one run
    run = get_run(srv.url, run_id)
    assert run["metadata"]["distributed"]["world_size"] == 3
    assert {run["metadata"][f"rank/{k}"]["local_rank"] for k in range(3)} == {0, 1, 2}
    assert run["config"] == {"batch": 16, "world": 3}  # rank 0's config; other ranks send none

    keys = set(httpx.get(f"{srv.url}/api/v1/runs/{run_id}/keys").json()["items"])
    for k in range(3):
        for metric in ("loss", "grad_norm", "time/step_s", "time/data_s", "time/forward_s"):
            assert f"rank/{k}/{metric}" in keys
    # Other ranks ship only their own scalars: no per-layer keys of theirs, no second copy
    # of the model-wide telemetry (a rank's values would overwrite rank 0's otherwise).
    assert not [k for k in keys if k.startswith("rank/") and k.count("/") > 2 and "/time/" not in k]
    assert "ref_local_norm" in keys and "rank/1/ref_local_norm" in keys
    assert "grad_norm/module.0.weight" in keys and "rank/1/agent/errors" not in keys

    steps = range(80)
    local = [raw_series(srv.url, run_id, f"rank/{k}/grad_norm") for k in range(3)]
    glob = raw_series(srv.url, run_id, "grad_norm")
    assert all(set(s) == set(steps) for s in local) and set(glob) == set(steps)
    for k in range(3):  # measured before the all-reduce: the rank's own batch's gradient
        reference = raw_series(srv.url, run_id, f"rank/{k}/ref_local_norm")
        assert all(local[k][s] == pytest.approx(reference[s], rel=1e-4) for s in steps)
    for step in steps:
        norms = [s[step] for s in local]
        # The global gradient is the mean of the local ones: |mean g_k| <= mean |g_k|, with
        # equality only if every rank's gradient were the same (they are not: other batches).
        assert glob[step] < sum(norms) / 3
        assert len({round(n, 9) for n in norms}) == 3
    losses = [raw_series(srv.url, run_id, f"rank/{k}/loss") for k in range(3)]
    assert raw_series(srv.url, run_id, "loss") == losses[0]

    gns = raw_series(srv.url, run_id, "grad_noise_scale")
    assert len(gns) >= 60 and all(math.isfinite(v) and v > 0 for v in gns.values())
    advice = httpx.get(f"{srv.url}/api/v1/runs/{run_id}/advisor").json()["gradient_noise_scale"]
    assert advice["batch"] == pytest.approx(48)  # 16 samples per rank × 3 ranks
    assert advice["critical_batch"] == pytest.approx(sorted(gns.values())[len(gns) // 2], rel=0.5)


def test_a_rank_with_different_data_is_rank_divergence(server: Srv, tmp_path: Path) -> None:
    srv, db = server
    run_id = run_job(
        srv.url, tmp_path, "data-seed", 3, "--steps", "100", "--fault", "data_seed", "--fault-rank", "2"
    )
    items = settled(srv.url, db, run_id)
    (found,) = [d for d in items if d["rule"] == "rank_divergence" and d["status"] == "open"]
    assert found["severity"] == "warning"
    assert found["evidence"]["outliers"] == [2]
    assert "Rank 2 trains on different data" in found["summary"]
    assert "set_epoch" in found["recommendations"][0]["detail"]
    assert {r for r, _ in alarms(items)} == {"rank_divergence"}


def test_an_unsharded_sampler_is_rank_divergence(server: Srv, tmp_path: Path) -> None:
    srv, db = server
    run_id = run_job(srv.url, tmp_path, "unsharded", 3, "--steps", "60", "--fault", "unsharded")
    items = settled(srv.url, db, run_id)
    (found,) = [d for d in items if d["rule"] == "rank_divergence" and d["status"] == "open"]
    assert found["severity"] == "warning" and "same local loss and local grad norm" in found["summary"]
    assert "DistributedSampler" in found["recommendations"][0]["params"]["code"]


def test_a_rank_sleeping_every_step_is_a_straggler(server: Srv, tmp_path: Path) -> None:
    srv, db = server
    run_id = run_job(
        srv.url,
        tmp_path,
        "straggler",
        2,
        "--steps",
        "60",
        "--fault",
        "sleep",
        "--fault-rank",
        "1",
        "--sleep-s",
        "0.05",
    )
    items = settled(srv.url, db, run_id)
    assert alarms(items) == [("straggler", "warning")], items
    (found,) = [d for d in items if d["rule"] == "straggler"]
    assert found["evidence"]["ranks"] == [1]
    assert found["evidence"]["components"]["time/data_s"]["rank"] >= 0.05
    assert found["recommendations"][0]["action"].startswith("Fix rank 1's input pipeline")


def test_a_killed_rank_does_not_lose_the_other_ranks_data(server: Srv, tmp_path: Path) -> None:
    srv, _ = server
    proc = launch(srv.url, tmp_path, "killed", 3, "--steps", "60", "--fault", "kill", "--fault-rank", "2")
    try:
        proc.wait(timeout=120)  # rank 2 dies at step 20; the others fail in the next all-reduce
    finally:
        stop(proc)
    run_id = (tmp_path / "killed.id").read_text()
    # Ranks 0 and 1 closed steps 0–19 (step 19 closes at step 20's forward, where they then
    # block); rank 2 died before its step-20 forward, so its step 19 was still open.
    expected = {0: set(range(20)), 1: set(range(20)), 2: set(range(19))}

    def complete() -> bool:
        return all(set(raw_series(srv.url, run_id, f"rank/{k}/loss")) >= expected[k] for k in range(3))

    wait_until(complete, 30, "every rank's steps before the kill")
    expected_others = expected[0]
    for k in (0, 1):
        assert set(raw_series(srv.url, run_id, f"rank/{k}/grad_norm")) >= expected_others
    assert set(raw_series(srv.url, run_id, "loss")) >= expected_others


def test_a_hung_collective_is_a_stalled_run(server: Srv, tmp_path: Path) -> None:
    srv, _ = server
    # Rank 1 blocks forever at step 15 (a deadlocked loader); rank 0 then waits in the
    # all-reduce. Both processes live, and both agents heartbeat (every 0.5 s here).
    proc = launch(
        srv.url,
        tmp_path,
        "hung",
        2,
        *("--steps", "1000", "--fault", "hang", "--fault-rank", "1", "--fault-step", "15"),
        env={"GRADSIGHT_HEARTBEAT_S": "0.5"},
    )
    try:
        wait_until((tmp_path / "hung.id").exists, 60, "the job to start")
        run_id = (tmp_path / "hung.id").read_text()

        def stalled() -> list[dict[str, object]]:
            return [
                d for d in diagnoses(srv.url, run_id) if d["rule"] == "stalled_run" and d["status"] == "open"
            ]

        wait_until(lambda: bool(stalled()), 60, "stalled_run to open", interval=0.5)
        (found,) = stalled()
        assert found["severity"] == "critical" and found["evidence"]["heartbeating"] is True  # type: ignore[index]
        assert found["last_step"] == 14 and "all 2 ranks still heartbeat" in str(found["summary"])
        assert get_run(srv.url, run_id)["status"] == "running"
    finally:
        stop(proc)


def test_an_fsdp_job_ships_per_rank_scalars_and_never_blocks_on_a_collective(
    server: Srv, tmp_path: Path
) -> None:
    """FSDP2 (fully_shard): parameters and gradients are DTensors whose norms would need a
    collective; the agent must not issue one (rank 0 alone would wait for it forever)."""
    srv, _ = server
    # Exit status not checked: gloo may abort in its own teardown after the run finished.
    run_id = run_job(srv.url, tmp_path, "fsdp", 2, "--steps", "30", "--wrap", "fsdp", check=False)
    wait_until(lambda: get_run(srv.url, run_id)["status"] == "finished", 60, "the FSDP run to finish")
    keys = set(httpx.get(f"{srv.url}/api/v1/runs/{run_id}/keys").json()["items"])
    for k in range(2):
        assert {f"rank/{k}/loss", f"rank/{k}/time/data_s", f"rank/{k}/time/forward_s"} <= keys
        assert set(raw_series(srv.url, run_id, f"rank/{k}/loss")) == set(range(30))
    assert not [k for k in keys if k.startswith("grad_norm")]  # sharded: not measured (docs/distributed.md)
