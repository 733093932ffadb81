"""The step axis of ARCHITECTURE.md, exercised on the recorder the hooks drive."""

from __future__ import annotations

import itertools

import pytest

from gradsight.capture.record import Recorder, StepRecord
from gradsight.transport.columns import build


def table(records: list[StepRecord]) -> dict[str, dict[int, tuple[float, int]]]:
    """{key: {step: (value, count)}} as the transport would ship it."""
    out: dict[str, dict[int, tuple[float, int]]] = {}
    for block in build(records, lambda where, exc: pytest.fail(f"{where}: {exc}")).blocks:
        for k, key in enumerate(block.keys):
            for j, step in enumerate(block.steps.tolist()):
                count = int(block.counts[k, j]) if block.counts is not None else 1
                out.setdefault(key, {})[step] = (float(block.values[k, j]), count)
    return out


def fake_clock() -> object:
    ticks = itertools.count()
    return lambda: float(next(ticks))


def test_unwatched_each_log_is_the_next_step() -> None:
    rec = Recorder()
    rec.log({"a": 1.0})
    rec.log({"a": 2.0})
    rec.log({"a": 3.0}, step=10)
    rec.log({"a": 4.0})
    assert table(rec.drain(close_open=True))["a"] == {0: (1.0, 1), 1: (2.0, 1), 10: (3.0, 1), 11: (4.0, 1)}


def test_explicit_step_logged_twice_keeps_the_mean_and_count() -> None:
    rec = Recorder()
    rec.log({"loss": 1.0, "acc": 0.5}, step=3)
    rec.log({"loss": 3.0}, step=3)
    got = table(rec.drain(close_open=True))
    assert got["loss"] == {3: (2.0, 2)}
    assert got["acc"] == {3: (0.5, 1)}


def test_step_then_log_lines_up_gradients_with_the_loss() -> None:
    rec = Recorder()
    rec.watched = True
    for i in range(3):
        rec.begin_forward()
        rec.add("grad_norm", float(10 + i))  # what the optimizer pre-hook captures
        rec.end_step()  # optimizer.step() returned
        rec.log({"loss": float(i)})  # logged after the step: still this step
    got = table(rec.drain(close_open=True))
    assert got["grad_norm"] == {0: (10.0, 1), 1: (11.0, 1), 2: (12.0, 1)}
    assert got["loss"] == {0: (0.0, 1), 1: (1.0, 1), 2: (2.0, 1)}


def test_gradient_accumulation_is_one_step_with_the_mean_loss() -> None:
    rec = Recorder()
    rec.watched = True
    for step in range(2):
        for micro in range(4):
            began = rec.begin_forward()
            assert began == (micro == 0)
            rec.log({"loss": float(step * 10 + micro)})
        rec.end_step()
    got = table(rec.drain(close_open=True))
    assert got["loss"] == {0: (1.5, 4), 1: (11.5, 4)}


def test_explicit_one_based_steps_rebase_and_carry_hook_values() -> None:
    rec = Recorder()
    rec.watched = True
    for step in (1, 2, 3):
        rec.begin_forward()
        rec.add("grad_norm", float(step))
        rec.end_step()
        rec.log({"loss": float(step)}, step=step)
    got = table(rec.drain(close_open=True))
    assert got["grad_norm"] == {1: (1.0, 1), 2: (2.0, 1), 3: (3.0, 1)}
    assert got["loss"] == got["grad_norm"]


def test_a_later_relog_of_the_same_step_wins() -> None:
    rec = Recorder()
    rec.log({"loss": 5.0}, step=7)
    rec.log({"loss": 6.0}, step=8)
    rec.log({"loss": 1.0}, step=7)  # rewound and re-logged
    assert table(rec.drain(close_open=True))["loss"] == {7: (1.0, 1), 8: (6.0, 1)}


def test_records_close_only_when_the_next_step_begins() -> None:
    rec = Recorder()
    rec.watched = True
    rec.begin_forward()
    rec.end_step()
    rec.log({"loss": 1.0})
    assert rec.drain() == []  # step 0 is still open: a log may still arrive
    rec.begin_forward()
    assert [r.step for r in rec.drain()] == [0]


def test_full_buffer_drops_the_oldest_and_counts_points() -> None:
    rec = Recorder(max_closed=2)
    for i in range(5):
        rec.log({"a": float(i), "b": float(i)})
    assert [r.step for r in rec.drain()] == [2, 3]  # steps 0 and 1 were dropped
    assert rec.dropped_points == 4  # two values each
    assert [r.step for r in rec.drain(close_open=True)] == [4]


def test_wall_time_is_recorded_per_step() -> None:
    rec = Recorder(clock=fake_clock())  # type: ignore[arg-type]
    rec.log({"a": 1.0})
    rec.log({"a": 2.0})
    cols = build(rec.drain(close_open=True), lambda *_: None)
    assert cols.wall_steps.tolist() == [0, 1]
    assert cols.wall_time[1] > cols.wall_time[0]


def test_non_finite_values_are_kept() -> None:
    rec = Recorder()
    rec.log({"loss": float("nan")})
    rec.log({"loss": float("inf")})
    rec.log({"loss": float("-inf")})
    values = [v for v, _ in table(rec.drain(close_open=True))["loss"].values()]
    assert str(values) == "[nan, inf, -inf]"
