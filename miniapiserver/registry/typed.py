"""The typed round trip every written object takes: decode, default, validate, encode.

Mirrors what the generic registry gets from the scheme and a strategy:
the codec's decode into the registered type (400 on a malformed or mistyped
body), SetDefaults, Validate / ValidateUpdate (422 Invalid with causes).
Generic layers keep objects as JSON-shaped dicts (like
unstructured.Unstructured); this module is where they meet miniapi's types.
"""

from __future__ import annotations

from typing import Any

from miniapi import errors, scheme
from miniapi.defaults import set_defaults
from miniapi.runtime import MissingKindError, MissingVersionError, NotRegisteredError, ResourceInfo
from miniapi.validation.validate import validate, validate_update
from miniapiserver.storage.interfaces import Obj


def check_type_meta(info: ResourceInfo, obj: Any) -> Obj:
    """The body must be an object of this resource's kind and group version (400 otherwise)."""
    if not isinstance(obj, dict):
        raise errors.new_bad_request("the object provided is unrecognized (must be of type Object)")
    gv = f"{info.gvk.group}/{info.gvk.version}" if info.gvk.group else info.gvk.version
    api_version, kind = obj.get("apiVersion") or gv, obj.get("kind") or info.gvk.kind
    if kind != info.gvk.kind or api_version != gv:
        raise errors.new_bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version ({gv})"
            if kind == info.gvk.kind
            else f'{kind} in version "{api_version.rpartition("/")[2]}" cannot be handled as a '
            f'{info.gvk.kind}: no kind "{kind}" is registered for version "{api_version}"'
        )
    obj["apiVersion"], obj["kind"] = gv, kind
    return obj


def to_typed(obj: Obj, strict: bool = False) -> Any:
    """The registered type; strict (fieldValidation=Strict) also refuses unknown fields."""
    try:
        return scheme.decode(obj, strict=strict)
    except (scheme.DecodeError, MissingKindError, MissingVersionError, NotRegisteredError) as e:
        raise errors.new_bad_request(str(e)) from None


def normalize(info: ResourceInfo, obj: Obj, old: Obj | None = None, strict: bool = False) -> Obj:
    """Decode to the type, default, validate (create or update) and encode back."""
    typed = set_defaults(to_typed(obj, strict))
    errs = validate(typed) if old is None else validate_update(typed, to_typed(old))
    if errs:
        name = obj.get("metadata", {}).get("name", "")
        raise errors.new_invalid(info.gvk.group, info.gvk.kind, name, errs)
    return scheme.encode(typed)


def default(info: ResourceInfo, obj: Obj, strict: bool = False) -> Obj:
    """Decode and default without validating: what admission plugins are shown."""
    return scheme.encode(set_defaults(to_typed(obj, strict)))
