"""TensorBoard ``Event`` records → scalars, with the message layouts of TensorFlow's
``event.proto``, ``summary.proto``, ``tensor.proto`` and TensorBoard's hparams plugin.

Scalars come in two encodings: ``simple_value`` (PyTorch's ``SummaryWriter.add_scalar``,
tensorboardX, TF1) and a one-element tensor tagged with the ``scalars`` plugin (TF2's
``tf.summary.scalar``, ``add_scalar(new_style=True)``). Both are read; histograms, images,
audio, text and other plugins are skipped and counted by kind. Hyper-parameters written by
the hparams plugin (``add_hparams``, Lightning's TensorBoardLogger) become the run's config.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

from gradsight.importers.protobuf import (
    FIXED32,
    FIXED64,
    as_double,
    as_float,
    as_int32,
    as_int64,
    fields,
)
from gradsight.importers.protobuf import varint as read_varint

# Summary.Value's oneof, by field number (summary.proto).
_SKIPPED_KINDS = {3: "histogram", 4: "image", 5: "histogram", 6: "audio"}
# DataType (types.proto) of numeric scalars: struct format of one element in tensor_content.
_DTYPES = {
    1: "f",
    2: "d",
    3: "i",
    4: "B",
    5: "h",
    6: "b",
    9: "q",
    10: "?",
    17: "H",
    19: "e",
    22: "I",
    23: "Q",
}
_BFLOAT16 = 14
# TensorProto's typed repeated fields (tensor.proto) → how to read one element.
_FLOAT_VAL, _DOUBLE_VAL, _INT_VAL, _INT64_VAL, _BOOL_VAL, _HALF_VAL = 5, 6, 7, 10, 11, 13


@dataclass
class Event:
    wall_time: float = math.nan
    step: int = 0
    scalars: list[tuple[str, float]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(tag, kind) of values that are not scalars."""
    hparams: dict[str, Any] | None = None


def parse_event(record: bytes) -> Event:
    event = Event()
    for number, kind, value in fields(record):
        if number == 1 and kind == FIXED64:
            event.wall_time = as_double(int(value))
        elif number == 2 and not isinstance(value, bytes):
            event.step = as_int64(value)
        elif number == 5 and isinstance(value, bytes):
            for n, _, entry in fields(value):
                if n == 1 and isinstance(entry, bytes):
                    _summary_value(entry, event)
    return event


def _summary_value(buf: bytes, event: Event) -> None:
    tag = ""
    plugin = ""
    plugin_content = b""
    simple: float | None = None
    tensor: bytes | None = None
    other: str | None = None
    for number, kind, value in fields(buf):
        if number == 1 and isinstance(value, bytes):
            tag = value.decode("utf-8", "replace")
        elif number == 2 and kind == FIXED32:
            simple = as_float(int(value))
        elif number == 8 and isinstance(value, bytes):
            tensor = value
        elif number == 9 and isinstance(value, bytes):
            plugin, plugin_content = _plugin(value)
        elif number in _SKIPPED_KINDS:
            other = _SKIPPED_KINDS[number]
    if plugin == "hparams":
        hparams = _session_start_hparams(plugin_content)
        if hparams is not None:
            event.hparams = {**(event.hparams or {}), **hparams}
        return
    if simple is not None:
        event.scalars.append((tag, simple))
    elif tensor is not None and plugin in ("scalars", ""):
        scalar = _tensor_scalar(tensor)
        if scalar is not None:
            event.scalars.append((tag, scalar))
        else:
            event.skipped.append((tag, plugin or "tensor"))
    elif tensor is not None:
        event.skipped.append((tag, plugin))
    elif other is not None:
        event.skipped.append((tag, other))


def _plugin(metadata: bytes) -> tuple[str, bytes]:
    """(plugin_name, content) of a SummaryMetadata."""
    for number, _, value in fields(metadata):
        if number == 1 and isinstance(value, bytes):  # PluginData
            name, content = "", b""
            for n, _, v in fields(value):
                if n == 1 and isinstance(v, bytes):
                    name = v.decode("utf-8", "replace")
                elif n == 2 and isinstance(v, bytes):
                    content = v
            return name, content
    return "", b""


def _tensor_scalar(buf: bytes) -> float | None:
    """The value of a one-element numeric TensorProto, else None."""
    dtype = 0
    content = b""
    repeated: dict[int, list[int | bytes]] = {}
    elements = 1
    for number, _, value in fields(buf):
        if number == 1 and isinstance(value, int):
            dtype = value
        elif number == 2 and isinstance(value, bytes):
            elements = _numel(value)
        elif number == 4 and isinstance(value, bytes):
            content = value
        elif number in (_FLOAT_VAL, _DOUBLE_VAL, _INT_VAL, _INT64_VAL, _BOOL_VAL, _HALF_VAL):
            repeated.setdefault(number, []).append(value)
    if elements != 1:
        return None
    if dtype == _BFLOAT16:
        if len(content) == 2:
            return float(struct.unpack("<f", b"\x00\x00" + content)[0])
        half = _first(repeated.get(_HALF_VAL), varint=True)
        return (
            None if half is None else float(struct.unpack("<f", struct.pack("<I", (half & 0xFFFF) << 16))[0])
        )
    fmt = _DTYPES.get(dtype)
    if fmt is None:
        return None  # strings and complex numbers are not scalars we can plot
    if content:
        size = struct.calcsize(fmt)
        return float(struct.unpack("<" + fmt, content[:size])[0]) if len(content) >= size else None
    if fmt == "f":
        bits = _first(repeated.get(_FLOAT_VAL), width=4)
        return None if bits is None else as_float(bits)
    if fmt == "d":
        bits = _first(repeated.get(_DOUBLE_VAL), width=8)
        return None if bits is None else as_double(bits)
    if fmt == "e":
        half = _first(repeated.get(_HALF_VAL), varint=True)
        return None if half is None else float(struct.unpack("<e", struct.pack("<H", half & 0xFFFF))[0])
    if fmt in ("q", "Q"):
        raw = _first(repeated.get(_INT64_VAL), varint=True)
        return None if raw is None else float(as_int64(raw) if fmt == "q" else raw)
    if fmt == "?":
        raw = _first(repeated.get(_BOOL_VAL), varint=True)
        return None if raw is None else float(bool(raw))
    raw = _first(repeated.get(_INT_VAL), varint=True)
    return None if raw is None else float(as_int32(raw) if fmt in ("i", "h", "b") else raw)


def _first(values: list[int | bytes] | None, *, width: int = 0, varint: bool = False) -> int | None:
    """The first element of a repeated field, packed (bytes) or not."""
    if not values:
        return None
    value = values[0]
    if isinstance(value, int):
        return value
    if varint:
        return read_varint(value, 0)[0] if value else None
    return int.from_bytes(value[:width], "little") if len(value) >= width else None


def _numel(shape: bytes) -> int:
    numel = 1
    for number, _, dim in fields(shape):
        if number == 2 and isinstance(dim, bytes):  # TensorShapeProto.Dim
            for n, _, size in fields(dim):
                if n == 1 and isinstance(size, int):
                    numel *= as_int64(size)
    return numel


# -- hparams plugin (tensorboard/plugins/hparams/plugin_data.proto) ------------------------


def _session_start_hparams(content: bytes) -> dict[str, Any] | None:
    for number, _, value in fields(content):
        if number == 3 and isinstance(value, bytes):  # HParamsPluginData.session_start_info
            hparams: dict[str, Any] = {}
            for n, _, entry in fields(value):
                if n == 1 and isinstance(entry, bytes):  # map<string, google.protobuf.Value>
                    key, item = _map_entry(entry)
                    hparams[key] = item
            return hparams
    return None


def _map_entry(buf: bytes) -> tuple[str, Any]:
    key, item = "", None
    for number, _, value in fields(buf):
        if number == 1 and isinstance(value, bytes):
            key = value.decode("utf-8", "replace")
        elif number == 2 and isinstance(value, bytes):
            item = _protobuf_value(value)
    return key, item


def _protobuf_value(buf: bytes) -> Any:
    """google.protobuf.Value → a JSON value (non-finite numbers as strings, as in configs)."""
    for number, kind, value in fields(buf):
        if number == 2 and kind == FIXED64:
            number_value = as_double(int(value))
            return number_value if math.isfinite(number_value) else str(number_value)
        if number == 3 and isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if number == 4 and isinstance(value, int):
            return bool(value)
        if number == 5 and isinstance(value, bytes):  # Struct
            return dict(_map_entry(e) for n, _, e in fields(value) if n == 1 and isinstance(e, bytes))
        if number == 6 and isinstance(value, bytes):  # ListValue
            return [_protobuf_value(e) for n, _, e in fields(value) if n == 1 and isinstance(e, bytes)]
    return None
