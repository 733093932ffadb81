"""Segment rows into PostgreSQL through binary ``COPY``, encoded with numpy.

All keys of a block share its steps, so a block's rows have one fixed layout: one numpy
structured array holds them (big-endian lengths and integers, the values' little-endian
bytes embedded as a sub-array) and ``tobytes()`` is the COPY stream. Nothing is built per
row or per point in Python; psycopg's ``write_row`` would adapt eleven Python objects per row
(bench/ingest_load.py prints both rates).

Binary COPY format: https://www.postgresql.org/docs/current/sql-copy.html ("Binary Format").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # flags, extension length
TRAILER = b"\xff\xff"
COLUMNS = (
    "run_pk",
    "key_id",
    "seq",
    "first_step",
    "last_step",
    "n",
    "stride",
    "steps",
    "dtype",
    "values",
    "counts",
)
COPY_SEGMENTS = "COPY segments ({}) FROM STDIN (FORMAT BINARY)".format(", ".join(f'"{c}"' for c in COLUMNS))
NULL = -1


@dataclass(frozen=True)
class SegmentBlock:
    """The segments one batch block makes: one row per key, all over the same steps."""

    key_ids: npt.NDArray[np.int64]
    steps: npt.NDArray[np.int64]
    """Strictly increasing, shape (n,)."""
    values: npt.NDArray[np.float64]
    """Shape (len(key_ids), n)."""
    counts: npt.NDArray[np.uint32] | None = None


def stride_of(steps: npt.NDArray[np.int64]) -> int | None:
    """The common gap of steps in arithmetic progression (0 for one step), else None."""
    if steps.size < 2:
        return 0
    gaps = np.diff(steps)
    return int(gaps[0]) if (gaps == gaps[0]).all() else None


def _layout(n: int, explicit_steps: bool, with_counts: bool) -> np.dtype[Any]:
    fields: list[tuple[Any, ...]] = [("nfields", ">i2")]

    def column(name: str, dtype: str, shape: tuple[int, ...] = ()) -> None:
        fields.append((f"{name}_len", ">i4"))
        fields.append((name, dtype, shape) if shape else (name, dtype))

    for name in ("run_pk", "key_id", "seq", "first_step", "last_step"):
        column(name, ">i8")
    column("n", ">i4")
    column("stride", ">i8")
    if explicit_steps:
        column("steps", "<i8", (n,))
    else:
        fields.append(("steps_len", ">i4"))
    column("dtype", "S2")
    column("values", "<f8", (n,))
    if with_counts:
        column("counts", "<u4", (n,))
    else:
        fields.append(("counts_len", ">i4"))
    return np.dtype(fields)


def _encode(
    run_pk: int, seq: int, block: SegmentBlock, rows: npt.NDArray[np.bool_], with_counts: bool
) -> bytes:
    steps = block.steps
    n = int(steps.size)
    stride = stride_of(steps)
    table = np.empty(int(rows.sum()), dtype=_layout(n, stride is None, with_counts))
    table["nfields"] = len(COLUMNS)
    for name, value in (
        ("run_pk", run_pk),
        ("seq", seq),
        ("first_step", int(steps[0])),
        ("last_step", int(steps[-1])),
        ("stride", stride or 0),
    ):
        table[f"{name}_len"] = 8
        table[name] = value
    table["key_id_len"] = 8
    table["key_id"] = block.key_ids[rows]
    table["n_len"] = 4
    table["n"] = n
    if stride is None:
        table["steps_len"] = 8 * n
        table["steps"] = steps
    else:
        table["steps_len"] = NULL
    table["dtype_len"] = 2
    table["dtype"] = b"f8"
    table["values_len"] = 8 * n
    table["values"] = block.values[rows]
    if with_counts:
        assert block.counts is not None
        table["counts_len"] = 4 * n
        table["counts"] = block.counts[rows]
    else:
        table["counts_len"] = NULL
    return table.tobytes()


def encode_block(run_pk: int, seq: int, block: SegmentBlock) -> list[bytes]:
    """COPY tuples for a block; keys whose counts are all 1 store NULL counts (the common case)."""
    if block.counts is None:
        return [_encode(run_pk, seq, block, np.ones(block.key_ids.size, dtype=bool), False)]
    counted = (block.counts != 1).any(axis=1)
    parts = []
    if (~counted).any():
        parts.append(_encode(run_pk, seq, block, ~counted, False))
    if counted.any():
        parts.append(_encode(run_pk, seq, block, counted, True))
    return parts


def copy_segments(session: Session, run_pk: int, seq: int, blocks: Sequence[SegmentBlock]) -> None:
    """Write the rows inside the session's transaction (its psycopg connection)."""
    raw: Any = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(COPY_SEGMENTS) as copy:
        copy.write(SIGNATURE)
        for block in blocks:
            for part in encode_block(run_pk, seq, block):
                copy.write(part)
        copy.write(TRAILER)
