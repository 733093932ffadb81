"""Decode and validate a batch body (docs/wire-format.md).

Everything a client can send is checked here, before anything is stored: the API stages
only batches this module accepted, so the worker never meets a malformed one.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np
import orjson

from gradsight_server.wire.model import (
    JSON_TYPE,
    MSGPACK_TYPE,
    WIRE_VERSION,
    Batch,
    Block,
    Float64Array,
    Int64Array,
    UInt32Array,
)

MAX_STEP = 2**53  # exclusive: steps must survive a round trip through JavaScript numbers
MAX_KEY_LENGTH = 256
MAX_KEYS_PER_BATCH = 100_000
MAX_LAYERS = 100_000
BATCH_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_BAD_KEY_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_NONFINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}

Loc = tuple[str | int, ...]


class WireError(Exception):
    """A batch broke a rule. ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, msg: str, loc: Loc = ("body",)) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg
        self.loc = loc

    def detail(self) -> list[dict[str, Any]]:
        return [{"loc": list(self.loc), "msg": self.msg, "type": "wire"}]


def _invalid(loc: Loc, msg: str) -> WireError:
    return WireError(422, msg, ("body", *loc))


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def inflate(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` without ever holding more than ``limit`` bytes."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise WireError(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise WireError(400, f"body is not valid gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise WireError(413, f"decompressed body is larger than {limit} bytes")
    if not inflater.eof:
        raise WireError(400, "body is not valid gzip: truncated stream")
    return out


def decode_batch(body: bytes, content_type: str | None, max_points: int) -> Batch:
    kind = media_type(content_type)
    if kind == MSGPACK_TYPE:
        try:
            doc = msgpack.unpackb(body, raw=False, strict_map_key=True)
        except Exception as exc:  # msgpack raises several unrelated exception types
            raise WireError(400, f"body is not valid msgpack: {exc}") from None
        binary = True
    elif kind == JSON_TYPE:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise WireError(
                400,
                f"body is not valid JSON: {exc} (non-finite values must be the strings"
                ' "NaN", "Infinity" or "-Infinity")',
            ) from None
        binary = False
    else:
        raise WireError(415, f"unsupported Content-Type {kind!r}; use {MSGPACK_TYPE} or {JSON_TYPE}")
    return _batch(doc, binary, max_points)


def _batch(doc: Any, binary: bool, max_points: int) -> Batch:
    if not isinstance(doc, dict):
        raise _invalid((), "a batch must be an object")
    known = {"v", "run_id", "batch_id", "final", "layers", "wall", "blocks"}
    for name in doc:
        if name not in known:
            raise _invalid((str(name),), "unknown field")
    if doc.get("v") != WIRE_VERSION:
        raise _invalid(("v",), f"unsupported wire version {doc.get('v')!r}; this server reads {WIRE_VERSION}")
    run_id = doc.get("run_id")
    if not isinstance(run_id, str):
        raise _invalid(("run_id",), "run_id must be a string")
    batch_id = doc.get("batch_id")
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise _invalid(("batch_id",), "batch_id must be 1-128 characters of [A-Za-z0-9._:-]")
    final = doc.get("final", False)
    if not isinstance(final, bool):
        raise _invalid(("final",), "final must be a boolean")
    layers = _layers(doc.get("layers"))
    wall_steps, wall_time = _wall(doc.get("wall"), binary)
    blocks = doc.get("blocks", [])
    if not isinstance(blocks, list):
        raise _invalid(("blocks",), "blocks must be a list")
    decoded: list[Block] = []
    seen: set[str] = set()
    points = 0
    for i, raw in enumerate(blocks):
        block = _block(raw, binary, ("blocks", i))
        for key in block.keys:
            if key in seen:
                raise _invalid(("blocks", i, "keys"), f"key {key!r} appears in more than one block")
            seen.add(key)
        if len(seen) > MAX_KEYS_PER_BATCH:
            raise WireError(413, f"a batch may carry at most {MAX_KEYS_PER_BATCH} keys")
        points += block.n_points
        if points > max_points:
            raise WireError(413, f"a batch may carry at most {max_points} points")
        decoded.append(block)
    return Batch(
        run_id=run_id,
        batch_id=batch_id,
        blocks=tuple(decoded),
        final=final,
        layers=layers,
        wall_steps=wall_steps,
        wall_time=wall_time,
    )


def _layers(raw: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_LAYERS:
        raise _invalid(("layers",), f"layers must be a list of at most {MAX_LAYERS} names")
    for i, name in enumerate(raw):
        if not isinstance(name, str) or not 0 < len(name) <= MAX_KEY_LENGTH or _BAD_KEY_CHARS.search(name):
            raise _invalid(("layers", i), "a layer name must be 1-256 printable characters")
    return tuple(raw)


def _wall(raw: Any, binary: bool) -> tuple[Int64Array, Float64Array]:
    if raw is None:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    if not isinstance(raw, dict) or set(raw) != {"steps", "time"}:
        raise _invalid(("wall",), "wall must be an object with exactly 'steps' and 'time'")
    steps = _steps(raw["steps"], binary, ("wall", "steps"))
    time = _floats(raw["time"], binary, ("wall", "time"))
    if time.shape != steps.shape:
        raise _invalid(("wall", "time"), "wall.time must have one value per step")
    if not np.isfinite(time).all():
        raise _invalid(("wall", "time"), "wall times must be finite")
    return steps, time


def _block(raw: Any, binary: bool, loc: Loc) -> Block:
    if not isinstance(raw, dict):
        raise _invalid(loc, "a block must be an object")
    for name in raw:
        if name not in ("keys", "steps", "values", "counts"):
            raise _invalid((*loc, str(name)), "unknown field")
    keys = raw.get("keys")
    if not isinstance(keys, list) or not keys:
        raise _invalid((*loc, "keys"), "keys must be a non-empty list")
    for j, key in enumerate(keys):
        _check_key(key, (*loc, "keys", j))
    if len(set(keys)) != len(keys):
        raise _invalid((*loc, "keys"), "keys must be unique")
    if "steps" not in raw or "values" not in raw:
        raise _invalid(loc, "a block needs steps and values")
    steps = _steps(raw["steps"], binary, (*loc, "steps"))
    if steps.size == 0:
        raise _invalid((*loc, "steps"), "steps must not be empty")
    shape = (len(keys), int(steps.size))
    values = _matrix(raw["values"], binary, shape, (*loc, "values"))
    counts = None
    if raw.get("counts") is not None:
        counts = _counts(raw["counts"], binary, shape, (*loc, "counts"))
    return Block(keys=tuple(keys), steps=steps, values=values, counts=counts)


def _check_key(key: Any, loc: Loc) -> None:
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
        raise _invalid(loc, f"a key must be a string of 1-{MAX_KEY_LENGTH} characters")
    if _BAD_KEY_CHARS.search(key) or key != key.strip() or "," in key:
        raise _invalid(loc, "a key must not contain control characters, commas or leading/trailing spaces")
    if key.startswith("_"):
        raise _invalid(loc, "keys starting with '_' are reserved")


def _buffer(raw: Any, loc: Loc, itemsize: int) -> bytes:
    if not isinstance(raw, bytes):
        raise _invalid(loc, "must be a msgpack bin of little-endian numbers")
    if len(raw) % itemsize:
        raise _invalid(loc, f"byte length must be a multiple of {itemsize}")
    return raw


def _steps(raw: Any, binary: bool, loc: Loc) -> Int64Array:
    if binary:
        steps = np.frombuffer(_buffer(raw, loc, 8), dtype="<i8").astype(np.int64)
    else:
        if not isinstance(raw, list) or any(type(s) is not int for s in raw):
            raise _invalid(loc, "steps must be a list of integers")
        try:
            steps = np.array(raw, dtype=np.int64)
        except OverflowError:
            raise _invalid(loc, f"steps must be below {MAX_STEP}") from None
    if steps.size and (steps.min() < 0 or steps.max() >= MAX_STEP):
        raise _invalid(loc, f"steps must be integers in [0, {MAX_STEP})")
    if steps.size > 1 and not (np.diff(steps) > 0).all():
        raise _invalid(loc, "steps must be strictly increasing")
    return steps


def _floats(raw: Any, binary: bool, loc: Loc) -> Float64Array:
    if binary:
        return np.frombuffer(_buffer(raw, loc, 8), dtype="<f8").astype(np.float64)
    if not isinstance(raw, list):
        raise _invalid(loc, "must be a list of numbers")
    return _json_numbers(raw, loc)


def _json_numbers(raw: Sequence[Any], loc: Loc) -> Float64Array:
    out = np.empty(len(raw), dtype=np.float64)
    for i, value in enumerate(raw):
        kind = type(value)
        if kind is float or kind is int:
            out[i] = value
        elif kind is str and value in _NONFINITE:
            out[i] = _NONFINITE[value]
        else:
            raise _invalid((*loc, i), 'a value must be a number or one of "NaN", "Infinity", "-Infinity"')
    return out


def _matrix(raw: Any, binary: bool, shape: tuple[int, int], loc: Loc) -> Float64Array:
    if binary:
        flat = np.frombuffer(_buffer(raw, loc, 8), dtype="<f8")
        if flat.size != shape[0] * shape[1]:
            raise _invalid(loc, f"expected {shape[0]}x{shape[1]} float64 values, got {flat.size}")
        return flat.astype(np.float64).reshape(shape)
    if not isinstance(raw, list) or len(raw) != shape[0]:
        raise _invalid(loc, f"values must be a list of {shape[0]} rows, one per key")
    rows = []
    for k, row in enumerate(raw):
        if not isinstance(row, list) or len(row) != shape[1]:
            raise _invalid((*loc, k), f"each row must hold {shape[1]} values, one per step")
        rows.append(_json_numbers(row, (*loc, k)))
    return np.vstack(rows)


def _counts(raw: Any, binary: bool, shape: tuple[int, int], loc: Loc) -> UInt32Array:
    if binary:
        flat = np.frombuffer(_buffer(raw, loc, 4), dtype="<u4")
        if flat.size != shape[0] * shape[1]:
            raise _invalid(loc, f"expected {shape[0]}x{shape[1]} counts, got {flat.size}")
        counts = flat.astype(np.uint32).reshape(shape)
    else:
        if not isinstance(raw, list) or len(raw) != shape[0]:
            raise _invalid(loc, f"counts must be a list of {shape[0]} rows")
        for k, row in enumerate(raw):
            if (
                not isinstance(row, list)
                or len(row) != shape[1]
                or any(type(c) is not int or not 0 < c < 2**32 for c in row)
            ):
                raise _invalid((*loc, k), f"each counts row must hold {shape[1]} integers >= 1")
        counts = np.array(raw, dtype=np.uint32)
    if (counts == 0).any():
        raise _invalid(loc, "counts must be >= 1")
    return counts
