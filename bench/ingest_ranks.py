"""Ingest of one data-parallel job: N simulated ranks of *one run* posting concurrently
(the ingest benchmark, bench/ingest_load.py, for the distributed case; docs/distributed.md).

The self-hosted stack (private Redis, fresh PostgreSQL database, one API, Celery workers) as
in ingest_load.py. Every rank sends what the agent ships from it (tests/support/ranks.py):
its five ``rank/<k>/…`` scalars per step plus the step's wall clock; rank 0 also the
model-wide scalars and ``--layers`` per-parameter gradient norms. Ranks step in lockstep, so
they flush in lockstep too: every ``--flush`` seconds all N post a batch of
``--steps-per-flush`` steps at the same moment — the worst case for contention on the one
run's rows.

1. Paced: the job as configured; offered points/s, API accept and send → queryable latency
   (from the workers' live-update notices), and whether anything is still pending.
2. Saturation: every rank keeps one batch in flight; the stored rate is the most one job's
   ranks can push through this stack.
3. Baseline from the same run: the same points sent as one batch per flush (as if a single
   agent shipped the whole job), which shows what splitting a job into N writers costs.

    python bench/ingest_ranks.py                  # 256 ranks, 2 workers (~2 min)
    python bench/ingest_ranks.py --ranks 64 --duration 20
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ingest_load import Cpu, Tracker, listen, pct, stack_up  # noqa: E402

from gradsight.transport import wire  # noqa: E402
from gradsight.transport.client import HttpClient  # noqa: E402
from gradsight.transport.columns import Block, Columns  # noqa: E402
from tests.support.ranks import SimRank, create_run  # noqa: E402


def poster(
    url: str,
    run_id: str,
    batches: list[tuple[str, bytes, int]],
    tracker: Tracker,
    stop: threading.Event,
    flush: float | None,
    start_at: float,
) -> None:
    """One rank: a batch every ``flush`` seconds from ``start_at``, or (None) one in flight."""
    client = HttpClient(url, timeout=120)
    next_at = start_at
    try:
        for batch_id, body, points in batches:
            if flush is None:
                if not tracker.wait_room(run_id + batch_id.partition(":")[0], 1, stop):
                    return
            else:
                pause = next_at - time.monotonic()
                if pause > 0 and stop.wait(pause):
                    return
                next_at += flush
            if stop.is_set():
                return
            t0 = time.monotonic()
            response = client.request("POST", f"/api/v1/runs/{run_id}/batches", body, {
                "Content-Type": wire.CONTENT_TYPE, "Content-Encoding": "gzip"})  # fmt: skip
            if response.status != 202:
                raise RuntimeError(f"batch refused: {response.status} {response.body[:300]!r}")
            tracker.on_sent(run_id + batch_id.partition(":")[0], batch_id, t0, points, time.monotonic() - t0)
    finally:
        client.close()


class RankTracker(Tracker):
    """Tracks in-flight batches per rank (the notices carry the run id and the batch id)."""

    def on_done(self, run_id: str, batch_id: str, t: float) -> None:
        super().on_done(run_id + batch_id.partition(":")[0], batch_id, t)


def phase(url: str, run_id: str, per_rank: list[list[tuple[str, bytes, int]]], tracker: Tracker,
          flush: float | None, seconds: float, stack: object) -> tuple[float, float, dict[str, float]]:  # fmt: skip
    stop = threading.Event()
    start_at = time.monotonic() + 1.0
    threads = [
        threading.Thread(target=poster, args=(url, run_id, b, tracker, stop, flush, start_at), daemon=True)
        for b in per_rank
    ]
    for t in threads:
        t.start()
    time.sleep(max(0.0, start_at - time.monotonic()))
    start, cpu0 = time.monotonic(), Cpu.sample(stack)  # type: ignore[arg-type]
    time.sleep(seconds)
    end, cpu1 = time.monotonic(), Cpu.sample(stack)  # type: ignore[arg-type]
    stop.set()
    for t in threads:
        t.join(120)
    return start, end, cpu1.since(cpu0)


def drain(tracker: Tracker, start: float, end: float, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while tracker.pending(start, end) and time.monotonic() < deadline:
        time.sleep(0.2)


def merged(per_rank: list[list[tuple[str, bytes, int]]], sims: list[SimRank], steps: int, n: int,
           run_id: str) -> list[tuple[str, bytes, int]]:  # fmt: skip
    """The same points as one batch per flush (the baseline)."""
    out = []
    for b in range(n):
        blocks = []
        step_arr = np.arange(b * steps, (b + 1) * steps, dtype=np.int64)
        for sim in sims:
            keys = sim.key_names()
            values = np.random.default_rng(b).random((len(keys), steps))
            blocks.append(Block(tuple(keys), step_arr, values))
        cols = Columns(blocks=blocks, wall_steps=step_arr, wall_time=1.7e9 + step_arr.astype(np.float64))
        batch_id = f"one:{b + 1}"
        out.append((batch_id, wire.encode(wire.document(run_id, batch_id, cols)), cols.n_points))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=256)
    parser.add_argument("--layers", type=int, default=200, help="per-parameter keys rank 0 ships")
    parser.add_argument("--steps-per-flush", type=int, default=10, help="steps per batch (a 10 steps/s job)")
    parser.add_argument("--flush", type=float, default=1.0, help="seconds between a rank's batches")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per phase")
    args = parser.parse_args()

    n_paced = int(args.duration / args.flush) + 3
    n_sat = 400
    sims = [
        SimRank("job-paced", k, layers=args.layers if k == 0 else 0, agent_id=f"r{k}")
        for k in range(args.ranks)
    ]
    paced = [
        [sim.batch(b * args.steps_per_flush, args.steps_per_flush) for b in range(n_paced)] for sim in sims
    ]
    per_flush = sum(batches[0][2] for batches in paced)
    print(f"{args.ranks} ranks of one run; rank 0 ships {len(sims[0].key_names())} keys, the others "
          f"{len(sims[-1].key_names())}; {per_flush:,} points per flush ({args.steps_per_flush} steps every "
          f"{args.flush:g} s), {per_flush / args.flush:,.0f} points/s offered; {args.workers} worker(s)", flush=True)  # fmt: skip
    sat_sims = [
        SimRank("job-saturated", k, layers=args.layers if k == 0 else 0, agent_id=f"s{k}")
        for k in range(args.ranks)
    ]
    saturated = [
        [sim.batch(b * args.steps_per_flush, args.steps_per_flush) for b in range(n_sat)] for sim in sat_sims
    ]
    one = merged(paced, sims, args.steps_per_flush, n_paced, "job-one")

    with stack_up(args.workers, args.concurrency) as stack:
        for run_id in ("job-paced", "job-saturated", "job-one"):
            create_run(stack.url, run_id, "bench")
        tracker = RankTracker()
        stop = threading.Event()
        listener = threading.Thread(target=listen, args=(stack.redis.url, tracker, stop), daemon=True)
        listener.start()
        time.sleep(0.5)

        # Baseline first, on an idle stack; each phase then drains before the next starts.
        start, end, cpu = phase(stack.url, "job-one", [one], tracker, args.flush, args.duration, stack)
        drain(tracker, start, end)
        lat = tracker.latencies(start, end)
        print(f"\nbaseline, the same points as one batch per flush: send → queryable p50 {pct(lat, 50) * 1000:.0f} ms, "
              f"p99 {pct(lat, 99) * 1000:.0f} ms ({len(lat)} batches); API accept p50 "
              f"{pct(tracker.accept_s, 50) * 1000:.0f} ms; CPU s per s: "
              + ", ".join(f"{k} {v / (end - start):.2f}" for k, v in cpu.items()), flush=True)  # fmt: skip

        tracker.accept_s.clear()
        start, end, cpu = phase(stack.url, "job-paced", paced, tracker, args.flush, args.duration, stack)
        stored = tracker.stored(start, end) / (end - start)
        backlog = tracker.pending(start, end)
        drain(tracker, start, end, limit=600)
        lat = tracker.latencies(start, end)
        print(f"\npaced, {args.ranks} ranks flushing together every {args.flush:g} s: {stored:,.0f} points/s stored "
              f"during the phase; {backlog} of {len(lat)} batches still pending when it ended"
              f"{' (the stack does not keep up)' if backlog > args.ranks * 2 else ''}\n"
              f"  API accept p50 {pct(tracker.accept_s, 50) * 1000:.0f} ms, p99 {pct(tracker.accept_s, 99) * 1000:.0f} ms; "
              f"send → queryable p50 {pct(lat, 50) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms, "
              f"max {max(lat) * 1000:.0f} ms", flush=True)  # fmt: skip
        print("  CPU s per s: " + ", ".join(f"{k} {v / (end - start):.2f}" for k, v in cpu.items()))

        tracker.accept_s.clear()
        start, end, cpu = phase(stack.url, "job-saturated", saturated, tracker, None, args.duration, stack)
        rate = tracker.stored(start, end) / (end - start)
        print(f"\nsaturation, one batch in flight per rank: {rate:,.0f} points/s ({rate * args.ranks / per_flush:,.0f} "
              f"batches/s) stored and queryable; API accept p50 "
              f"{pct(tracker.accept_s, 50) * 1000:.0f} ms, p99 {pct(tracker.accept_s, 99) * 1000:.0f} ms", flush=True)  # fmt: skip
        print("  CPU s per s: " + ", ".join(f"{k} {v / (end - start):.2f}" for k, v in cpu.items()))
        stop.set()
        listener.join(5)


if __name__ == "__main__":
    main()
