"""A CRD version's structural OpenAPI v3 schema: validation, pruning, defaulting.

Mirrors k8s.io/apiextensions-apiserver/pkg/apiserver/validation (ValidateCustomResource
and ConvertError: kube-openapi's messages become field errors),
pkg/apiserver/schema/pruning/algorithm.go (Prune: drop what the schema does not
specify unless x-kubernetes-preserve-unknown-fields) and
pkg/apiserver/schema/defaulting/algorithm.go (Default: fill a missing property with
its `default`, recursively). Pure functions over JSON-shaped values.
Omitted: format checks, multipleOf, uniqueItems, allOf/anyOf/oneOf/not,
x-kubernetes-embedded-resource, list/map types, CEL rules, metadata beyond name checks.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from miniapi.validation import field
from miniapi.validation.field import ErrorList, Path

Schema = dict[str, Any]

# JSON value -> the name kube-openapi prints for its type.
_TYPE_NAMES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    for py, name in _TYPE_NAMES:
        if isinstance(value, py):
            return name
    return "array" if isinstance(value, list) else "object"


def _type_ok(value: Any, schema: Schema) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    want = schema.get("type", "")
    got = json_type(value)
    return not want or want == got or (want == "number" and got == "integer")


def validate(value: Any, schema: Schema, path: Path) -> ErrorList:
    """ValidateCustomResource: the field errors of value against schema, at path."""
    if value is None:
        if schema.get("nullable") or not schema.get("type"):
            return []
        return [_type_error(path, value, schema["type"])]
    if not _type_ok(value, schema):
        want = schema.get("type") or "integer-or-string"
        return [_type_error(path, value, want)]
    errs = _validate_scalar(value, schema, path)
    if isinstance(value, dict):
        errs += _validate_object(value, schema, path)
    elif isinstance(value, list):
        errs += _validate_array(value, schema, path)
    return errs


def _type_error(path: Path, value: Any, want: str) -> field.Error:
    got = json_type(value)
    return field.type_invalid(path, got, f'{path} in body must be of type {want}: "{got}"')


def _validate_scalar(value: Any, schema: Schema, path: Path) -> ErrorList:
    errs: ErrorList = []
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        errs.append(field.not_supported(path, value, [_enum_text(v) for v in enum]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            msg = f"{path} in body should be greater than or equal to {schema['minimum']}"
            errs.append(field.invalid(path, value, msg))
        if "maximum" in schema and value > schema["maximum"]:
            msg = f"{path} in body should be less than or equal to {schema['maximum']}"
            errs.append(field.invalid(path, value, msg))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append(field.too_long(path, value, schema["maxLength"]))
        if "minLength" in schema and len(value) < schema["minLength"]:
            msg = f"{path} in body should be at least {schema['minLength']} chars long"
            errs.append(field.invalid(path, value, msg))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            msg = f"{path} in body should match '{schema['pattern']}'"
            errs.append(field.invalid(path, value, msg))
    return errs


def _enum_text(v: Any) -> str:
    # NotSupported quotes strings itself; other values print as Go's %v would.
    return v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


def _validate_object(value: dict, schema: Schema, path: Path) -> ErrorList:
    errs: ErrorList = []
    props = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            errs.append(field.required(path.child(name), ""))
    for k, v in value.items():
        sub = props.get(k)
        if sub is None:
            sub = schema.get("additionalProperties")
            sub = sub if isinstance(sub, dict) else None
        if sub is not None:
            errs += validate(v, sub, path.child(k))
    return errs


def _validate_array(value: list, schema: Schema, path: Path) -> ErrorList:
    errs: ErrorList = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errs.append(field.too_many(path, len(value), schema["maxItems"]))
    if "minItems" in schema and len(value) < schema["minItems"]:
        msg = f"{path} in body should have at least {schema['minItems']} items"
        errs.append(field.invalid(path, value, msg))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, v in enumerate(value):
            errs += validate(v, items, path.index(i))
    return errs


def prune(value: Any, schema: Schema | None) -> Any:
    """Prune: the value without the object fields the schema does not specify."""
    if schema is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        return _prune_known(value, schema)
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return {k: prune(v, extra) for k, v in value.items()}
        props = props or {}
        return {k: prune(v, props[k]) for k, v in value.items() if k in props}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(v, schema["items"]) for v in value]
    return value


def unknown_fields(value: Any, schema: Schema | None, path: str = "") -> list[str]:
    """The paths prune would drop: what fieldValidation=Strict reports as unknown fields."""
    if schema is None or not isinstance(value, (dict, list)):
        return []
    if isinstance(value, list):
        items = schema.get("items")
        return [p for v in value for p in unknown_fields(v, items, f"{path}[]")] if items else []
    props, extra = schema.get("properties") or {}, schema.get("additionalProperties")
    out = []
    for k, v in value.items():
        sub = props.get(k, extra if isinstance(extra, dict) else None)
        child = f"{path}.{k}" if path else k
        if (
            sub is None
            and k not in props
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            out.append(child)
        else:
            out += unknown_fields(v, sub, child)
    return out


def _prune_known(value: Any, schema: Schema | None) -> Any:
    """Under preserve-unknown-fields, unknown fields stay but known ones are still pruned."""
    if schema is None or not isinstance(value, dict):
        return value
    props = schema.get("properties", {})
    return {k: prune(v, props[k]) if k in props else v for k, v in value.items()}


def default(value: Any, schema: Schema | None) -> Any:
    """Default: missing properties with a `default` get a copy of it, at every depth."""
    if schema is None:
        return value
    if isinstance(value, dict):
        out = dict(value)
        props = schema.get("properties", {})
        for k, sub in props.items():
            if k not in out and "default" in sub:
                out[k] = copy.deepcopy(sub["default"])
            if k in out:
                out[k] = default(out[k], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            out = {k: default(v, extra) if k not in props else v for k, v in out.items()}
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [default(v, schema["items"]) for v in value]
    return value


def validate_custom_resource(obj: dict, schema: Schema | None) -> ErrorList:
    """The whole object against the version's schema; metadata and TypeMeta are checked
    elsewhere, as upstream validates them apart from the schema."""
    if schema is None:
        return []
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    props = {k: v for k, v in schema.get("properties", {}).items()}
    for k in ("apiVersion", "kind", "metadata"):
        props.pop(k, None)
    errs: ErrorList = []
    for name in schema.get("required", []):
        if name not in obj:
            errs.append(field.required(field.new_path(name), ""))
    for k, v in body.items():
        if k in props:
            errs += validate(v, props[k], field.new_path(k))
    return errs


def prune_custom_resource(obj: dict, schema: Schema | None, preserve: bool) -> dict:
    """Prune below the root, keeping apiVersion, kind and metadata as upstream does."""
    if schema is None or preserve:
        return obj
    keep = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    rest = {k: v for k, v in obj.items() if k not in keep}
    pruned = prune(rest, {**schema, "properties": without_meta(schema)})
    return {**keep, **pruned}


def without_meta(schema: Schema) -> dict:
    return {
        k: v
        for k, v in schema.get("properties", {}).items()
        if k not in ("apiVersion", "kind", "metadata")
    }
