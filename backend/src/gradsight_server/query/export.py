"""Export a run's raw points as CSV or Parquet, streamed window by window.

Rows are ``step, key, value, wall_time`` (long format), ordered by step window (65,536 steps),
then key, then step: every key's points of one window are read together with that window's
wall times, so memory stays at one window (~11 MB for 200 keys logged every step) however
long the run, and the wall-clock series is read once, not once per key. Non-finite values
are data: CSV writes them ``nan``, ``inf``, ``-inf`` (what pandas and numpy read back);
Parquet stores them as IEEE doubles. Points that retention dropped are not exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gradsight_server.store import series
from gradsight_server.store.engine import Database
from gradsight_server.store.models import Segment
from gradsight_server.store.points import read_many

WINDOW = 1 << 16
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
SCHEMA = pa.schema(
    [
        ("step", pa.int64()),
        ("key", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
        ("wall_time", pa.float64()),
    ]
)


def _next_step(session: Session, run_pk: int, after: int) -> int | None:
    """The lowest step ≥ ``after`` some segment may hold (skips gaps in one query)."""
    found = session.scalar(
        select(func.min(Segment.first_step)).where(Segment.run_pk == run_pk, Segment.last_step >= after)
    )
    return None if found is None else max(int(found), after)


def tables(db: Database, run_pk: int) -> Iterator[pa.Table]:
    """One Arrow table per window of steps that holds points."""
    with db.session() as session:
        keys = series.all_keys(session, run_pk)
        wall_id = keys.pop(series.WALL_TIME_KEY, None)
        names = sorted(keys)
        at = _next_step(session, run_pk, 0)
        while at is not None:
            lo = at - at % WINDOW
            hi = lo + WINDOW
            found = read_many(session, run_pk, {n: keys[n] for n in names}, lo, hi)
            wall = read_many(session, run_pk, {"": wall_id}, lo, hi)[""] if wall_id is not None else None
            parts = [_table(name, found[name], wall) for name in names if found[name].steps.size]
            if parts:
                yield pa.concat_tables(parts)
            # Only an empty window (a gap in the steps) costs a look-up of where data resumes.
            at = hi if parts else _next_step(session, run_pk, hi)


def _table(name: str, points: series.Points, wall: series.Points | None) -> pa.Table:
    times = np.full(points.steps.size, np.nan)
    known = np.zeros(points.steps.size, dtype=bool)
    if wall is not None and wall.steps.size:
        at = np.clip(np.searchsorted(wall.steps, points.steps), 0, wall.steps.size - 1)
        known = wall.steps[at] == points.steps
        times[known] = wall.values[at[known]]
    keys = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(points.steps.size, np.int32)), pa.array([name], pa.string())
    )
    return pa.Table.from_arrays(
        [pa.array(points.steps), keys, pa.array(points.values), pa.array(times, mask=~known)], schema=SCHEMA
    )


def csv_stream(db: Database, run_pk: int) -> Iterator[bytes]:
    sink = _Sink()
    header = True
    for table in tables(db, run_pk):
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=header, quoting_style="needed"))
        header = False
        yield sink.take()
    if header:  # no points: still a valid CSV with its header
        yield b"step,key,value,wall_time\n"


def parquet_stream(db: Database, run_pk: int) -> Iterator[bytes]:
    sink = _Sink()
    with pq.ParquetWriter(sink, SCHEMA, compression="zstd") as writer:
        for table in tables(db, run_pk):
            writer.write_table(table)
            yield sink.take()
    yield sink.take()  # the footer, written on close


class _Sink:
    """A write-only file for pyarrow writers whose bytes the stream hands out as they come."""

    closed = False

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out
