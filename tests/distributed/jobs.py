"""Launch ``ddp_train.py`` under ``torchrun`` (real processes, gloo on the CPU) and read the
job's run back through the API."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support.api import diagnosed_up_to, get_run
from tests.support.procs import BIN, REPO, wait_until

SCRIPT = Path(__file__).with_name("ddp_train.py")


def launch(
    url: str, out: Path, name: str, nproc: int, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    out.mkdir(parents=True, exist_ok=True)
    log = (out / f"{name}.log").open("wb")
    argv = [
        str(BIN / "torchrun"),
        "--standalone",
        f"--nproc-per-node={nproc}",
        "--monitor-interval=0.5",
        str(SCRIPT),
        "--name",
        name,
        "--run-id-file",
        str(out / f"{name}.id"),
        *args,
    ]
    child_env = {
        **os.environ,
        "GRADSIGHT_URL": url,
        "GRADSIGHT_SPOOL_DIR": str(out / "spool"),
        "OMP_NUM_THREADS": "1",
        **(env or {}),
    }
    return subprocess.Popen(
        argv, cwd=REPO, env=child_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def run_job(
    url: str,
    out: Path,
    name: str,
    nproc: int,
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> str:
    """Run a job to its end; returns its run id (every rank's)."""
    proc = launch(url, out, name, nproc, *args, env=env)
    try:
        code = proc.wait(timeout=150)
    finally:
        stop(proc)
    assert code == 0 or not check, (out / f"{name}.log").read_text(errors="replace")[-4000:]
    return (out / f"{name}.id").read_text()


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def diagnoses(url: str, run_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = httpx.get(f"{url}/api/v1/runs/{run_id}/diagnoses", timeout=10).json()[
        "items"
    ]
    return items


def settled(url: str, db: Path, run_id: str) -> list[dict[str, Any]]:
    """The run's diagnoses once the job is finished and a pass has seen its last step."""
    wait_until(lambda: get_run(url, run_id)["status"] == "finished", 60, f"run {run_id} to finish")
    last = get_run(url, run_id)["last_step"]
    wait_until(
        lambda: diagnosed_up_to(db, run_id) == last, 60, f"the diagnosis of {run_id} up to step {last}"
    )
    return diagnoses(url, run_id)


def alarms(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["rule"], d["severity"]) for d in items if d["severity"] != "info" and d["status"] == "open"]
