"""The distributed rules on synthetic per-rank series: the shapes the real jobs in
tests/distributed cannot reach on two cores (256 ranks, a rank that died, a slow forward)
and stalled_run's clock arithmetic. Real trainings: tests/distributed/test_ddp_jobs.py."""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis.rules import rank_divergence, stalled_run, straggler
from gradsight_server.diagnosis.signals import RunData, Series
from gradsight_server.store.series import WALL_TIME_KEY

STEPS = np.arange(200)


def ranks_data(world: int, seed: int = 0, **faults: float) -> RunData:
    """``world`` ranks whose local loss and timings are i.i.d. noise around a shared trend."""
    rng = np.random.default_rng(seed)
    trend = 2.0 * np.exp(-STEPS / 80) + 0.3
    series: dict[str, Series] = {}
    for k in range(world):
        loss = (
            trend + rng.normal(scale=0.05, size=STEPS.size) + (faults.get("offset", 0.0) if k == 3 else 0.0)
        )
        data = rng.uniform(0.001, 0.002, STEPS.size) + (faults.get("slow_data", 0.0) if k == 5 else 0.0)
        forward = rng.uniform(0.010, 0.012, STEPS.size) + (faults.get("slow_forward", 0.0) if k == 5 else 0.0)
        series[f"rank/{k}/loss"] = Series.of(STEPS, loss)
        series[f"rank/{k}/time/data_s"] = Series.of(STEPS, data)
        series[f"rank/{k}/time/forward_s"] = Series.of(STEPS, forward)
        series[f"rank/{k}/time/step_s"] = Series.of(STEPS, np.full(STEPS.size, 0.05))
    return RunData("r", metadata={"distributed": {"world_size": world}}, series=series)


def test_256_healthy_ranks_raise_nothing() -> None:
    data = ranks_data(256)
    assert rank_divergence.evaluate(data) == [] and straggler.evaluate(data) == []


def test_one_offset_rank_among_many_is_named() -> None:
    (found,) = rank_divergence.evaluate(ranks_data(64, offset=0.3))
    assert found.evidence["outliers"] == [3] and found.severity == "warning"


def test_a_rank_that_died_is_left_out_rather_than_cutting_the_others_short() -> None:
    data = ranks_data(8, offset=0.3)
    data.series["rank/3/loss"] = data.series["rank/3/loss"].until(20)  # killed at step 20
    assert rank_divergence.evaluate(data) == []  # the others agree over the recent window


def test_a_slow_forward_is_a_straggler_and_names_the_hardware() -> None:
    (found,) = straggler.evaluate(ranks_data(16, slow_forward=0.012))
    assert found.evidence["ranks"] == [5]
    assert found.recommendations[0].action.startswith("Check rank 5's hardware")


def test_a_small_or_occasional_delay_is_not_a_straggler() -> None:
    assert straggler.evaluate(ranks_data(16, slow_data=0.002)) == []  # < 10 % of a 50 ms step
    data = ranks_data(16)
    spiky = data.series["rank/5/time/data_s"].values.copy()
    spiky[::5] += 0.05  # one step in five (an evaluation, a checkpoint)
    data.series["rank/5/time/data_s"] = Series.of(STEPS, spiky)
    assert straggler.evaluate(data) == []


def clocked(now: float, last_contact: float | None, status: str = "running") -> RunData:
    wall = 1000.0 + STEPS * 0.1  # ten steps a second, last step at t = 1019.9
    return RunData(
        "r",
        status=status,
        series={WALL_TIME_KEY: Series.of(STEPS, wall)},
        now=now,
        last_contact=last_contact,
        stall_after_s=60.0,
    )


def test_stalled_run_needs_silence_beyond_the_floor_and_the_runs_own_pace() -> None:
    assert stalled_run.WALL_TIME_KEY == WALL_TIME_KEY
    assert stalled_run.evaluate(clocked(now=1050.0, last_contact=1049.0)) == []  # 30 s < 60 s floor
    (hung,) = stalled_run.evaluate(clocked(now=1200.0, last_contact=1195.0))
    assert hung.severity == "critical" and hung.evidence["heartbeating"] is True and hung.last_step == 199
    (dead,) = stalled_run.evaluate(clocked(now=1200.0, last_contact=1021.0))  # nothing since the last step
    assert dead.severity == "warning" and dead.evidence["heartbeating"] is False
    (crashed,) = stalled_run.evaluate(clocked(now=2000.0, last_contact=1021.0, status="crashed"))
    assert "no longer heartbeats" in crashed.summary
    assert stalled_run.evaluate(clocked(now=5000.0, last_contact=4999.0, status="finished")) == []
    assert stalled_run.evaluate(RunData("r", series=clocked(0, 0).series)) == []  # offline: no clock


def test_a_run_that_was_slow_before_may_be_slow_again() -> None:
    data = clocked(now=1300.0, last_contact=1299.0)
    wall = data.series[WALL_TIME_KEY].values.copy()
    wall[100:] += 200.0  # a 200 s evaluation at step 100 that it came back from
    data.series[WALL_TIME_KEY] = Series.of(STEPS, wall)
    data.now = wall[-1] + 300.0  # 300 s of silence now: less than 3 × the longest gap
    data.last_contact = data.now - 1
    assert stalled_run.evaluate(data) == []
