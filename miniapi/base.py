"""The one base class every API object in miniapi derives from.

Mirrors the conventions of k8s.io/api (types.go): camelCase JSON names,
`omitempty` for optional fields, and value semantics. Objects are frozen
msgspec Structs; change them with `replace(obj, field=value)` the way
client-go code calls `obj.DeepCopy()` and then mutates the copy.
Omitted: protobuf tags, deep-copy generators (frozen values need none).
"""

from __future__ import annotations

import msgspec

__all__ = ["Struct", "field", "replace"]


class Struct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """Base of every API type: immutable, keyword-only, empty fields omitted on the wire."""


field = msgspec.field
replace = msgspec.structs.replace
