"""``stalled_run``: the run's steps stopped advancing.

Two cases (RULES.md): the agents still heartbeat but no step has closed for far longer than
this run's steps ever took — the training loop is blocked (a hung collective waiting for a
dead or stuck rank, a deadlocked DataLoader, a stuck checkpoint write) while the process
lives; or nothing arrives at all, not even heartbeats (the agent heartbeats at least every
30 s): the process died or lost its network, and the run is, or soon will be, ``crashed``.

"Far longer" is relative to the run itself: the silence must exceed the larger of
``GRADSIGHT_STALL_AFTER_S`` (default 5 min), ``TYPICAL_FACTOR`` (50) × the median interval
between steps, and ``LONGEST_FACTOR`` (3) × the longest interval seen so far (a run with a
20-minute evaluation every epoch has shown it can be quiet that long). Progress is read
from the per-step wall clock every batch carries; contact from the run's last batch or
heartbeat. The diagnosis runs when a heartbeat arrives and when the run is marked crashed,
so a run that sends nothing else is still examined (MegaScale's hang detection likewise
watches heartbeats and progress separately).
"""

from __future__ import annotations

import numpy as np

from gradsight_server.diagnosis import references as ref
from gradsight_server.diagnosis.model import Finding, Recommendation
from gradsight_server.diagnosis.ranks import world_size
from gradsight_server.diagnosis.signals import RunData
from gradsight_server.diagnosis.stats import fmt

RULE = "stalled_run"
WALL_TIME_KEY = "_wall_time"  # store/series.py: each step's wall-clock time
SIGNALS = (WALL_TIME_KEY,)
MIN_STEPS = 5
TYPICAL_FACTOR = 50.0
LONGEST_FACTOR = 3.0
HEARTBEAT_S = 30.0
"""The agent's longest heartbeat interval (ARCHITECTURE.md); contact within 3× of it is alive."""


def evaluate(data: RunData) -> list[Finding]:
    if data.now is None or data.status not in ("running", "crashed"):
        return []
    wall = data.get(WALL_TIME_KEY).finite()
    if len(wall) < MIN_STEPS:
        return []
    times = np.sort(wall.values)
    last_progress = float(times[-1])
    last_step = int(wall.steps[int(np.argmax(wall.values))])
    gaps = np.diff(times)
    typical, longest = float(np.median(gaps)), float(np.max(gaps))
    threshold = max(data.stall_after_s, TYPICAL_FACTOR * typical, LONGEST_FACTOR * longest)
    silent = data.now - last_progress
    if silent < threshold:
        return []
    contact = data.last_contact
    heartbeating = (
        data.status == "running"
        and contact is not None
        and data.now - contact <= 3 * HEARTBEAT_S
        and contact - last_progress >= threshold / 2
    )
    evidence = {
        "signal": "per-step wall clock, heartbeats",
        "last_step": last_step,
        "seconds_since_last_step": silent,
        "seconds_since_contact": None if contact is None else data.now - contact,
        "median_step_interval_s": typical,
        "longest_step_interval_s": longest,
        "threshold_s": threshold,
        "heartbeating": heartbeating,
    }
    return [
        _hung(data, last_step, silent, evidence)
        if heartbeating
        else _silent(data, last_step, silent, evidence)
    ]


def _minutes(seconds: float) -> str:
    return f"{fmt(seconds / 60)} min" if seconds >= 120 else f"{fmt(seconds)} s"


def _hung(data: RunData, last_step: int, silent: float, evidence: dict[str, object]) -> Finding:
    world = world_size(data)
    job = f"all {world} ranks" if world and world > 1 else "the process"
    return Finding(
        rule=RULE,
        subject="progress",
        severity="critical",
        open=True,
        first_step=last_step,
        last_step=last_step,
        summary=(
            f"No step has finished for {_minutes(silent)} (last: step {last_step}; steps took "
            f"{fmt(float(evidence['median_step_interval_s']) * 1000)} ms) while {job} still heartbeat: the training "  # type: ignore[arg-type]
            "loop is blocked — a hung collective, a deadlocked data loader or a stuck checkpoint write."
        ),
        evidence=evidence,
        recommendations=(
            Recommendation(
                action="Dump the stacks of the blocked processes",
                detail=(
                    "py-spy dump --pid <pid> on every rank shows where each one waits; a rank outside the "
                    "collective the others wait in is the culprit (the run's metadata lists each rank's host and pid)."
                ),
                params={"code": "py-spy dump --pid <pid>"},
                references=(ref.TORCH_DIST_DEBUG, ref.MEGASCALE),
            ),
            Recommendation(
                action="Make hangs fail instead of waiting forever",
                detail=(
                    "Give the process group a timeout that fits your slowest legitimate step (a hung collective then "
                    "raises instead of blocking the whole job), and the DataLoader a timeout for stuck workers; "
                    "TORCH_DISTRIBUTED_DEBUG=DETAIL reports mismatched collectives."
                ),
                params={
                    "code": "dist.init_process_group(backend, timeout=datetime.timedelta(minutes=10))\n"
                    "DataLoader(..., timeout=300)"
                },
                references=(ref.TORCH_DIST_DEBUG,),
            ),
        ),
    )


def _silent(data: RunData, last_step: int, silent: float, evidence: dict[str, object]) -> Finding:
    return Finding(
        rule=RULE,
        subject="progress",
        severity="warning",
        open=True,
        first_step=last_step,
        last_step=last_step,
        summary=(
            f"The run stopped at step {last_step} {_minutes(silent)} ago and its agent no longer heartbeats: the "
            "process died (out of memory, preempted, killed) or lost its network."
        ),
        evidence=evidence,
        recommendations=(
            Recommendation(
                action="Find out why the process ended",
                detail=(
                    "Check the job's log and exit code, the kernel log for the OOM killer (dmesg | grep -i oom) and "
                    "the scheduler for a preemption; telemetry the agent could not send is in its spool "
                    "(gradsight sync)."
                ),
                params={"code": "dmesg -T | grep -i -E 'killed process|out of memory'"},
            ),
            Recommendation(
                action="Resume into the same run",
                detail=f"Restart from the last checkpoint with gradsight.init(resume={data.run_id!r}) so the history continues.",
                params={"resume": data.run_id, "code": f"gradsight.init(resume={data.run_id!r})"},
            ),
        ),
    )
