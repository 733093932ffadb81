"""Ranks of one job on one host share the run's spool directory (offline, or while the
server is away): every rank's batches are kept, rank 0's run.json wins, and ``gradsight
sync`` uploads the job as one run."""

from __future__ import annotations

import json
from pathlib import Path

from gradsight.distributed.topology import Topology
from gradsight.run import Run
from gradsight.settings import AgentSettings
from tests.support.api import get_run, raw_series
from tests.support.embedded import sync
from tests.support.procs import Server


def test_ranks_sharing_a_spool_sync_as_one_run(server: Server, tmp_path: Path) -> None:
    settings = AgentSettings(mode="offline", spool_dir=tmp_path / "spool", flush_interval_s=0.05)
    ranks = [
        Run(
            run_id="offline-job",
            project="p",
            name="job",
            config={"lr": 0.1},
            settings=settings,
            topology=Topology(k, 2),
        )
        for k in (1, 0)  # rank 1 writes the spool first
    ]
    for step in range(5):
        for k, run in zip((1, 0), ranks, strict=True):
            run.log({"loss": 10.0 * k + step, "acc": 0.5}, step=step)
    for run in ranks:
        run.finish()
    body = json.loads((tmp_path / "spool" / "offline-job" / "run.json").read_text())
    assert body["config"] == {"lr": 0.1} and body["metadata"]["distributed"]["world_size"] == 2

    result = sync(tmp_path / "spool" / "offline-job", server.url)
    assert result.returncode == 0, result.stderr
    run = get_run(server.url, "offline-job")
    assert run["config"] == {"lr": 0.1} and run["status"] == "finished"
    assert set(run["metadata"]) >= {"rank/0", "distributed"}  # offline: only rank 0 speaks for the run
    assert raw_series(server.url, "offline-job", "rank/1/loss") == {s: 10.0 + s for s in range(5)}
    assert raw_series(server.url, "offline-job", "loss") == {s: float(s) for s in range(5)}
    assert raw_series(server.url, "offline-job", "acc") == {s: 0.5 for s in range(5)}  # rank 0's only
