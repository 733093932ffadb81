"""Diagnosis evaluation: every scenario of tests/scenarios/library.py, end to end.

Each scenario trains for real with the agent against a real embedded server; the server's
debounced pass decides, and its verdict is read through the API. Then:

- **recall**: each pathological scenario must carry its expected rule(s) at warning or above;
- **false alarms**: the healthy controls must carry no warning or critical diagnosis;
- **lead time** (runs that end non-finite): the engine is replayed on growing prefixes of the
  run's stored data (every ``--every`` steps), as it would have seen them live; lead time is
  the number of steps between its first warning-or-worse and the first non-finite loss.

    python bench/diagnosis_eval.py            # all scenarios (~45 s on 2 cores)
    python bench/diagnosis_eval.py --only exploding_rnn lr_schedule_bug

Prints a table; record it in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gradsight
from gradsight_server.diagnosis import engine, loader
from gradsight_server.diagnosis.model import SEVERITY_RANK
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.store import runs as run_store
from gradsight_server.store.engine import Database
from tests.scenarios.library import SCENARIOS, Scenario
from tests.support.api import diagnosed_up_to
from tests.support.procs import Server, wait_until

ALARM = SEVERITY_RANK["warning"]


def run_scenario(server: Server, db: Path, scenario: Scenario) -> tuple[str, list[dict[str, Any]], float]:
    run = gradsight.init(project="diagnosis-eval", name=scenario.name, server=server.url)
    t0 = time.perf_counter()
    scenario.train(run)
    run.finish()
    train_s = time.perf_counter() - t0
    base = f"{server.url}/api/v1/runs/{run.id}"
    wait_until(lambda: httpx.get(base).json()["status"] == "finished", 60, "the run to finish")
    last = httpx.get(base).json()["last_step"]
    wait_until(lambda: diagnosed_up_to(db, run.id) == last, 120, f"the diagnosis of {scenario.name}")
    return run.id, httpx.get(f"{base}/diagnoses").json()["items"], train_s


def prefix(data: RunData, end: int) -> RunData:
    """The run as it looked when step ``end`` had just been stored."""
    cut = {k: s.until(end) for k, s in data.series.items()}
    return RunData(
        data.run_id,
        "running",
        data.config,
        data.metadata,
        data.layers,
        {k: s for k, s in cut.items() if len(s)},
    )


def replay(data: RunData, every: int) -> tuple[int | None, dict[str, int]]:
    """(first step at which any warning-or-worse appeared, {rule: first step it alarmed})."""
    first_any: int | None = None
    first_rule: dict[str, int] = {}
    for end in range(every, data.last_step + every, every):
        for f in engine.evaluate(prefix(data, end)):
            if SEVERITY_RANK[f.severity] >= ALARM:
                first_rule.setdefault(f.rule, end)
                first_any = end if first_any is None else first_any
    return first_any, first_rule


def first_nonfinite_loss(data: RunData) -> int | None:
    loss = data.get("loss").without(data.skipped_steps())
    bad = loss.steps[~np.isfinite(loss.values)]
    return int(bad[0]) if bad.size else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="scenario names")
    parser.add_argument("--every", type=int, default=10, help="replay granularity in steps")
    args = parser.parse_args()
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GRADSIGHT_DATA_DIR": f"{tmp}/data", "GRADSIGHT_DIAGNOSIS_DEBOUNCE_S": "0.5"}
        os.environ["GRADSIGHT_SPOOL_DIR"] = f"{tmp}/spool"
        server = Server(env, Path(tmp) / "logs").wait_ready()
        db_path = Path(tmp) / "data" / "gradsight.db"
        db = Database(f"sqlite:///{db_path}")
        try:
            for scenario in chosen:
                run_id, items, train_s = run_scenario(server, db_path, scenario)
                alarms = {d["rule"] for d in items if SEVERITY_RANK[d["severity"]] >= ALARM}
                with db.session() as session:
                    stored = run_store.get(session, run_id)
                    assert stored is not None
                    data = loader.load(session, stored)
                first_any, first_rule = replay(data, args.every)
                nonfinite = first_nonfinite_loss(data)
                rows.append(
                    {
                        "scenario": scenario,
                        "alarms": alarms,
                        "items": items,
                        "train_s": train_s,
                        "first_alarm": first_any,
                        "first_rule": first_rule,
                        "nonfinite": nonfinite,
                    }
                )
                print(f"  {scenario.name}: {sorted(alarms) or '—'}", flush=True)
        finally:
            server.stop()
            db.dispose()
    report(rows, args.every)


def report(rows: list[dict[str, Any]], every: int) -> None:
    print(
        f"\n| scenario | expected | diagnosed (warning or worse) | verdict | first alarm (replay every {every} steps) | lead time |"
    )
    print("|---|---|---|---|---|---|")
    recall: dict[str, list[bool]] = {}
    false_alarms = 0
    leads = []
    for row in rows:
        s: Scenario = row["scenario"]
        ok = s.expect <= row["alarms"] if s.expect else not row["alarms"]
        for rule in s.expect:
            recall.setdefault(rule, []).append(rule in row["alarms"])
        if s.healthy:
            false_alarms += len(row["alarms"])
        lead = ""
        if row["nonfinite"] is not None and row["first_alarm"] is not None:
            steps = row["nonfinite"] - row["first_alarm"]
            leads.append(steps)
            lead = f"{steps} steps before the first non-finite loss (step {row['nonfinite']})"
        first = ", ".join(
            f"{r}@{st}" for r, st in sorted(row["first_rule"].items(), key=lambda kv: kv[1])[:3]
        )
        print(
            f"| {s.name} | {', '.join(sorted(s.expect)) or 'healthy'} | {', '.join(sorted(row['alarms'])) or '—'} | "
            f"{'✓' if ok else '✗'} | {first or '—'} | {lead} |"
        )
    print("\n| rule | recall |")
    print("|---|---|")
    for rule, hits in sorted(recall.items()):
        print(f"| {rule} | {sum(hits)}/{len(hits)} |")
    controls = [r for r in rows if r["scenario"].healthy]
    print(f"\nfalse alarms (warning or critical) on {len(controls)} healthy controls: {false_alarms}")
    if leads:
        print(
            f"lead time before the first non-finite loss: {', '.join(map(str, leads))} steps "
            f"(median {statistics.median(leads):.0f})"
        )


if __name__ == "__main__":
    main()
