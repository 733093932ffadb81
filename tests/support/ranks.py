"""Simulated ranks of one data-parallel job, encoded exactly as the agent encodes their
batches (transport/wire.py, gzip'd msgpack): each rank ships its per-rank scalars
(``rank/<k>/…``, docs/distributed.md) and the per-step wall clock; rank 0 also ships the
model-wide telemetry of ``layers`` parameters. Used by the concurrent-ingest tests and by
``bench/ingest_load.py --ranks``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from gradsight.transport import wire
from gradsight.transport.client import HttpClient
from gradsight.transport.columns import Block, Columns

RANK_METRICS = ("loss", "grad_norm", "time/step_s", "time/data_s", "time/forward_s")
GLOBAL = ("loss", "grad_norm", "lr", "time/step_s", "time/data_s", "grad_noise_scale")


def value(rank: int, key_index: int, step: int) -> float:
    """A value the reader can recompute: every point is checked, not just counted."""
    return rank * 1000.0 + key_index + step * 1e-3


@dataclass
class SimRank:
    run_id: str
    rank: int
    layers: int = 0
    """Rank 0 also ships per-parameter ``grad_norm/<p>`` for this many parameters."""
    seq: int = 0
    agent_id: str = field(default="")

    def __post_init__(self) -> None:
        self.agent_id = self.agent_id or f"sim{self.rank:x}-{self.run_id[-6:]}"

    def key_names(self) -> list[str]:
        own = [f"rank/{self.rank}/{m}" for m in RANK_METRICS]
        if self.rank == 0:
            own += list(GLOBAL) + [f"grad_norm/layer{i}.weight" for i in range(self.layers)]
        return own

    def batch(self, first_step: int, n_steps: int) -> tuple[str, bytes, int]:
        """(batch id, encoded body, points) of the next batch: steps first_step … +n_steps."""
        self.seq += 1
        steps = np.arange(first_step, first_step + n_steps, dtype=np.int64)
        keys = self.key_names()
        values = np.array([[value(self.rank, i, int(s)) for s in steps] for i in range(len(keys))])
        cols = Columns(
            blocks=[Block(keys=tuple(keys), steps=steps, values=values)],
            wall_steps=steps,
            wall_time=1.7e9 + steps.astype(np.float64),
        )
        batch_id = f"{self.agent_id}:{self.seq}"
        return batch_id, wire.encode(wire.document(self.run_id, batch_id, cols)), cols.n_points


def create_run(url: str, run_id: str, project: str = "ranks") -> None:
    client = HttpClient(url)
    try:
        response = client.post_json(
            "/api/v1/runs", {"id": run_id, "project": project, "name": run_id, "config": {}}
        )
        assert response.ok, response.body
    finally:
        client.close()


def post_all(
    url: str,
    run_id: str,
    bodies: Iterable[tuple[str, bytes, int]],
    threads: int,
    on_done: Callable[[str, float, float], None] | None = None,
) -> list[tuple[str, int]]:
    """POST every body from ``threads`` keep-alive clients at once; returns failures
    (batch id, status). ``on_done(batch_id, sent_at, answered_at)`` per accepted batch."""
    queue = list(bodies)
    lock = threading.Lock()
    failures: list[tuple[str, int]] = []

    def worker() -> None:
        client = HttpClient(url, timeout=60)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    batch_id, body, _ = queue.pop()
                sent = time.perf_counter()
                response = client.request(
                    "POST",
                    f"/api/v1/runs/{run_id}/batches",
                    body,
                    {"Content-Type": wire.CONTENT_TYPE, "Content-Encoding": "gzip"},
                )
                if response.status != 202:
                    with lock:
                        failures.append((batch_id, response.status))
                elif on_done is not None:
                    on_done(batch_id, sent, time.perf_counter())
        finally:
            client.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(600)
    return failures
