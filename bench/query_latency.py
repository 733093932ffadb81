"""Query latency and storage at a million steps, on PostgreSQL, through a real server.

Loads one run of ``--steps`` steps of ``loss`` (every step) plus ``--layers`` per-layer keys
``grad_norm/…`` (every ``--every``-th step) and the wall clock, through the server's own ingest
path (the agent's encoder → decode → stage → apply, in this process, ``--batch-steps`` steps per
batch) with compaction every ``--compact-every`` batches as the maintenance sweep would run it;
then ``--runs`` − 1 more runs of ``loss`` alone for the comparison. A ``gradsight-server serve``
process answers HTTP requests, each timed to the last byte of its body:

- series, one key, 1,000 buckets over the full range; the same over random 1 % windows;
- the ``grad_norm/`` heatmap, layers × 1,000 buckets; the comparison of one key across runs;
- storage bytes per stored point (segments + roll-ups with their TOAST and indexes).

Baselines from the same run: plain SELECTs of the same raw bytes a query would otherwise read
(all of ``loss``; all of the family, once), of the roll-up bytes it does read, and the HTTP
round trip of ``/health``.

    python bench/query_latency.py                          # the issue's workload (~10 min here)
    python bench/query_latency.py --steps 100000 --layers 20 --repeats 10   # a quick look
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gradsight.transport import wire  # noqa: E402
from gradsight.transport.columns import Block, Columns  # noqa: E402
from gradsight_server.ingest import service  # noqa: E402
from gradsight_server.ingest.compaction import compact_run  # noqa: E402
from gradsight_server.runs.service import create_or_resume  # noqa: E402
from gradsight_server.store import migrate  # noqa: E402
from gradsight_server.store.engine import Database  # noqa: E402
from gradsight_server.wire.decode import decode_batch  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.procs import Server  # noqa: E402
from tests.support.stack import connect  # noqa: E402

NOW = timedelta(0)
LIMIT = 2**40


@dataclass
class Load:
    points: int = 0
    wall_points: int = 0
    batches: int = 0
    apply_s: float = 0.0
    compact_s: float = 0.0
    compacted_points: int = 0
    passes: list[float] = field(default_factory=list)


def layer_names(n: int) -> list[str]:
    parts = ("attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.o_proj", "mlp.up", "mlp.down", "ln1", "ln2")
    return [f"blocks.{i // len(parts)}.{parts[i % len(parts)]}.weight" for i in range(n)]


def load_run(
    db: Database,
    conn: Any,
    run_id: str,
    args: argparse.Namespace,
    layers: int,
    seed: int,
    span: tuple[int, int, int] | None = None,
    finish: bool = True,
) -> Load:
    """Ingest a run batch by batch through stage + apply, compacting as the sweep would.
    ``span``: (first step, steps, steps per batch), default the whole run from ``args``;
    ``finish``: compact everything at the end, as once the run is over."""
    first_step, n_steps, batch_steps = span or (0, args.steps, args.batch_steps)
    rng = np.random.default_rng(seed)
    create_or_resume(db, run_id, "bench", run_id, {}, {})
    names = layer_names(layers)
    keys = tuple(f"grad_norm/{n}" for n in names)
    run_pk = conn.execute("SELECT pk FROM runs WHERE id = %s", (run_id,)).fetchone()[0]
    out = Load()
    t0 = time.time() - args.steps * 0.05
    for lo in range(first_step, first_step + n_steps, batch_steps):
        steps = np.arange(lo, min(first_step + n_steps, lo + batch_steps), dtype=np.int64)
        loss = 4.0 * np.exp(-steps / 3e5) + 0.05 * rng.standard_normal(steps.size)
        loss[rng.random(steps.size) < 2e-5] = np.nan  # rare non-finite losses, kept as data
        blocks = [Block(("loss",), steps, loss[np.newaxis, :])]
        if layers:
            sparse = steps[steps % args.every == 0]
            norms = np.exp(rng.standard_normal((layers, sparse.size)) * 0.3)
            blocks.append(Block(keys, sparse, norms))
        cols = Columns(blocks, wall_steps=steps, wall_time=t0 + steps * 0.05)
        body = wire.encode(
            wire.document(run_id, f"bench:{lo}", cols, layers=names if lo == 0 and layers else None)
        )
        payload = wire_payload(body)
        batch = decode_batch(payload, wire.CONTENT_TYPE, LIMIT)
        staged = service.stage(db, run_id, batch, wire.CONTENT_TYPE, payload)
        assert staged.ledger_pk is not None
        started = time.perf_counter()
        result = service.apply(db, staged.ledger_pk)
        out.apply_s += time.perf_counter() - started
        assert result.status == "applied", result
        out.points += cols.n_points
        out.wall_points += steps.size
        out.batches += 1
        if finish and out.batches % args.compact_every == 0:
            # As the sweep would a minute later: the batches are past the safety grace (10 s),
            # and keys' last, still-open tiles wait (GRADSIGHT_COMPACT_AFTER_S, 300 s).
            conn.execute("UPDATE ingest_batches SET received_at = received_at - interval '60 seconds'")
            compact(db, conn, run_pk, out, timedelta(seconds=300))
    if finish:
        compact(db, conn, run_pk, out, NOW)  # the run is over: everything
    return out


def wire_payload(body: bytes) -> bytes:
    from gradsight_server.wire.decode import inflate

    return inflate(body, "gzip", LIMIT)


def compact(db: Database, conn: Any, run_pk: int, out: Load, open_after: timedelta) -> None:
    started = time.perf_counter()
    done = compact_run(db, run_pk, open_after)
    took = time.perf_counter() - started
    out.compact_s += took
    out.compacted_points += done.points
    out.passes.append(took)
    conn.execute("VACUUM segments, rollups")  # what autovacuum does between passes


TABLES = ("segments", "rollups", "metric_keys", "latest_values", "ingest_batches")


def storage(conn: Any) -> dict[str, dict[str, int]]:
    rows = conn.execute(
        """
        SELECT c.relname, pg_relation_size(c.oid), pg_indexes_size(c.oid),
               coalesce(pg_total_relation_size(c.reltoastrelid), 0), pg_total_relation_size(c.oid)
        FROM pg_class c WHERE c.relname = ANY(%s)
        """,
        (list(TABLES),),
    ).fetchall()
    return {name: {"heap": h, "indexes": i, "toast": t, "total": tot} for name, h, i, t, tot in rows}


def timed(fn: Callable[[int], Any], repeats: int, warmup: int = 3) -> list[float]:
    for i in range(warmup):
        fn(-1 - i)
    out = []
    for i in range(repeats):
        started = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "n": len(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--layers", type=int, default=200)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument(
        "--runs", type=int, default=10, help="runs in the comparison (the first is the big one)"
    )
    parser.add_argument("--batch-steps", type=int, default=1000)
    parser.add_argument("--compact-every", type=int, default=30, help="batches between compaction passes")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    with fresh_database("gradsight_bench") as url, tempfile.TemporaryDirectory() as tmp:
        migrate.upgrade(url)
        db = Database(url)
        conn = connect(url)
        results: dict[str, Any] = {"args": vars(args) | {"json": None}}
        print(f"loading run-0: {args.steps:,} steps of loss + {args.layers} keys every {args.every}th step …")
        started = time.perf_counter()
        main_load = load_run(db, conn, "run-0", args, args.layers, 0)
        results["load"] = {
            "points": main_load.points,
            "wall_points": main_load.wall_points,
            "batches": main_load.batches,
            "apply_points_per_s": round(main_load.points / main_load.apply_s),
            "compaction_points_per_s": round(main_load.compacted_points / main_load.compact_s),
            "compaction_pass_p50_s": round(statistics.median(main_load.passes), 3),
            "wall_s": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(results["load"]))

        conn.execute("VACUUM ANALYZE")
        on_disk = storage(conn)
        conn.execute("VACUUM FULL segments, rollups")
        conn.execute("ANALYZE")
        live = storage(conn)
        results["storage"] = {"after_vacuum": on_disk, "after_vacuum_full": live}
        for label, sizes in (("after_vacuum", on_disk), ("after_vacuum_full", live)):
            points_bytes = sizes["segments"]["total"] + sizes["rollups"]["total"]
            everything = sum(s["total"] for s in sizes.values())
            results["storage"][f"{label}_bytes_per_point"] = round(points_bytes / main_load.points, 2)
            results["storage"][f"{label}_bytes_per_point_all_tables"] = round(
                everything / main_load.points, 2
            )
            results["storage"][f"{label}_bytes_per_point_incl_wall"] = round(
                points_bytes / (main_load.points + main_load.wall_points), 2
            )
        print(json.dumps({k: v for k, v in results["storage"].items() if "bytes" in k}))

        for r in range(1, args.runs):
            load_run(db, conn, f"run-{r}", args, 0, r)
        conn.execute("VACUUM ANALYZE")

        server = Server(
            {
                "GRADSIGHT_DATABASE_URL": url,
                "GRADSIGHT_DATA_DIR": tmp,
                "GRADSIGHT_MAINTENANCE_INTERVAL_S": "3600",
                "GRADSIGHT_LOG_LEVEL": "WARNING",
            },
            Path(tmp) / "logs",
        ).wait_ready()
        try:
            results["queries"] = run_queries(server.url, args)
            # A live run: its keys' current tile is not compacted yet. 4,000 more steps in the
            # agent's 50-step batches leave ~80 fresh segments per key for queries to merge.
            load_run(db, conn, "run-0", args, args.layers, 99, (args.steps, 4_000, 50), finish=False)
            results["queries_live"] = run_queries(server.url, args, live=True)
        finally:
            server.stop()
        results["baselines"] = baselines(conn, args)
        conn.close()
        db.dispose()

    print(json.dumps({k: results[k] for k in ("queries", "queries_live", "baselines")}, indent=1))
    print_table(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def run_queries(base_url: str, args: argparse.Namespace, live: bool = False) -> dict[str, Any]:
    rng = np.random.default_rng(42)
    api = f"{base_url}/api/v1"
    client = httpx.Client(timeout=120)
    width = max(1, args.steps // 100)

    def get(path: str, **params: Any) -> Callable[[int], Any]:
        def call(_: int) -> Any:
            response = client.get(f"{api}{path}", params=params)
            response.raise_for_status()
            return response.content

        return call

    def zoom(key: str) -> Callable[[int], Any]:
        def call(_: int) -> Any:
            start = int(rng.integers(0, args.steps - width))
            params = {"keys": key, "start": start, "end": start + width, "points": args.points}
            response = client.get(f"{api}/runs/run-0/series", params=params)
            response.raise_for_status()
            return response.content

        return call

    layer = f"grad_norm/{layer_names(max(1, args.layers))[args.layers // 2]}"
    runs = ",".join(f"run-{r}" for r in range(args.runs))
    out: dict[str, Any] = {}
    cases: list[tuple[str, Callable[[int], Any], int]] = [
        ("health", get("/health"), args.repeats),
        ("series_full_loss", get("/runs/run-0/series", keys="loss", points=args.points), args.repeats),
        ("series_zoom1pct_loss", zoom("loss"), args.repeats),
        ("series_full_layer", get("/runs/run-0/series", keys=layer, points=args.points), args.repeats),
        ("series_zoom1pct_layer", zoom(layer), args.repeats),
        (
            "matrix_max",
            get("/runs/run-0/matrix", family="grad_norm/", points=args.points, agg="max"),
            args.repeats // 2,
        ),
        (
            "matrix_mean",
            get("/runs/run-0/matrix", family="grad_norm/", points=args.points, agg="mean"),
            args.repeats // 4,
        ),
        ("compare_runs_loss", get("/compare", runs=runs, keys="loss", points=args.points), args.repeats),
    ]
    if live:
        cases = [c for c in cases if c[0] in ("series_full_loss", "series_full_layer", "matrix_max")]
    for name, fn, repeats in cases:
        out[name] = summary(timed(fn, max(5, repeats)))
        print(name, out[name], flush=True)
    body = client.get(
        f"{api}/runs/run-0/matrix", params={"family": "grad_norm/", "points": args.points}
    ).json()
    out["matrix_shape"] = [len(body["layers"]), len(body["step"])]
    full = client.get(f"{api}/runs/run-0/series", params={"keys": "loss", "points": args.points}).json()
    out["series_full_buckets"] = len(full["series"][0]["step"])
    client.close()
    return out


def baselines(conn: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Plain SELECTs of bytes into this process, nothing decoded: what a query reading raw
    points would pay at the least."""
    key = conn.execute(
        "SELECT k.id FROM metric_keys k JOIN runs r ON r.pk = k.run_pk WHERE r.id = 'run-0' AND k.name = 'loss'"
    ).fetchone()
    run_pk = conn.execute("SELECT pk FROM runs WHERE id = 'run-0'").fetchone()[0]

    def select_raw_loss(_: int) -> Any:
        return conn.execute(
            'SELECT "values" FROM segments WHERE run_pk = %s AND key_id = %s', (run_pk, key[0])
        ).fetchall()

    def select_rollup_loss(_: int) -> Any:
        level = 10  # the level a 1,000-bucket full-range query of a million steps reads
        return conn.execute(
            "SELECT first, min, max, sum, last, count, nonfinite FROM rollups WHERE key_id = %s AND level = %s",
            (key[0], level),
        ).fetchall()

    out = {
        "select_raw_loss": summary(timed(select_raw_loss, 10, 1)),
        "select_rollup_level10_loss": summary(timed(select_rollup_loss, 50)),
    }
    started = time.perf_counter()
    fetched = conn.execute(
        'SELECT s."values" FROM segments s JOIN metric_keys k ON k.id = s.key_id '
        "WHERE s.run_pk = %s AND k.name LIKE 'grad!_norm/%%' ESCAPE '!'",
        (run_pk,),
    ).fetchall()
    out["select_raw_family_once_ms"] = round((time.perf_counter() - started) * 1000, 1)
    out["raw_family_bytes"] = sum(len(v) for (v,) in fetched)
    return out


def print_table(results: dict[str, Any], args: argparse.Namespace) -> None:
    q, s = results["queries"], results["storage"]
    print()
    print(f"| query ({args.steps:,} steps, {args.layers} layers) | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name in ("series_full_loss", "series_zoom1pct_loss", "series_full_layer", "series_zoom1pct_layer",
                 "matrix_max", "matrix_mean", "compare_runs_loss", "health"):  # fmt: skip
        print(f"| {name} | {q[name]['p50_ms']} | {q[name]['p95_ms']} |")
    print()
    print(f"storage: {s['after_vacuum_bytes_per_point']} B/point on disk after VACUUM, "
          f"{s['after_vacuum_full_bytes_per_point']} B/point of live data (segments + roll-ups, with TOAST and indexes)")  # fmt: skip


if __name__ == "__main__":
    main()
