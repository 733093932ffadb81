"""Just enough of the protobuf wire format to read TensorBoard's ``Event`` messages: fields
are (number, wire type, value) triples; messages nest as length-delimited bytes. No schema
compiler, no dependency: the few message layouts used are spelled out in tfevents.py."""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5
Value = int | bytes


class DecodeError(ValueError):
    pass


def varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint longer than 10 bytes")


def fields(buf: bytes) -> Iterator[tuple[int, int, Value]]:
    """Each field of a message: varints and fixed-width values as unsigned ints (the raw
    bits), length-delimited ones as bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, kind = key >> 3, key & 7
        value: Value
        if kind == VARINT:
            value, pos = varint(buf, pos)
        elif kind == FIXED64:
            if pos + 8 > len(buf):
                raise DecodeError("truncated fixed64")
            (value,) = struct.unpack_from("<Q", buf, pos)
            pos += 8
        elif kind == BYTES:
            length, pos = varint(buf, pos)
            if pos + length > len(buf):
                raise DecodeError("truncated length-delimited field")
            value = buf[pos : pos + length]
            pos += length
        elif kind == FIXED32:
            if pos + 4 > len(buf):
                raise DecodeError("truncated fixed32")
            (value,) = struct.unpack_from("<I", buf, pos)
            pos += 4
        else:
            raise DecodeError(f"unsupported wire type {kind}")
        yield number, kind, value


def as_double(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits))[0])


def as_float(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits))[0])


def as_int64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def as_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value
