"""Redact secrets before a config leaves the process (the admin's /config_dump).

Mirrors MessageUtil::redact in source/common/protobuf/utility.cc: every field annotated
`(udpa.annotations.sensitive) = true` — a TLS private key, a pkcs12 bundle, a key password —
has its string leaves replaced by "[redacted]" and its bytes leaves by b"[redacted]", all the
way down; `google.protobuf.Any` values (typed_config, packed dump sections) are unpacked,
redacted and packed again.
Omitted: redaction inside google.protobuf.Struct values.
"""

from __future__ import annotations

from google.protobuf import any_pb2, symbol_database
from google.protobuf.descriptor import FieldDescriptor
from udpa.annotations import sensitive_pb2

REDACTED = "[redacted]"


def _is_sensitive(field) -> bool:
    return field.GetOptions().Extensions[sensitive_pb2.sensitive]


def _is_map(field) -> bool:
    m = field.message_type
    return m is not None and m.GetOptions().map_entry


def redact(msg, sensitive: bool = False) -> None:
    """Redact msg in place (everything below it when sensitive is True)."""
    if isinstance(msg, any_pb2.Any):
        _redact_any(msg, sensitive)
        return
    for field, value in msg.ListFields():
        below = sensitive or _is_sensitive(field)
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if _is_map(field):
                vf = field.message_type.fields_by_name["value"]
                if vf.type == FieldDescriptor.TYPE_MESSAGE:
                    for v in value.values():
                        redact(v, below)
                elif below:
                    for k in value:
                        value[k] = _leaf(vf, value[k])
            elif field.is_repeated:
                for v in value:
                    redact(v, below)
            else:
                redact(value, below)
        elif below:
            if field.is_repeated:
                value[:] = [_leaf(field, v) for v in value]
            else:
                setattr(msg, field.name, _leaf(field, value))


def _leaf(field, value):
    if field.type == FieldDescriptor.TYPE_STRING:
        return REDACTED
    if field.type == FieldDescriptor.TYPE_BYTES:
        return REDACTED.encode()
    return value


def _redact_any(msg: any_pb2.Any, sensitive: bool) -> None:
    name = msg.type_url.split("/")[-1]
    try:
        cls = symbol_database.Default().GetSymbol(name)
    except KeyError:
        return  # a type this process does not know cannot hold a field it knows is secret
    inner = cls()
    msg.Unpack(inner)
    redact(inner, sensitive)
    msg.Pack(inner)
