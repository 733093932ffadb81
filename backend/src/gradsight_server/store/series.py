"""Series repository: metric keys, point segments and latest values.

A segment holds one key's points from one batch as little-endian arrays. Steps that form
an arithmetic progression (every step, every 10th step — the common case) are stored as
``first_step`` + ``stride`` only, so a segment of loss values costs its values plus one row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gradsight_server.store.models import LatestValue, MetricKey, Segment
from gradsight_server.store.upsert import insert_ignore, upsert

WALL_TIME_KEY = "_wall_time"
"""Reserved key holding each step's wall-clock time (Unix seconds)."""

Steps = npt.NDArray[np.int64]
Values = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Points:
    steps: Steps
    values: Values

    @classmethod
    def empty(cls) -> Points:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64))


def ensure_keys(session: Session, run_pk: int, names: Iterable[str]) -> dict[str, int]:
    """Ids of ``names`` for this run, creating the missing ones (race-safe: insert-ignore, reselect)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    ids = key_ids(session, run_pk, wanted)
    missing = [name for name in wanted if name not in ids]
    if missing:
        insert_ignore(
            session, MetricKey, [{"run_pk": run_pk, "name": n} for n in missing], ["run_pk", "name"]
        )
        ids.update(key_ids(session, run_pk, missing))
    return ids


def key_ids(session: Session, run_pk: int, names: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(names), 500):  # bound the IN list
        chunk = names[start : start + 500]
        rows = session.execute(
            select(MetricKey.name, MetricKey.id).where(MetricKey.run_pk == run_pk, MetricKey.name.in_(chunk))
        ).all()
        out.update({name: int(key_id) for name, key_id in rows})
    return out


def key_names(session: Session, run_pk: int) -> list[str]:
    """Metric names of a run, reserved (``_``-prefixed) keys excluded."""
    rows = session.scalars(
        select(MetricKey.name).where(MetricKey.run_pk == run_pk).order_by(MetricKey.name)
    ).all()
    return [name for name in rows if not name.startswith("_")]


def segment_row(
    run_pk: int,
    key_id: int,
    seq: int,
    steps: Steps,
    values: Values,
    counts: npt.NDArray[np.uint32] | None,
) -> dict[str, Any]:
    """One ``segments`` row for a key's points from one batch (steps strictly increasing)."""
    n = int(steps.size)
    stride = 0
    packed_steps: bytes | None = None
    if n > 1:
        gaps = np.diff(steps)
        if (gaps == gaps[0]).all():
            stride = int(gaps[0])
        else:
            packed_steps = steps.astype("<i8").tobytes()
    packed_counts = None
    if counts is not None and (counts != 1).any():
        packed_counts = counts.astype("<u4").tobytes()
    return {
        "run_pk": run_pk,
        "key_id": key_id,
        "seq": seq,
        "first_step": int(steps[0]),
        "last_step": int(steps[-1]),
        "n": n,
        "stride": stride,
        "steps": packed_steps,
        "dtype": "f8",
        "values": values.astype("<f8").tobytes(),
        "counts": packed_counts,
    }


def insert_segments(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        session.execute(insert(Segment), list(rows))


def _decode(row: Any) -> tuple[Steps, Values]:
    n = int(row.n)
    if row.steps is not None:
        steps = np.frombuffer(row.steps, dtype="<i8").astype(np.int64)
    else:
        steps = int(row.first_step) + int(row.stride) * np.arange(n, dtype=np.int64)
    values = np.frombuffer(row.values, dtype="<" + row.dtype).astype(np.float64)
    return steps, values


def read_points(
    session: Session, run_pk: int, key_id: int, start: int | None = None, end: int | None = None
) -> Points:
    """All points of a key with ``start <= step < end``, one per step, sorted by step.

    Where several segments hold the same step, the one written by the later batch wins.
    """
    query = select(
        Segment.seq,
        Segment.first_step,
        Segment.n,
        Segment.stride,
        Segment.steps,
        Segment.dtype,
        Segment.values,
    ).where(Segment.run_pk == run_pk, Segment.key_id == key_id)
    if start is not None:
        query = query.where(Segment.last_step >= start)
    if end is not None:
        query = query.where(Segment.first_step < end)
    rows = session.execute(query.order_by(Segment.seq, Segment.id)).all()
    if not rows:
        return Points.empty()
    parts = [_decode(row) for row in rows]
    steps = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    if len(parts) > 1:
        # Rows came in write order: a stable sort by step keeps that order within a step,
        # so the last of each run of equal steps is the newest value.
        order = np.argsort(steps, kind="stable")
        steps, values = steps[order], values[order]
        last = np.ones(steps.size, dtype=bool)
        last[:-1] = steps[1:] != steps[:-1]
        steps, values = steps[last], values[last]
    mask = np.ones(steps.size, dtype=bool)
    if start is not None:
        mask &= steps >= start
    if end is not None:
        mask &= steps < end
    return Points(steps[mask], values[mask])


def _special(value: float) -> int:
    if np.isnan(value):
        return 1
    if np.isinf(value):
        return 2 if value > 0 else 3
    return 0


def upsert_latest(session: Session, run_pk: int, latest: Mapping[int, tuple[int, float]]) -> None:
    """Keep each key's value at its highest step; a re-logged step replaces the value."""
    rows = [
        {
            "key_id": key_id,
            "run_pk": run_pk,
            "step": step,
            "value": value if np.isfinite(value) else None,
            "special": _special(value),
        }
        for key_id, (step, value) in sorted(latest.items())
    ]
    upsert(
        session,
        LatestValue,
        rows,
        ["key_id"],
        ["step", "value", "special"],
        where=lambda stmt: stmt.excluded.step >= LatestValue.step,
    )


_SPECIAL_VALUES = {1: float("nan"), 2: float("inf"), 3: float("-inf")}


def latest_values(session: Session, run_pk: int) -> dict[str, tuple[int, float]]:
    rows = session.execute(
        select(MetricKey.name, LatestValue.step, LatestValue.value, LatestValue.special)
        .join(MetricKey, MetricKey.id == LatestValue.key_id)
        .where(LatestValue.run_pk == run_pk)
    ).all()
    return {
        name: (int(step), _SPECIAL_VALUES.get(special, value if value is not None else float("nan")))
        for name, step, value, special in rows
        if not name.startswith("_")
    }
