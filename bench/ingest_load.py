"""Ingest end to end: simulated agents → API → Redis → Celery workers → PostgreSQL.

Starts its own stack (a private Redis with the compose file's persistence, a fresh database
on the machine's PostgreSQL, one ``gradsight-server serve`` process, N ``gradsight-server
worker`` processes) and drives it from threads of this process, each a simulated agent
sending a run's batches exactly as the agent encodes them (gzip'd msgpack, ~200 parameters ×
5 per-parameter families + scalars; per-parameter gradient norms every step, the other four
families every ``--update-every`` steps, ``--steps`` steps per batch: the agent's defaults
at 50 steps/s). A thread subscribed to the workers' live-update notices (Redis pub/sub,
published after each batch commits) marks each batch queryable.

1. Saturation: every agent keeps ``--window`` batches in flight (sent, not yet queryable),
   so the workers never idle and no queue grows without bound; the stored rate over the
   measured interval is the sustained throughput.
2. Latency: the agents send on a fixed schedule at half that rate; send → queryable p50/p99.
3. Baseline, measured in the same run because these machines are noisy: the same rows
   COPYed by one process with nothing else running (one transaction per batch, as a worker
   does), with the numpy-encoded stream the worker uses and with psycopg's ``write_row``.

CPU seconds per component are printed for each phase: on a 2-core machine the API, the
workers, PostgreSQL and this client share the same cores, which is what limits scaling.

    python bench/ingest_load.py                         # 1 API, 2 workers (~3 min)
    python bench/ingest_load.py --workers 1 --duration 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import redis
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gradsight.transport import wire  # noqa: E402
from gradsight.transport.client import HttpClient  # noqa: E402
from gradsight.transport.columns import Block, Columns  # noqa: E402
from gradsight_server.ingest.notices import CHANNEL, Notice  # noqa: E402
from gradsight_server.store import pgcopy  # noqa: E402
from gradsight_server.store.engine import Database  # noqa: E402
from gradsight_server.store.pgcopy import SegmentBlock  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

FAMILIES = ("grad_norm/", "update_ratio/", "param_norm/", "spike_frac/", "eps_frac/")
SCALARS = ("loss", "lr", "grad_norm", "update_ratio", "time/step_s", "time/data_s", "time/forward_s",
           "time/backward_s", "time/optimizer_s", "throughput/samples_per_s")  # fmt: skip
# Production timings (.env.example), not the tests' short ones.
SERVER_ENV = {
    "GRADSIGHT_MAINTENANCE_INTERVAL_S": "15",
    "GRADSIGHT_REQUEUE_AFTER_S": "60",
    "GRADSIGHT_BROKER_VISIBILITY_TIMEOUT_S": "300",
    "GRADSIGHT_DIAGNOSIS_DEBOUNCE_S": "5",
    "GRADSIGHT_COMPACT_AFTER_S": "300",
}


def layer_names(n: int) -> list[str]:
    parts = ("attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.o_proj", "mlp.up", "mlp.down", "ln1", "ln2")
    return [f"blocks.{i // len(parts)}.{parts[i % len(parts)]}.weight" for i in range(n)]


@dataclass
class SimRun:
    """One simulated agent: its run id, keys and position."""

    run_id: str
    layers: list[str]
    steps: int
    update_every: int
    step: int = 0
    seq: int = 0
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    ready: deque[tuple[str, bytes, int]] = field(default_factory=deque)

    def columns(self) -> Columns:
        steps = np.arange(self.step, self.step + self.steps, dtype=np.int64)
        sparse = steps[steps % self.update_every == 0]
        dense_keys = tuple(sorted([*SCALARS, *(f"grad_norm/{n}" for n in self.layers)]))
        blocks = [Block(dense_keys, steps, np.abs(self.rng.standard_normal((len(dense_keys), steps.size))))]
        if sparse.size:
            sparse_keys = tuple(sorted(f"{f}{n}" for f in FAMILIES[1:] for n in self.layers))
            blocks.append(
                Block(sparse_keys, sparse, np.abs(self.rng.standard_normal((len(sparse_keys), sparse.size))))
            )
        self.step += self.steps
        return Columns(blocks, wall_steps=steps, wall_time=time.time() + steps * 0.02)

    def encode(self) -> tuple[str, bytes, int]:
        cols = self.columns()
        self.seq += 1
        batch_id = f"bench:{self.seq}"
        return batch_id, wire.encode(wire.document(self.run_id, batch_id, cols)), cols.n_points

    def prepare(self, batches: int) -> None:
        """Encode batches ahead: real agents encode on the training hosts, not on the
        server's cores, so the client's work stays out of the measurement."""
        self.ready.extend(self.encode() for _ in range(batches))

    def next_batch(self) -> tuple[str, bytes, int]:
        return self.ready.popleft() if self.ready else self.encode()


class Tracker:
    """Send times and queryable times per batch; how many each agent has in flight."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], tuple[float, int]] = {}
        self.done: dict[tuple[str, str], float] = {}
        self.in_flight: dict[str, int] = {}
        self.accept_s: list[float] = []
        self.cond = threading.Condition()

    def on_sent(self, run_id: str, batch_id: str, t: float, points: int, accept_s: float) -> None:
        with self.cond:
            key = (run_id, batch_id)
            if key not in self.done:
                self.sent[key] = (t, points)
                self.in_flight[run_id] = self.in_flight.get(run_id, 0) + 1
            self.accept_s.append(accept_s)

    def on_done(self, run_id: str, batch_id: str, t: float) -> None:
        with self.cond:
            key = (run_id, batch_id)
            if key in self.done:
                return
            self.done[key] = t
            if key in self.sent:
                self.in_flight[run_id] -= 1
            self.cond.notify_all()

    def wait_room(self, run_id: str, window: int, stop: threading.Event) -> bool:
        with self.cond:
            while self.in_flight.get(run_id, 0) >= window and not stop.is_set():
                self.cond.wait(0.5)
        return not stop.is_set()

    def stored(self, start: float, end: float) -> int:
        with self.cond:
            return sum(self.sent[k][1] for k, t in self.done.items() if start <= t < end and k in self.sent)

    def latencies(self, start: float, end: float) -> list[float]:
        with self.cond:
            return [
                self.done[k] - t for k, (t, _) in self.sent.items() if start <= t < end and k in self.done
            ]

    def pending(self, start: float, end: float) -> int:
        with self.cond:
            return sum(1 for k, (t, _) in self.sent.items() if start <= t < end and k not in self.done)


def listen(url: str, tracker: Tracker, stop: threading.Event) -> None:
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    pubsub.subscribe(CHANNEL)
    while not stop.is_set():
        message = pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            notice = Notice.decode(message["data"])
            if notice is not None and notice.batch_id is not None:
                tracker.on_done(notice.run_id, notice.batch_id, time.monotonic())
    pubsub.close()


def agent(
    url: str, sim: SimRun, tracker: Tracker, stop: threading.Event, window: int, interval: float | None
) -> None:
    """``interval`` None: closed loop (keep ``window`` batches in flight); else one batch per interval."""
    client = HttpClient(url)
    next_at = time.monotonic()
    while not stop.is_set():
        if interval is None:
            if not tracker.wait_room(sim.run_id, window, stop):
                break
        else:
            next_at += interval
            pause = next_at - time.monotonic()
            if pause > 0 and stop.wait(pause):
                break
        batch_id, body, points = sim.next_batch()
        t0 = time.monotonic()
        response = client.request("POST", f"/api/v1/runs/{sim.run_id}/batches", body, {
            "Content-Type": wire.CONTENT_TYPE, "Content-Encoding": "gzip"})  # fmt: skip
        if response.status != 202:
            raise RuntimeError(f"batch refused: {response.status} {response.body[:300]!r}")
        tracker.on_sent(sim.run_id, batch_id, t0, points, time.monotonic() - t0)
    client.close()


@dataclass
class Cpu:
    """CPU seconds used by each part of the stack during a phase."""

    parts: dict[str, float]

    @classmethod
    def sample(cls, stack: Stack) -> Cpu:
        def tree(pid: int) -> float:
            try:
                proc = psutil.Process(pid)
                procs = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                return 0.0
            total = 0.0
            for p in procs:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.Error:
                    pass
            return total

        machine = psutil.cpu_times()
        parts = {
            "api": tree(stack.api.popen.pid) if stack.api else 0.0,
            "workers": sum(tree(w.popen.pid) for w in stack.workers),
            "redis": tree(stack.redis.popen.pid),
            "client": sum(psutil.Process().cpu_times()[:2]),  # this process only (the stack is its children)
            "machine": machine.user + machine.system + machine.nice,
        }
        return cls(parts)

    def since(self, before: Cpu) -> dict[str, float]:
        used = {k: self.parts[k] - before.parts[k] for k in self.parts}
        used["postgres+other"] = used.pop("machine") - sum(used.values())
        return used


def run_phase(stack: Stack, sims: list[SimRun], tracker: Tracker, seconds: float, warmup: float, window: int,
              interval: float | None) -> tuple[float, float, dict[str, float]]:  # fmt: skip
    stop = threading.Event()
    threads = [threading.Thread(target=agent, args=(stack.url, s, tracker, stop, window, interval), daemon=True)
               for s in sims]  # fmt: skip
    for t in threads:
        t.start()
    time.sleep(warmup)
    start, cpu0 = time.monotonic(), Cpu.sample(stack)
    time.sleep(seconds)
    end, cpu1 = time.monotonic(), Cpu.sample(stack)
    stop.set()
    for t in threads:
        t.join(60)
    return start, end, cpu1.since(cpu0)


def baseline(database_url: str, sims: list[SimRun], batches: int) -> dict[str, float]:
    """The same rows, COPYed by this process alone: one transaction per batch, as a worker."""
    db = Database(database_url)
    try:
        with db.write_session() as session:
            session.execute(text("INSERT INTO runs (id, project, name, status, config, metadata, created_at, updated_at) "
                                 "VALUES ('baseline', 'bench', 'baseline', 'running', '{}', '{}', now(), now())"))  # fmt: skip
            run_pk = session.execute(text("SELECT pk FROM runs WHERE id = 'baseline'")).scalar_one()
        work = []
        for i in range(batches):
            cols = sims[i % len(sims)].columns()
            key_ids = iter(range(1, 10**9))
            blocks = [
                SegmentBlock(np.array([next(key_ids) for _ in b.keys]), b.steps, b.values)
                for b in cols.blocks
            ]
            work.append((blocks, cols.n_points))
        with db.write_session() as session:  # segment rows reference metric keys; make enough
            session.execute(
                text(
                    f"INSERT INTO metric_keys (run_pk, name) SELECT {run_pk}, 'k' || g FROM generate_series(1, 2000) g"
                )
            )
        with db.session() as session:
            first_key = session.execute(
                text("SELECT min(id) FROM metric_keys WHERE run_pk = :r"), {"r": run_pk}
            ).scalar_one()
        shifted = [
            ([SegmentBlock(b.key_ids + first_key - 1, b.steps, b.values) for b in blocks], n)
            for blocks, n in work
        ]
        wall = {"numpy": 0.0, "write_row": 0.0}
        cpu = dict(wall)
        points = 0
        for seq, (blocks, n) in enumerate(shifted):  # alternate, so drift hits both alike
            for mode in ("numpy", "write_row") if seq % 2 else ("write_row", "numpy"):
                t0, c0 = time.perf_counter(), time.process_time()
                with db.write_session() as session:
                    if mode == "numpy":
                        pgcopy.copy_segments(session, run_pk, seq, blocks)
                    else:
                        copy_with_write_row(session, run_pk, seq, blocks)
                wall[mode] += time.perf_counter() - t0
                cpu[mode] += time.process_time() - c0
            points += n
        return {f"{m}_points_per_s": points / wall[m] for m in wall} | {
            f"{m}_client_cpu_us_per_1k_points": cpu[m] / points * 1e9 for m in cpu
        }
    finally:
        db.dispose()


def copy_with_write_row(session: Any, run_pk: int, seq: int, blocks: list[SegmentBlock]) -> None:
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(pgcopy.COPY_SEGMENTS) as copy:
        copy.set_types(
            ["int8", "int8", "int8", "int8", "int8", "int4", "int8", "bytea", "varchar", "bytea", "bytea"]
        )
        for b in blocks:
            stride = pgcopy.stride_of(b.steps)
            steps = None if stride is not None else b.steps.astype("<i8").tobytes()
            for k, key_id in enumerate(b.key_ids.tolist()):
                copy.write_row((run_pk, key_id, seq, int(b.steps[0]), int(b.steps[-1]), int(b.steps.size), stride or 0,
                                steps, "f8", b.values[k].astype("<f8").tobytes(), None))  # fmt: skip


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@contextmanager
def stack_up(workers: int, concurrency: int) -> Iterator[Stack]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, fresh_database("gradsight_bench") as database_url:
        stack = Stack(Path(tmp), database_url, SERVER_ENV)
        try:
            stack.start_api()
            for _ in range(workers):
                stack.start_worker(concurrency)
            yield stack
        finally:
            stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16, help="concurrent simulated agents (runs)")
    parser.add_argument("--layers", type=int, default=200, help="parameters per run (× 5 families)")
    parser.add_argument("--steps", type=int, default=50, help="steps per batch (one batch per flush)")
    parser.add_argument(
        "--update-every", type=int, default=10, help="cadence of the four update-time families"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--window", type=int, default=3, help="batches in flight per agent when saturating")
    parser.add_argument("--duration", type=float, default=40.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--baseline-batches", type=int, default=150)
    parser.add_argument("--max-rate", type=float, default=1.0e6, help="points/s to encode batches ahead for")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    layers = layer_names(args.layers)
    sims = [SimRun(f"bench-{i:03d}", layers, args.steps, args.update_every) for i in range(args.runs)]
    per_batch = sims[0].columns().n_points
    sims[0].step = 0
    print(f"{args.runs} runs × {len(layers)} parameters × {len(FAMILIES)} families + {len(SCALARS)} scalars; "
          f"{per_batch:,} points per batch ({args.steps} steps); 1 API, {args.workers} worker(s) × "
          f"{args.concurrency} process(es); {psutil.cpu_count()} cores", flush=True)  # fmt: skip
    results: dict[str, Any] = {"points_per_batch": per_batch, "runs": args.runs, "workers": args.workers}
    ahead = int(args.max_rate * (args.duration + args.warmup) / per_batch / args.runs) + args.window
    print(f"encoding {ahead * args.runs:,} batches ahead …", flush=True)
    for sim in sims:
        sim.prepare(ahead)
    with stack_up(args.workers, args.concurrency) as stack:
        for sim in sims:
            HttpClient(stack.url).post_json("/api/v1/runs", {"id": sim.run_id, "project": "bench"})
        tracker = Tracker()
        stop = threading.Event()
        listener = threading.Thread(target=listen, args=(stack.redis.url, tracker, stop), daemon=True)
        listener.start()
        time.sleep(0.5)

        start, end, cpu = run_phase(stack, sims, tracker, args.duration, args.warmup, args.window, None)
        rate = tracker.stored(start, end) / (end - start)
        print(f"\nsaturation: {rate:,.0f} points/s stored and queryable, sustained over {end - start:.0f} s "
              f"({rate / per_batch:.1f} batches/s)", flush=True)  # fmt: skip
        print("  CPU s per s: " + ", ".join(f"{k} {v / (end - start):.2f}" for k, v in cpu.items()))
        print(
            f"  API accept p50 {pct(tracker.accept_s, 50) * 1000:.0f} ms, p99 {pct(tracker.accept_s, 99) * 1000:.0f} ms"
        )
        results["saturation"] = {
            "points_per_s": rate,
            "cpu_per_s": {k: v / (end - start) for k, v in cpu.items()},
        }
        time.sleep(5)  # let the last in-flight batches land

        half = rate / 2
        interval = args.runs * per_batch / half
        tracker.accept_s.clear()
        for sim in sims:
            sim.ready.clear()
            sim.prepare(int(half * (args.duration + args.warmup) / per_batch / args.runs) + 2)
        start, end, cpu = run_phase(
            stack, sims, tracker, args.duration, args.warmup / 2, args.window, interval
        )
        deadline = time.monotonic() + 30
        while tracker.pending(start, end) and time.monotonic() < deadline:
            time.sleep(0.2)
        lat = tracker.latencies(start, end)
        sent_rate = tracker.stored(start, end + 60) / (end - start)
        print(f"\nhalf load: {sent_rate:,.0f} points/s offered ({len(lat)} batches); send → queryable "
              f"p50 {pct(lat, 50) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms",
              flush=True)  # fmt: skip
        print("  CPU s per s: " + ", ".join(f"{k} {v / (end - start):.2f}" for k, v in cpu.items()))
        results["half_load"] = {"points_per_s": sent_rate, "p50_s": pct(lat, 50), "p99_s": pct(lat, 99),
                                "median_accept_s": statistics.median(tracker.accept_s or [float("nan")])}  # fmt: skip
        stop.set()
        listener.join(5)
        for w in stack.workers:  # nothing else may use the cores during the baseline
            w.stop()
        stack.workers = []
        stack.stop_api()

        copy = baseline(stack.database_url, sims, args.baseline_batches)
        print(f"\nbaseline, the same rows COPYed by this process alone, one transaction per batch:\n"
              f"  numpy-encoded binary COPY (as the worker): {copy['numpy_points_per_s']:,.0f} points/s, "
              f"{copy['numpy_client_cpu_us_per_1k_points']:.0f} µs of Python CPU per 1000 points\n"
              f"  psycopg write_row binary COPY:              {copy['write_row_points_per_s']:,.0f} points/s, "
              f"{copy['write_row_client_cpu_us_per_1k_points']:.0f} µs of Python CPU per 1000 points")  # fmt: skip
        results["baseline_copy_points_per_s"] = copy
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
