"""Protocol buffer wire format: varints, tags and length-delimited fields.

Mirrors the encoding that gogo/protobuf's generated Marshal/Unmarshal in
k8s.io/api's generated.pb.go write and read (proto2, wire types 0, 1, 2, 5).
Pure functions over bytes; the schema-driven codec sits on top.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """Bytes that are not a valid protobuf message."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(data):
            raise WireError("unexpected EOF")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("integer overflow")


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value): ints for varints/fixed, bytes for LENGTH."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("illegal tag 0")
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == LENGTH:
            size, pos = read_varint(data, pos)
            if pos + size > len(data):
                raise WireError("unexpected EOF")
            value, pos = data[pos : pos + size], pos + size
        elif wire_type == FIXED64:
            if pos + 8 > len(data):
                raise WireError("unexpected EOF")
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire_type == FIXED32:
            if pos + 4 > len(data):
                raise WireError("unexpected EOF")
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        else:
            raise WireError(f"illegal wireType {wire_type} for field {number}")
        yield number, wire_type, value


def varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # negative int32/int64 are ten-byte two's complement
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def length_field(number: int, payload: bytes) -> bytes:
    return tag(number, LENGTH) + varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    return tag(number, VARINT) + varint(value)


def signed(value: int, bits: int) -> int:
    """Reinterpret an unsigned varint as a signed intN (int32/int64 are not zigzag)."""
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32:
        value = (value + (1 << 31)) % (1 << 32) - (1 << 31)
    return value
