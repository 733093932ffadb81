"""Bucketed queries equal a brute-force pass over the points, whatever the store holds:
fresh batch segments, compacted chunks with roll-ups, re-logged steps before and after
compaction, NaN and ±Infinity — for random ranges and bucket counts, on SQLite and
PostgreSQL. And a single spike is its bucket's maximum at every zoom."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradsight_server.ingest.compaction import compact_run
from gradsight_server.query.service import read_compare, read_matrix, read_series
from gradsight_server.store.engine import Database
from tests.support.series import Writer, assert_same_series, database, expected_series

NOW = timedelta(0)
_ids = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database(request.param, tmp_path_factory.mktemp("db")) as found:
        yield found


def random_values(rng: np.random.Generator, n: int, nonfinite: float) -> np.ndarray:
    values = rng.normal(0.0, float(rng.choice([1.0, 1e6])), n)
    values[rng.random(n) < 0.002] *= 1e4  # spikes
    odd = rng.random(n) < nonfinite
    values[odd] = rng.choice([np.nan, np.inf, -np.inf], int(odd.sum()))
    return values


@st.composite
def histories(draw: Any) -> dict[str, Any]:
    """How a key was logged: cadence, size, non-finite share, compaction rounds, re-logs."""
    return {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "n": draw(st.sampled_from([40, 900, 3000, 7000])),
        "cadence": draw(st.sampled_from([1, 1, 7, 10, 0])),  # 0: irregular gaps
        "start": draw(st.sampled_from([0, 5, 4090, 123_457])),
        "nonfinite": draw(st.sampled_from([0.0, 0.01, 0.3, 1.0])),
        "rounds": draw(st.integers(1, 3)),
        "relog": draw(st.booleans()),
        "fresh_tail": draw(st.booleans()),
        "queries": draw(
            st.lists(
                st.tuples(
                    st.one_of(st.none(), st.integers(0, 200_000)),
                    st.one_of(st.none(), st.integers(1, 200_000)),
                    st.sampled_from([1, 2, 3, 10, 64, 100, 1000, 5000]),
                ),
                min_size=6,
                max_size=12,
            )
        ),
    }


def write_history(db: Database, h: dict[str, Any]) -> Writer:
    rng = np.random.default_rng(h["seed"])
    gaps = rng.integers(1, 40, h["n"]) if h["cadence"] == 0 else np.full(h["n"], h["cadence"])
    steps = h["start"] + np.cumsum(gaps) - gaps[0]
    values = random_values(rng, h["n"], h["nonfinite"])
    w = Writer.new(db, f"prop-{next(_ids)}")
    cuts = np.sort(rng.choice(np.arange(1, h["n"]), min(h["n"] - 1, 3 * h["rounds"] + 4), replace=False))
    pieces = np.split(np.arange(h["n"]), cuts)
    per_round = max(1, len(pieces) // h["rounds"])
    for i, piece in enumerate(pieces):
        w.batch(steps[piece], {"k": values[piece]})
        if h["relog"] and i % 3 == 2:  # a resumed run logs some earlier steps again
            again = piece[: max(1, piece.size // 2)] - piece.size
            again = again[again >= 0]
            if again.size:
                w.batch(steps[again], {"k": random_values(rng, again.size, h["nonfinite"])})
        if (i + 1) % per_round == 0:
            compact_run(db, w.run_pk, NOW)
    if h["fresh_tail"]:  # left for queries to merge: a re-log in the compacted past and new steps
        old = steps[rng.integers(0, h["n"], 5)]
        w.batch(np.unique(old), {"k": random_values(rng, np.unique(old).size, 0.2)})
        w.batch(steps[-1] + 1 + np.arange(50), {"k": random_values(rng, 50, h["nonfinite"])})
    return w


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=histories())
def test_buckets_equal_brute_force(db: Database, h: dict[str, Any]) -> None:
    w = write_history(db, h)
    steps, values = w.points("k")
    for a, b, points in h["queries"]:
        start, end = (a, b) if a is None or b is None or a < b else (b, a + 1)
        (got,) = read_series(db, w.run_id, ["k"], start, end, points)["series"]
        assert_same_series(got, expected_series(steps, values, start, end, points), (start, end, points))
        assert len(got["step"]) <= points


def test_a_single_spike_is_the_max_of_its_bucket_at_every_zoom(db: Database) -> None:
    rng = np.random.default_rng(7)
    w = Writer.new(db, "spike")
    spike_at, n = 77_777, 200_000
    values = rng.normal(0, 1, n)
    values[spike_at] = 1e3
    for lo in range(0, n, 5000):  # one batch per 5,000 steps, compacted every 40,000
        w.batch(np.arange(lo, lo + 5000), {"loss": values[lo : lo + 5000]})
        if lo % 40_000 == 35_000:
            compact_run(db, w.run_pk, NOW)

    def spike_bucket(start: int | None, end: int | None, points: int) -> tuple[float, float]:
        (s,) = read_series(db, w.run_id, ["loss"], start, end, points)["series"]
        at = int(np.searchsorted(s["step"], spike_at, side="right")) - 1
        return s["max"][at], max(v for v in s["max"] if v is not None)

    windows = [(None, None), (0, n), (70_000, 80_000), (77_000, 78_000), (77_700, 77_800), (77_777, 77_778)]
    windows += [(spike_at - 2**k + 3, spike_at + 2**k - 5) for k in range(4, 18)]
    for (start, end), points in itertools.product(windows, (1, 7, 100, 1000, 5000)):
        assert spike_bucket(start, end, points) == (1e3, 1e3), (start, end, points)

    # Re-logging the spiked step replaces it: no stale maximum, fresh or compacted.
    w.batch([spike_at], {"loss": [0.5]})
    for _ in range(2):
        for (start, end), points in itertools.product(windows[:4], (1, 100, 1000)):
            (s,) = read_series(db, w.run_id, ["loss"], start, end, points)["series"]
            assert max(v for v in s["max"] if v is not None) < 10, (start, end, points)
        compact_run(db, w.run_pk, NOW)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Database]]:
    with (
        database("sqlite", tmp_path_factory.mktemp("lite")) as lite,
        database("postgresql", tmp_path_factory.mktemp("pg")) as pg,
    ):
        yield lite, pg


def test_sqlite_and_postgresql_give_the_same_answers(both: tuple[Database, Database], tmp_path: Path) -> None:
    layers = [f"blocks.{i}.weight" for i in range(6)]
    answers = []
    for db in both:
        rng = np.random.default_rng(11)
        writers = [Writer.new(db, f"same-{r}", layers) for r in range(2)]
        for w in writers:
            for lo in range(0, 30_000, 2_500):
                steps = np.arange(lo, lo + 2_500)
                keys = {"loss": random_values(rng, steps.size, 0.01)}
                w.batch(steps, keys)
                sparse = steps[steps % 10 == 0]
                w.batch(sparse, {f"grad_norm/{n}": random_values(rng, sparse.size, 0.01) for n in layers})
                if lo == 15_000:
                    compact_run(db, w.run_pk, NOW)
        answers.append(
            [
                read_series(db, "same-0", ["loss", "grad_norm/blocks.3.weight"], start, end, points)
                for start, end, points in [(None, None, 1000), (1234, 20_000, 300), (29_000, None, 5000)]
            ]
            + [
                read_matrix(db, "same-0", "grad_norm/", None, None, 400, agg)
                for agg in ("min", "max", "mean", "last")
            ]
            + [read_compare(db, ["same-0", "same-1"], ["loss"], 100, 29_000, 700)]
        )
    assert answers[0] == answers[1]
