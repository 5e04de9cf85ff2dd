"""Find the fields of a JSON document that its type does not know.

Mirrors the strict mode of k8s.io/apimachinery/pkg/runtime/serializer/json
(sigs.k8s.io/json UnmarshalStrict) that backs the API server's
`fieldValidation=Strict`: unknown fields are reported by their JSON path
(`spec.containers[0].imagePullPolice`). Decoding itself stays lenient.
Omitted: duplicate-field detection.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import msgspec

__all__ = ["unknown_fields"]


def _struct_fields(typ: type) -> dict[str, Any]:
    hints = typing.get_type_hints(typ)
    return {f.encode_name: hints[f.name] for f in msgspec.structs.fields(typ)}


def _walk(value: Any, typ: Any, path: str, out: list[str]) -> None:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(typ):
            if arg is not type(None):
                _walk(value, arg, path, out)
                return
        return
    if isinstance(typ, type) and issubclass(typ, msgspec.Struct) and isinstance(value, dict):
        known = _struct_fields(typ)
        for key, sub in value.items():
            child = f"{path}.{key}" if path else key
            if key not in known:
                out.append(child)
            else:
                _walk(sub, known[key], child, out)
    elif origin is list and isinstance(value, list):
        (item_type,) = typing.get_args(typ)
        for i, item in enumerate(value):
            _walk(item, item_type, f"{path}[{i}]", out)
    elif origin is dict and isinstance(value, dict):
        _, value_type = typing.get_args(typ)
        for key, item in value.items():
            _walk(item, value_type, f"{path}.{key}", out)


def unknown_fields(data: dict[str, Any], typ: type) -> list[str]:
    """JSON paths of the keys in data that typ (a Struct type) has no field for."""
    out: list[str] = []
    _walk(data, typ, "", out)
    return out
