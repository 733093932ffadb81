"""Encode a batch in the wire format, version 1 (docs/wire-format.md): msgpack with raw
little-endian array buffers, gzip-compressed for the HTTP body and the spool."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np

from gradsight.transport.columns import Columns

WIRE_VERSION = 1
CONTENT_TYPE = "application/vnd.gradsight.batch.v1+msgpack"


def document(
    run_id: str,
    batch_id: str,
    columns: Columns,
    *,
    final: bool = False,
    layers: Sequence[str] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"v": WIRE_VERSION, "run_id": run_id, "batch_id": batch_id}
    if final:
        doc["final"] = True
    if layers is not None:
        doc["layers"] = list(layers)
    if columns.wall_steps.size:
        doc["wall"] = {
            "steps": columns.wall_steps.astype("<i8").tobytes(),
            "time": columns.wall_time.astype("<f8").tobytes(),
        }
    blocks = []
    for block in columns.blocks:
        entry: dict[str, Any] = {
            "keys": list(block.keys),
            "steps": block.steps.astype("<i8").tobytes(),
            "values": np.ascontiguousarray(block.values, dtype="<f8").tobytes(),
        }
        if block.counts is not None:
            entry["counts"] = np.ascontiguousarray(block.counts, dtype="<u4").tobytes()
        blocks.append(entry)
    doc["blocks"] = blocks
    return doc


def encode(doc: dict[str, Any]) -> bytes:
    """msgpack, then gzip at level 1: float64 noise barely compresses, keys and steps do."""
    packed: bytes = msgpack.packb(doc, use_bin_type=True)
    return gzip.compress(packed, compresslevel=1, mtime=0)
