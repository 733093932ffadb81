"""The store's bulk write paths: PostgreSQL's binary COPY (encoded with numpy) must store
exactly the rows SQLite's multi-row INSERT stores; latest values and the requeue ledger
behave the same on both databases. Real databases, no HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from gradsight_server.store import batches, migrate, runs, series
from gradsight_server.store.engine import Database
from gradsight_server.store.models import LatestValue, Segment
from gradsight_server.store.pgcopy import SegmentBlock, encode_block
from tests.support.databases import fresh_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'store.db'}"
        migrate.upgrade(url)
        database = Database(url)
        yield database
        database.dispose()
        return
    with fresh_database() as url:
        migrate.upgrade(url)
        database = Database(url)
        yield database
        database.dispose()


def new_run(db: Database, run_id: str) -> int:
    with db.write_session() as session:
        run, _ = runs.create_or_resume(session, run_id, "p", run_id, {}, {})
        session.flush()
        return run.pk


def blocks(key_ids: list[int]) -> list[SegmentBlock]:
    a, b, c, d = key_ids
    awkward = np.array([[np.nan, np.inf, -np.inf, -0.0, 5e-324, 1e308]])
    return [
        # every step, counts on one key only (the other stores NULL counts)
        SegmentBlock(
            np.array([a, b]),
            np.arange(10, 16),
            np.vstack([awkward, np.arange(6.0)]),
            np.array([[1, 1, 1, 1, 1, 1], [1, 2, 1, 3, 1, 1]], dtype=np.uint32),
        ),
        # every 10th step: stored as first step + stride
        SegmentBlock(np.array([c]), np.arange(0, 50, 10), np.linspace(0, 1, 5)[np.newaxis, :]),
        # irregular steps (stored explicitly), and a single step
        SegmentBlock(np.array([d]), np.array([3, 7, 8, 100]), np.array([[1.0, 2.0, 3.0, 4.0]])),
        SegmentBlock(np.array([a]), np.array([2**53 - 1]), np.array([[42.0]])),
    ]


def test_segments_written_in_bulk_read_back_exactly(db: Database) -> None:
    run_pk = new_run(db, "writes")
    with db.write_session() as session:
        ids = series.ensure_keys(session, run_pk, ["a", "b", "c", "d"])
        key_ids = [ids[k] for k in "abcd"]
        assert series.write_segments(session, run_pk, 7, blocks(key_ids)) == 5
    with db.session() as session:
        rows = (
            session.execute(select(Segment).where(Segment.run_pk == run_pk).order_by(Segment.id))
            .scalars()
            .all()
        )
        got = {(row.key_id, row.first_step): row for row in rows}
        assert len(rows) == 5 and {row.seq for row in rows} == {7}
        stride_row = got[(key_ids[2], 0)]
        assert (stride_row.stride, stride_row.steps, stride_row.n, stride_row.last_step) == (10, None, 5, 40)
        assert got[(key_ids[3], 3)].steps == np.array([3, 7, 8, 100], dtype="<i8").tobytes()
        assert got[(key_ids[0], 10)].counts is None and got[(key_ids[1], 10)].counts is not None
        values = np.frombuffer(got[(key_ids[0], 10)].values, dtype="<f8")
        assert np.array_equal(values, blocks(key_ids)[0].values[0], equal_nan=True)
        assert np.signbit(values[3]), "-0.0 keeps its sign"
        d = series.read_points(session, run_pk, key_ids[3])
        assert d.steps.tolist() == [3, 7, 8, 100] and d.values.tolist() == [1.0, 2.0, 3.0, 4.0]
        big = series.read_points(session, run_pk, key_ids[0], start=2**53 - 1)
        assert big.steps.tolist() == [2**53 - 1] and big.values.tolist() == [42.0]


def test_the_copy_stream_carries_values_and_counts_as_little_endian_bytes() -> None:
    """The arrays go into the COPY stream as the same bytes the INSERT path stores."""
    block = blocks([1, 2, 3, 4])[0]
    stream = b"".join(encode_block(9, 3, block))
    # two tuples, one per key, each: field count, then (length, bytes) per column
    assert stream.count(np.array([11], dtype=">i2").tobytes()) >= 2
    assert block.values[1].astype("<f8").tobytes() in stream
    assert block.counts is not None and block.counts[1].astype("<u4").tobytes() in stream


def test_latest_values_keep_the_highest_step_and_nonfinite_values(db: Database) -> None:
    run_pk = new_run(db, "latest")
    with db.write_session() as session:
        ids = series.ensure_keys(session, run_pk, ["x", "y", "z"])
        key_ids = np.array([ids["x"], ids["y"], ids["z"]], dtype=np.int64)
        series.upsert_latest(session, run_pk, key_ids, np.array([5, 5, 5]), np.array([1.0, np.nan, -np.inf]))
        series.upsert_latest(
            session, run_pk, key_ids[:2], np.array([4, 6]), np.array([9.0, 2.0])
        )  # x older: kept
    with db.session() as session:
        latest = series.latest_values(session, run_pk)
        assert latest["x"] == (5, 1.0) and latest["y"] == (6, 2.0)
        step, value = latest["z"]
        assert step == 5 and value == -np.inf
        assert session.scalar(select(LatestValue.special).where(LatestValue.key_id == ids["z"])) == 3


def test_requeue_takes_failed_and_stale_messages_once_per_grace_period(db: Database) -> None:
    run_pk = new_run(db, "requeue")
    with db.write_session() as session:
        fresh = batches.stage(session, run_pk, "a:1", "application/json", b"{}", 1).pk
        failed = batches.stage(session, run_pk, "a:2", "application/json", b"{}", 1).pk
        batches.mark_unqueued(session, [failed])
    with db.write_session() as session:
        assert batches.take_for_requeue(session, runs.now() - timedelta(seconds=60)) == [failed]
    with db.write_session() as session:  # stamped: not again within the grace period
        assert batches.take_for_requeue(session, runs.now() - timedelta(seconds=60)) == []
    with db.write_session() as session:  # with no grace, both messages may be lost
        assert batches.take_for_requeue(session, runs.now() + timedelta(seconds=1)) == [fresh, failed]
    with db.write_session() as session:
        assert batches.claim(session, fresh) is not None
    with db.write_session() as session:  # applied batches are never requeued
        assert batches.take_for_requeue(session, runs.now() + timedelta(seconds=1)) == [failed]


def test_migrations_match_the_models_and_downgrade_cleanly(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from gradsight_server.store.engine import make_engine
    from gradsight_server.store.models import Base

    with fresh_database() as pg:
        for url in (f"sqlite:///{tmp_path / 'm.db'}", pg):
            migrate.upgrade(url)
            migrate.downgrade(url, "0001")
            migrate.upgrade(url)
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    context = MigrationContext.configure(conn, opts={"compare_type": True})
                    assert compare_metadata(context, Base.metadata) == [], url
            finally:
                engine.dispose()
