"""The fast subset of the scenario suite, end to end: real trainings instrumented by the real
agent, sent to a real embedded server whose debounced diagnosis pass runs the engine; the
verdict is read back through the API and the live stream, as the dashboard reads it.
(bench/diagnosis_eval.py runs every scenario this way and measures lead times.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import gradsight
from tests.scenarios.library import BY_NAME
from tests.support.api import diagnosed_up_to, wait_finished
from tests.support.procs import Server, wait_until
from tests.support.sse import EventStream

SUBSET = (
    "lr_schedule_bug",
    "nan_record",
    "slow_input_pipeline",
    "control_sgd_bn_cnn",
    "control_noisy_small_batch",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    base = tmp_path_factory.mktemp("scenarios")
    env = {"GRADSIGHT_DATA_DIR": str(base / "data"), "GRADSIGHT_DIAGNOSIS_DEBOUNCE_S": "0.5"}
    srv = Server(env, base / "logs").wait_ready()
    yield srv, base / "data" / "gradsight.db"
    srv.stop()


def train_and_diagnose(server: tuple[Server, Path], name: str) -> tuple[str, list[dict[str, Any]]]:
    srv, db = server
    run = gradsight.init(project="scenarios", name=name, server=srv.url)
    BY_NAME[name].train(run)
    run.finish()
    last = wait_finished(srv.url, run.id)["last_step"]
    # The final batch asks for a pass; wait until one has seen the run's last step.
    wait_until(
        lambda: diagnosed_up_to(db, run.id) == last, 60, f"the diagnosis of {name} to cover step {last}"
    )
    items = httpx.get(f"{srv.url}/api/v1/runs/{run.id}/diagnoses").json()["items"]
    return run.id, items


@pytest.mark.parametrize("name", SUBSET)
def test_scenario_verdict_through_the_server(server: tuple[Server, Path], name: str) -> None:
    run_id, items = train_and_diagnose(server, name)
    alarms = {d["rule"] for d in items if d["severity"] in ("warning", "critical")}
    expected = BY_NAME[name].expect
    if expected:
        assert expected <= alarms, (name, items)
        run = httpx.get(f"{server[0].url}/api/v1/runs/{run_id}").json()
        assert sum(run["health"][s] for s in ("warning", "critical")) >= 1
        shown = next(d for d in items if d["rule"] in expected)
        assert set(shown) == {
            "id",
            "rule",
            "severity",
            "status",
            "first_step",
            "last_step",
            "summary",
            "evidence",
            "recommendations",
        }
        for rec in shown["recommendations"]:
            assert set(rec) == {"action", "detail", "params", "references"}
    else:
        assert not alarms, (name, items)


def test_a_new_diagnosis_is_pushed_on_the_live_stream(server: tuple[Server, Path]) -> None:
    srv, _ = server
    run = gradsight.init(project="scenarios", name="streamed", server=srv.url)
    # init never waits for the network: the run exists once the agent's thread has created it.
    wait_until(
        lambda: httpx.get(f"{srv.url}/api/v1/runs/{run.id}").status_code == 200, 30, "the run to exist"
    )
    stream = EventStream(f"{srv.url}/api/v1/runs/{run.id}/stream")
    BY_NAME["lr_schedule_bug"].train(run)
    run.finish()
    events = stream.until(lambda e: e.name == "diagnosis" and e.data.get("rule") == "divergence", 60)
    assert events[-1].data["severity"] == "critical" and events[-1].data["recommendations"]
    assert any(e.name == "steps" for e in events)  # progress notices came first


def test_the_advisor_answers_for_a_run(server: tuple[Server, Path]) -> None:
    srv, _ = server
    run = gradsight.init(project="scenarios", name="advised", server=srv.url)
    BY_NAME["control_warmup_cosine_transformer"].train(run)
    run.finish()
    wait_finished(srv.url, run.id)
    body = httpx.get(f"{srv.url}/api/v1/runs/{run.id}/advisor").json()
    assert body["inputs"]["tokens_per_step"] == 512  # 32 sequences × 16 token ids
    assert body["step_law"]["in_fitted_regime"] is False and "extrapolation" in body["note"]
    assert httpx.get(f"{srv.url}/api/v1/runs/nope/advisor").status_code == 404
