"""The engine's pure parts: lifecycle reconciliation, symptom explanation, statistics, the
advisor's arithmetic, and the rules that need CUDA telemetry (memory, MFU), on recorded
series. Those series are SYNTHETIC (this machine has no GPU): shaped like what the agent
reports on a GPU, labelled as such."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradsight_server.diagnosis import engine, stats
from gradsight_server.diagnosis.advisor import advise
from gradsight_server.diagnosis.model import Finding
from gradsight_server.diagnosis.rules import low_mfu, memory_headroom
from gradsight_server.diagnosis.signals import RunData, Series


def finding(
    rule: str, subject: str = "x", *, open_: bool = True, severity: str = "warning", first: int = 10
) -> Finding:
    return Finding(rule, subject, severity, open_, first, first + 5, "s", {}, ())  # type: ignore[arg-type]


def test_reconcile_opens_updates_and_resolves() -> None:
    stored = [
        engine.Stored(1, "divergence", "loss", "open", 10),
        engine.Stored(2, "dead_units", "activations", "open", 3),
        engine.Stored(3, "loss_spike", "loss", "resolved", 50),
    ]
    plan = engine.reconcile(
        stored,
        [
            finding("divergence", "loss"),  # still there → update #1
            finding("loss_spike", "loss", open_=False, first=50),  # the same resolved episode → nothing
            finding(
                "loss_spike", "loss", open_=False, first=90
            ),  # a new, already-over episode → stored resolved
            finding("grad_spike", "gradients"),  # new → create open
        ],
    )
    assert [pk for pk, _, _ in plan.update] == [1]
    assert plan.resolve == [2]  # the rule no longer finds it
    assert [(f.rule, f.first_step, status) for f, status in plan.create] == [
        ("loss_spike", 90, "resolved"),
        ("grad_spike", 10, "open"),
    ]
    assert [f.rule for f in plan.opened()] == ["grad_spike"]


def test_symptoms_point_at_their_open_cause() -> None:
    out = engine.explain([finding("loss_plateau", "loss"), finding("lr_too_low", "learning rate")])
    plateau = out[0]
    assert plateau.severity == "info" and plateau.evidence["explained_by"] == ["lr_too_low"]
    assert "see lr_too_low" in plateau.summary
    alone = engine.explain([finding("loss_plateau", "loss")])
    assert alone[0].severity == "warning"


def test_rows_are_json_safe() -> None:
    row = engine.as_row(
        Finding(
            "r", "s", "info", True, 1, 2, "x", {"a": np.float64("nan"), "b": np.int64(3), "c": [np.inf]}, ()
        ),
        "open",
    )
    assert row["evidence"] == {"a": "NaN", "b": 3, "c": ["Infinity"]}


def test_a_failing_rule_does_not_hide_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradsight_server.diagnosis import rules

    def broken(_data: RunData) -> list[Finding]:
        raise RuntimeError("bug in a rule")

    monkeypatch.setitem(rules.RULES, "overfitting", broken)
    monkeypatch.setitem(rules.RULES, "divergence", lambda _d: [finding("divergence", "loss")])
    assert [f.rule for f in engine.evaluate(RunData("r"))] == ["divergence"]


def test_robust_statistics() -> None:
    values = np.r_[np.ones(50), 10.0, np.ones(10)] + np.linspace(0, 0.01, 61)
    z = stats.robust_z(values, 20, floor=1e-3)
    assert int(np.nanargmax(z)) == 50 and z[50] > 100
    assert stats.runs(np.array([0, 1, 1, 0, 1], dtype=bool)) == [(1, 2), (4, 4)]
    assert stats.nice(0.0123) == 0.01 and stats.nice(3456.0, 2) == 3500.0
    smooth = stats.ema(np.array([1.0, np.nan, 3.0]), 1.0)
    assert smooth.tolist() == [1.0, 1.0, 3.0]


def test_step_law_matches_the_worked_values() -> None:
    # seed digest F12: N = 1e9, D = 2e10 → η* ≈ 9.96e-4, B* ≈ 4.42e5 tokens.
    steps = np.arange(100)
    data = RunData(
        "r",
        config={"total_tokens": 2e10},
        metadata={"params": {"non_embedding": 1e9}},
        series={
            "lr": Series.of(steps, np.full(100, 3e-3)),
            "throughput/tokens_per_s": Series.of(steps, np.full(100, 4.42e5)),
            "time/step_s": Series.of(steps, np.ones(100)),
        },
    )
    out = advise(data)
    assert math.isclose(out["step_law"]["lr"], 9.96e-4, rel_tol=2e-3)
    assert math.isclose(out["step_law"]["batch_tokens"], 4.42e5, rel_tol=2e-3)
    assert out["step_law"]["in_fitted_regime"]
    actions = [r["action"] for r in out["recommendations"]]
    assert actions == ["Move the peak learning rate towards the Step Law prior"]  # 3× the prior; batch on it


def test_memory_headroom_on_recorded_gpu_telemetry() -> None:
    # SYNTHETIC recorded series: an 80 GB device, 18–22 GB reserved.
    steps = np.arange(300)
    reserved = 20 + 2 * np.sin(steps / 20)
    data = RunData(
        "r", metadata={"gpu_memory_gb": 80.0}, series={"memory/reserved_gb": Series.of(steps, reserved)}
    )
    (f,) = memory_headroom.evaluate(data)
    assert f.severity == "info" and f.recommendations[0].params["batch_size_factor"] == 3
    busy = RunData(
        "r", metadata={"gpu_memory_gb": 80.0}, series={"memory/reserved_gb": Series.of(steps, reserved + 40)}
    )
    assert memory_headroom.evaluate(busy) == []


def test_low_mfu_on_recorded_gpu_telemetry() -> None:
    # SYNTHETIC recorded series: MFU around 6 %, a third of each step waiting for data.
    steps = np.arange(300)
    data = RunData(
        "r",
        series={
            "mfu": Series.of(steps, np.full(300, 0.06)),
            "time/data_s": Series.of(steps, np.full(300, 0.1)),
            "time/step_s": Series.of(steps, np.full(300, 0.3)),
        },
    )
    (f,) = low_mfu.evaluate(data)
    assert f.severity == "warning" and "input-pipeline wait (33%" in f.recommendations[0].detail
    healthy = RunData("r", series={"mfu": Series.of(steps, np.full(300, 0.45))})
    assert low_mfu.evaluate(healthy) == []


def test_attention_models_get_qk_norm_and_z_loss_advice() -> None:
    from gradsight_server.diagnosis import advice

    transformer = RunData("r", layers=["embed.weight", "blocks.0.attn.qkv.weight", "head.weight"])
    rec = advice.transformer_stability(transformer)
    assert rec is not None and rec.params["z_loss"] == 1e-4 and "logsumexp" in rec.params["code"]
    assert advice.transformer_stability(RunData("r", layers=["0.weight", "2.weight"])) is None
