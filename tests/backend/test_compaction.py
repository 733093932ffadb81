"""Compaction, roll-ups, retention and ledger pruning against real SQLite and PostgreSQL:
what the tables hold afterwards, not only what queries return."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import delete, select, update

from gradsight_server.ingest.compaction import compact_run
from gradsight_server.ingest.retention import prune_ledger, retention_pass
from gradsight_server.query.export import tables
from gradsight_server.query.partials import STATISTICS
from gradsight_server.query.service import read_series
from gradsight_server.store import batches, chunks, rollups, runs, series
from gradsight_server.store.engine import Database
from gradsight_server.store.models import IngestBatch, Rollup, Run, Segment
from gradsight_server.store.pgcopy import SegmentBlock
from gradsight_server.store.points import read_points
from tests.support.series import Writer, database

NOW = timedelta(0)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database(request.param, tmp_path_factory.mktemp("db")) as found:
        yield found


def segments_of(db: Database, run_pk: int) -> list[Segment]:
    with db.session() as session:
        return list(
            session.scalars(select(Segment).where(Segment.run_pk == run_pk).order_by(Segment.first_step))
        )


def test_compaction_makes_disjoint_tile_chunks_and_keeps_values_and_counts(db: Database) -> None:
    rng = np.random.default_rng(1)
    w = Writer.new(db, "chunks")
    for lo in range(0, 21_000, 700):
        w.batch(np.arange(lo, lo + 700), {"dense": rng.normal(size=700)})
        sparse = np.arange(lo, lo + 700)[::10]
        w.batch(sparse, {"sparse": rng.normal(size=sparse.size)})
    w.batch(np.arange(500, 600), {"dense": np.full(100, np.nan)})  # re-logged, then compacted
    with db.write_session() as session:  # a key logged several times within its steps
        ids = series.ensure_keys(session, w.run_pk, ["counted"])
        counts = np.array([[1, 3, 1, 2]], dtype=np.uint32)
        block = SegmentBlock(np.array([ids["counted"]]), np.array([1, 2, 3, 9000]), np.ones((1, 4)), counts)
        series.write_segments(session, w.run_pk, 999, [block])

    done = compact_run(db, w.run_pk, NOW)
    assert done.keys == 3 and done.segments == 30 + 30 + 1 + 1

    rows = segments_of(db, w.run_pk)
    assert rows and all(r.chunk for r in rows), "no fresh segment is left"
    by_key: dict[int, list[Segment]] = {}
    for r in rows:
        by_key.setdefault(r.key_id, []).append(r)
    for found in by_key.values():
        tiles = [(r.first_step >> chunks.TILE_LEVEL, r.last_step >> chunks.TILE_LEVEL) for r in found]
        assert all(a[1] < b[0] for a, b in itertools.pairwise(tiles)), "chunks never share a tile"
        assert all(r.n <= chunks.CHUNK_MAX_POINTS for r in found)
    dense = by_key[ids_of(db, w, "dense")]
    assert [r.n for r in dense] == [4096] * 5 + [21_000 - 5 * 4096]
    assert all(r.steps is None and r.stride == 1 for r in dense), "regular steps stay first + stride"
    sparse = by_key[ids_of(db, w, "sparse")]
    assert sparse[0].stride == 10 and sparse[0].n >= chunks.CHUNK_MIN_POINTS, "sparse keys fill bigger chunks"

    with db.session() as session:
        for key in ("dense", "sparse"):
            got = read_points(session, w.run_pk, ids_of(db, w, key))
            steps, values = w.points(key)
            assert np.array_equal(got.steps, steps) and np.array_equal(got.values, values, equal_nan=True)
        (counted,) = by_key[ids["counted"]]
        assert np.frombuffer(counted.counts or b"", "<u4").tolist() == [1, 3, 1, 2], "counts survive"

    assert compact_run(db, w.run_pk, NOW).segments == 0, "a second pass finds nothing to do"


def ids_of(db: Database, w: Writer, key: str) -> int:
    with db.session() as session:
        return series.key_ids(session, w.run_pk, [key])[key]


def test_every_stored_bucket_equals_its_points_after_relogs(db: Database) -> None:
    """Roll-ups are checked directly, bucket by bucket, at every level — a stale extreme left by
    a replaced step would show here even where no query happens to read it."""
    rng = np.random.default_rng(2)
    w = Writer.new(db, "stored")
    for round_ in range(3):
        for lo in range(round_ * 30_000, (round_ + 1) * 30_000, 1_000):
            values = rng.normal(size=1_000)
            values[rng.random(1_000) < 0.02] = np.inf
            w.batch(np.arange(lo, lo + 1_000), {"x": values})
        if round_:  # rewind: re-log a stretch of the compacted past, spike included
            relog = np.arange(round_ * 20_000 - 3_000, round_ * 20_000 + 500)
            w.batch(relog, {"x": np.where(relog % 97 == 0, np.nan, -(relog % 13.0))})
        compact_run(db, w.run_pk, NOW)
    steps, values = w.points("x")
    key_id = ids_of(db, w, "x")
    with db.session() as session:
        state = rollups.states_by_id(session, [key_id])[key_id]
        assert state.levels == (6, 8, 10), state
        assert (state.first_step, state.last_step) == (0, 89_999)
        stored = session.scalars(select(Rollup).where(Rollup.key_id == key_id)).all()
    assert {r.level for r in stored} == set(state.levels)
    checked = 0
    for row in stored:
        arrays = {name: np.frombuffer(getattr(row, name), rollups.dtype(name)) for name in STATISTICS}
        assert np.all(arrays["first"] >> row.level >> 8 == row.block), "a block holds its own buckets"
        for i, first in enumerate(arrays["first"].tolist()):
            bucket = first >> row.level
            inside = (steps >> row.level) == bucket
            v = values[inside]
            fin = v[np.isfinite(v)]
            assert steps[inside][0] == first
            assert arrays["count"][i] == v.size and arrays["nonfinite"][i] == v.size - fin.size
            assert arrays["min"][i] == (fin.min() if fin.size else np.inf)
            assert arrays["max"][i] == (fin.max() if fin.size else -np.inf)
            assert np.isclose(arrays["sum"][i], fin.sum(), rtol=1e-9, atol=1e-9)
            assert np.array_equal(arrays["last"][i], v[-1], equal_nan=True)
            checked += 1
    assert checked == sum(np.unique(steps >> level).size for level in state.levels)


def test_a_batch_still_staged_or_just_received_is_not_compacted(db: Database) -> None:
    """A batch applied before an earlier-staged one must stay fresh until that one applied:
    a chunk carries the highest seq it merged, and the late batch's steps must still win."""
    w = Writer.new(db, "watermark")
    w.seq = -10  # below any ledger id
    w.batch(np.arange(0, 100), {"x": np.ones(100)})
    with db.write_session() as session:
        early = batches.stage(session, w.run_pk, "w:1", "application/json", b"{}", 1).pk
        late = batches.stage(session, w.run_pk, "w:2", "application/json", b"{}", 1).pk
    with db.write_session() as session:
        assert batches.claim(session, late) is not None
    w.seq = late - 1  # its segments carry its ledger id
    w.batch(np.arange(100, 200), {"x": np.ones(100)})
    compact_run(db, w.run_pk, NOW)
    assert [r.chunk for r in segments_of(db, w.run_pk)] == [True, False]
    with db.write_session() as session:
        assert batches.claim(session, early) is not None
    assert compact_run(db, w.run_pk, timedelta(hours=1)).segments == 0, "received within the grace period"
    assert compact_run(db, w.run_pk, NOW).segments == 1
    with db.write_session() as session:  # leave no ledger rows behind for the next tests
        session.execute(delete(IngestBatch).where(IngestBatch.run_pk == w.run_pk))


def test_concurrent_compactions_split_the_keys_and_agree(db: Database) -> None:
    rng = np.random.default_rng(3)
    w = Writer.new(db, "concurrent")
    keys = [f"k{i}" for i in range(40)]
    for lo in range(0, 12_000, 600):
        w.batch(np.arange(lo, lo + 600), {k: rng.normal(size=600) for k in keys})
    errors: list[BaseException] = []

    def work() -> None:
        try:
            compact_run(db, w.run_pk, NOW, keys_per_transaction=7)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = segments_of(db, w.run_pk)
    assert all(r.chunk for r in rows) and len(rows) == 40 * 3
    with db.session() as session:
        for k in keys:
            got = read_points(session, w.run_pk, ids_of(db, w, k))
            assert np.array_equal(got.values, w.points(k)[1])


def test_retention_drops_old_raw_points_and_queries_answer_from_rollups(db: Database) -> None:
    now = runs.now().timestamp()
    w = Writer.new(db, "retention")
    with db.write_session() as session:  # created long ago, so retention looks at it
        session.execute(
            update(Run).where(Run.pk == w.run_pk).values(created_at=runs.now() - timedelta(days=20))
        )
    n = 40_000
    wall = np.where(np.arange(n) < 25_000, now - 10 * 86_400, now - 3_600.0)  # old, then recent
    loss = np.sin(np.arange(n) / 100.0)
    loss[1_234] = 500.0  # an old spike
    for lo in range(0, n, 5_000):
        w.batch(
            np.arange(lo, lo + 5_000), {"loss": loss[lo : lo + 5_000], "_wall_time": wall[lo : lo + 5_000]}
        )
    w.batch(np.arange(0, n, 1000), {"val/loss": np.ones(40)})  # too small for roll-ups: kept raw
    compact_run(db, w.run_pk, NOW)
    before = read_series(db, "retention", ["loss"], None, None, 100)["series"][0]

    assert retention_pass(db, days=5) > 0
    cut = (25_000 >> 12) << 12  # whole tiles before the first recent step
    with db.session() as session:
        states = rollups.key_states(session, w.run_pk)
        assert states["loss"].raw_from == cut and states["val/loss"].raw_from is None
        kept = read_points(session, w.run_pk, states["loss"].id)
        assert kept.steps[0] == cut and kept.steps.size == n - cut
        assert read_points(session, w.run_pk, states["val/loss"].id).steps.size == 40
    after = read_series(db, "retention", ["loss"], None, None, 100)["series"][0]
    assert after == before, "full-range buckets come from roll-ups, unchanged"
    old = read_series(db, "retention", ["loss"], 1_000, 2_000, 1000)["series"][0]
    assert old["raw"] is False and max(old["max"]) == 500.0, "the old spike is still visible"
    assert sum(old["count"]) >= 1_000, "its buckets may snap to roll-up boundaries"
    exported = sum(t.num_rows for t in tables(db, w.run_pk))
    assert exported == 40 + n - cut, "export has the raw points that remain"
    assert retention_pass(db, days=5) == 0, "idempotent"


def test_ledger_prune_keeps_recent_staged_and_failed_batches(db: Database) -> None:
    w = Writer.new(db, "ledger")
    old = runs.now() - timedelta(days=40)
    with db.write_session() as session:
        pks = [batches.stage(session, w.run_pk, f"a:{i}", "application/json", b"{}", 1).pk for i in range(6)]
    with db.write_session() as session:
        for pk in pks[:4]:
            batches.claim(session, pk)
        batches.mark_failed(session, pks[4], "broken", b"{}")
        session.execute(
            update(IngestBatch).where(IngestBatch.pk.in_(pks[:5])).values(received_at=old, applied_at=old)
        )
        session.execute(
            update(IngestBatch).where(IngestBatch.pk == pks[3]).values(applied_at=runs.now())
        )  # applied late: inside the window
    assert prune_ledger(db, keep_days=30) == 3
    with db.session() as session:
        left = session.execute(
            select(IngestBatch.batch_id, IngestBatch.state).where(IngestBatch.run_pk == w.run_pk)
        ).all()
    assert sorted(left) == [("a:3", "applied"), ("a:4", "failed"), ("a:5", "staged")]
    with db.write_session() as session:  # a re-sent batch inside the window is still a duplicate
        assert batches.stage(session, w.run_pk, "a:3", "application/json", b"{}", 1).duplicate
        session.execute(delete(IngestBatch).where(IngestBatch.run_pk == w.run_pk))
