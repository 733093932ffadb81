"""Every rule fires on a real tiny training that has its pathology, and the engine stays quiet
(nothing above ``info``) on healthy trainings of different kinds (RULES.md principle 6).
The trainings run with the real agent; their spool is decoded by the server's own decoder."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gradsight_server.diagnosis import engine
from gradsight_server.diagnosis.model import SEVERITY_RANK
from gradsight_server.diagnosis.signals import RunData
from tests.scenarios.library import SCENARIOS, Scenario

PATHOLOGIES = [s for s in SCENARIOS if not s.healthy]
CONTROLS = [s for s in SCENARIOS if s.healthy]


@pytest.mark.parametrize("scenario", PATHOLOGIES, ids=lambda s: s.name)
def test_the_pathology_is_diagnosed_by_its_rule(
    scenario: Scenario, trained: Callable[[Scenario], RunData]
) -> None:
    findings = engine.evaluate(trained(scenario))
    alarms = {f.rule for f in findings if SEVERITY_RANK[f.severity] >= SEVERITY_RANK["warning"]}
    missing = scenario.expect - alarms
    assert not missing, (
        f"{scenario.name}: {sorted(missing)} not diagnosed; got {[(f.rule, f.severity) for f in findings]}"
    )
    for f in findings:
        if f.rule in scenario.expect:
            assert f.summary and f.evidence and f.recommendations, f.rule  # concrete, with evidence and fixes


@pytest.mark.parametrize("scenario", CONTROLS, ids=lambda s: s.name)
def test_a_healthy_run_raises_nothing(scenario: Scenario, trained: Callable[[Scenario], RunData]) -> None:
    findings = engine.evaluate(trained(scenario))
    alarms = [(f.rule, f.severity, f.summary) for f in findings if f.severity != "info"]
    assert not alarms, f"{scenario.name}: false alarms {alarms}"


def test_recommendations_carry_this_runs_numbers(trained: Callable[[Scenario], RunData]) -> None:
    from tests.scenarios.library import BY_NAME

    data = trained(BY_NAME["lr_schedule_bug"])
    (divergence,) = [f for f in engine.evaluate(data) if f.rule == "divergence"]
    actions = [r.action for r in divergence.recommendations]
    assert actions[0] == "Cap the learning-rate schedule"  # the LR kept rising: the bug itself
    cap = divergence.recommendations[0].params
    assert cap["lr_start"] == pytest.approx(0.002) and cap["lr_max"] > 1.0
    rewind = next(r for r in divergence.recommendations if r.action.startswith("Rewind"))
    assert rewind.params["rewind_to"] == max(0, divergence.first_step - 100)
    clip = next(r for r in divergence.recommendations if r.action.startswith("Clip"))
    assert 0 < clip.params["max_norm"] < 5
    assert "clip_grad_norm_" in clip.params["code"]
