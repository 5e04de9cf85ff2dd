"""Schema-driven codec between Kubernetes protobuf messages and JSON-shaped dicts.

Mirrors what the generated Marshal/Unmarshal of k8s.io/api/*/generated.pb.go
do, driven by the table in messages.txt (upstream's message names and field
numbers) instead of generated code. Decoding yields the same dict the JSON
form of the object decodes to, so a protobuf body joins the JSON path right
after the envelope. Special types follow their JSON marshalers: Time and
MicroTime as RFC 3339, Duration as a Go duration string, IntOrString, Quantity,
bytes as base64, FieldsV1 and RawExtension as embedded JSON. An unknown field
number is an error (nothing is dropped silently).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

from miniapi.meta.v1.duration import format_duration, parse_duration
from miniapiserver.protobuf import wire

SCALARS = ("string", "bool", "int32", "int64", "bytes", "double", "float")
SPECIAL = ("Time", "MicroTime", "Duration", "IntOrString", "Quantity", "FieldsV1", "RawExtension")


class Field:
    __slots__ = ("inline", "json_name", "kind", "number", "repeated", "type")

    def __init__(self, spec: str) -> None:
        self.inline = spec.startswith("~")
        name, _, rest = spec.lstrip("~").partition("=")
        number, _, typ = rest.partition(":")
        self.json_name, self.number = name, int(number)
        self.repeated = typ.startswith("[]")
        self.kind = "map" if typ.startswith("map:") else "one"
        self.type = typ.removeprefix("[]").removeprefix("map:")


@cache
def messages() -> dict[str, dict[int, Field]]:
    table: dict[str, dict[int, Field]] = {}
    for line in (Path(__file__).with_name("messages.txt")).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, *specs = line.split()
        table[name] = {f.number: f for f in map(Field, specs)}
    return table


class CodecError(ValueError):
    """A protobuf body that does not match its message."""


def _time_to_json(data: bytes, micro: bool) -> str | None:
    seconds, nanos = 0, 0
    for number, _, value in wire.fields(data):
        if number == 1:
            seconds = wire.signed(value, 64)
        elif number == 2:
            nanos = wire.signed(value, 32)
    if seconds == 0 and nanos == 0 and not data:
        return None
    t = dt.datetime.fromtimestamp(seconds, dt.UTC)
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_to_proto(value: str) -> bytes:
    t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    seconds = int(t.timestamp())
    out = wire.varint_field(1, seconds)
    if t.microsecond:
        out += wire.varint_field(2, t.microsecond * 1000)
    return out


def _special_to_json(typ: str, data: bytes) -> Any:
    if typ in ("Time", "MicroTime"):
        return _time_to_json(data, typ == "MicroTime")
    parts = {n: v for n, _, v in wire.fields(data)}
    if typ == "Duration":
        return format_duration(wire.signed(parts.get(1, 0), 64))
    if typ == "IntOrString":
        if parts.get(1, 0) == 1:
            return parts.get(3, b"").decode()
        return wire.signed(parts.get(2, 0), 32)
    if typ == "Quantity":
        return parts.get(1, b"").decode()
    raw = parts.get(1, b"")
    return json.loads(raw) if raw else None  # FieldsV1, RawExtension


def _special_to_proto(typ: str, value: Any) -> bytes:
    if typ in ("Time", "MicroTime"):
        return _time_to_proto(value) if value else b""
    if typ == "Duration":
        return wire.varint_field(1, parse_duration(value))
    if typ == "IntOrString":
        if isinstance(value, str):
            return wire.varint_field(1, 1) + wire.length_field(3, value.encode())
        return wire.varint_field(1, 0) + wire.varint_field(2, value)
    if typ == "Quantity":
        return wire.length_field(1, str(value).encode())
    return wire.length_field(1, json.dumps(value, separators=(",", ":")).encode())


def _scalar(typ: str, wire_type: int, value: int | bytes) -> Any:
    if typ == "string":
        return value.decode()  # type: ignore[union-attr]
    if typ == "bytes":
        return base64.b64encode(value).decode()  # type: ignore[arg-type]
    if typ == "bool":
        return bool(value)
    if typ in ("int32", "int64"):
        return wire.signed(value, 32 if typ == "int32" else 64)  # type: ignore[arg-type]
    if typ == "double":
        return struct.unpack("<d", struct.pack("<Q", value))[0]
    return struct.unpack("<f", struct.pack("<I", value))[0]


def _packed(typ: str, data: bytes) -> list[Any]:
    pos, out = 0, []
    while pos < len(data):
        v, pos = wire.read_varint(data, pos)
        out.append(_scalar(typ, wire.VARINT, v))
    return out


def _value(typ: str, wire_type: int, value: int | bytes) -> Any:
    if typ in SCALARS:
        return _scalar(typ, wire_type, value)
    if not isinstance(value, bytes):
        raise CodecError(f"field of type {typ} is not length-delimited")
    if typ in SPECIAL:
        return _special_to_json(typ, value)
    return decode_message(typ, value)


def _map_entry(typ: str, data: bytes) -> tuple[str, Any]:
    key, val = "", None
    for number, wt, v in wire.fields(data):
        if number == 1:
            key = v.decode()  # type: ignore[union-attr]
        elif number == 2:
            val = _value(typ, wt, v)
    if val is None:
        val = "" if typ in ("string", "bytes", "Quantity") else {}
    return key, val


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """Decode one message into its JSON-shaped dict."""
    table = messages().get(name)
    if table is None:
        raise CodecError(f"no protobuf schema for {name}")
    out: dict[str, Any] = {}
    try:
        for number, wire_type, value in wire.fields(data):
            f = table.get(number)
            if f is None:
                raise CodecError(f"unknown field {number} in {name}")
            if f.kind == "map":
                k, v = _map_entry(f.type, value)  # type: ignore[arg-type]
                out.setdefault(f.json_name, {})[k] = v
            elif f.repeated:
                items = out.setdefault(f.json_name, [])
                if (
                    wire_type == wire.LENGTH
                    and f.type in SCALARS
                    and f.type not in ("string", "bytes")
                ):
                    items.extend(_packed(f.type, value))  # type: ignore[arg-type]
                else:
                    items.append(_value(f.type, wire_type, value))
            elif f.inline:
                out.update(_value(f.type, wire_type, value))
            else:
                v = _value(f.type, wire_type, value)
                if v is not None:
                    out[f.json_name] = v
    except (wire.WireError, UnicodeDecodeError) as e:
        raise CodecError(f"{name}: {e}") from None
    return out


def _encode_value(typ: str, number: int, value: Any) -> bytes:
    if typ == "string":
        return wire.length_field(number, value.encode())
    if typ == "bytes":
        return wire.length_field(number, base64.b64decode(value))
    if typ in ("bool", "int32", "int64"):
        return wire.varint_field(number, int(value))
    if typ == "double":
        return wire.tag(number, wire.FIXED64) + struct.pack("<d", value)
    if typ == "float":
        return wire.tag(number, wire.FIXED32) + struct.pack("<f", value)
    if typ in SPECIAL:
        return wire.length_field(number, _special_to_proto(typ, value))
    return wire.length_field(number, encode_message(typ, value))


def encode_message(name: str, obj: dict[str, Any]) -> bytes:
    """Encode a JSON-shaped dict as message name (unknown keys are an error)."""
    table = messages().get(name)
    if table is None:
        raise CodecError(f"no protobuf schema for {name}")
    by_name = {f.json_name: f for f in table.values() if not f.inline}
    out, consumed = bytearray(), set()
    for f in sorted(table.values(), key=lambda f: f.number):
        if f.inline:
            sub_names = {g.json_name for g in messages()[f.type].values()}
            sub = {k: v for k, v in obj.items() if k in sub_names and k not in by_name}
            if sub:
                out += wire.length_field(f.number, encode_message(f.type, sub))
                consumed.update(sub)
            continue
        if f.json_name not in obj or obj[f.json_name] is None:
            continue
        value, consumed = obj[f.json_name], consumed | {f.json_name}
        if f.kind == "map":
            for k, v in value.items():
                entry = wire.length_field(1, k.encode()) + _encode_value(f.type, 2, v)
                out += wire.length_field(f.number, entry)
        elif f.repeated:
            for item in value:
                out += _encode_value(f.type, f.number, item)
        else:
            out += _encode_value(f.type, f.number, value)
    extra = {k for k, v in obj.items() if v is not None} - consumed - {"apiVersion", "kind"}
    if extra:
        raise CodecError(f"{name} has no protobuf field for {sorted(extra)}")
    return bytes(out)
