"""Run a scenario with the real agent in offline mode and read its spool back with the
server's own decoder into the engine's RunData — the calibration loop for rule thresholds
(no server needed). The scenario suite itself goes through a real server."""

from __future__ import annotations

import gzip
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from gradsight.ids import new_run_id
from gradsight.run import Run
from gradsight.settings import AgentSettings
from gradsight_server.diagnosis.signals import RunData, Series
from gradsight_server.wire.decode import decode_batch
from gradsight_server.wire.model import MSGPACK_TYPE
from tests.scenarios.library import Scenario


def spool_to_rundata(directory: Path) -> RunData:
    body = json.loads((directory / "run.json").read_text())
    points: dict[str, dict[int, float]] = defaultdict(dict)
    layers: list[str] = []
    for path in sorted(directory.glob("*.batch")):
        batch = decode_batch(gzip.decompress(path.read_bytes()), MSGPACK_TYPE, max_points=10**9)
        layers = list(batch.layers) if batch.layers else layers
        for block in batch.blocks:
            for k, key in enumerate(block.keys):
                points[key].update(zip(block.steps.tolist(), block.values[k].tolist(), strict=True))
    series = {
        key: Series.of(sorted(by_step), [by_step[s] for s in sorted(by_step)])
        for key, by_step in points.items()
    }
    return RunData(
        run_id=body["id"],
        status="finished",
        config=body.get("config", {}),
        metadata=body.get("metadata", {}),
        layers=layers,
        series=series,
    )


def run_offline(scenario: Scenario) -> RunData:
    with tempfile.TemporaryDirectory() as tmp:
        settings = AgentSettings(mode="offline", spool_dir=Path(tmp))
        run = Run(run_id=new_run_id(), project="scenarios", name=scenario.name, config={}, settings=settings)
        scenario.train(run)
        run.finish()
        return spool_to_rundata(Path(tmp) / run.id)


def summary(data: RunData) -> str:
    loss = data.get("loss")
    finite = loss.finite()
    return (
        f"{len(loss)} loss points, first {finite.values[:5].mean():.3g} → last {finite.values[-20:].mean():.3g}, "
        f"non-finite {int((~np.isfinite(loss.values)).sum())}; {len(data.series)} keys"
    )
