"""A CRD is only accepted with structural schemas: the checks run on CRD writes.

Mirrors k8s.io/apiextensions-apiserver/pkg/apiserver/schema/validation.go
(validateStructuralInvariants: every specified node has a type, object at the
root, properties and additionalProperties exclusive) as
pkg/apis/apiextensions/validation/validation.go applies it to each version's
openAPIV3Schema (a v1 CRD must be structural), and the CRD's own codec that
runs those checks after the typed validation (registry/typed.py) passes.
Omitted: $ref/allOf/anyOf/oneOf/not rules, metadata schema restrictions,
validating `default` values against the schema, CEL cost estimation.
"""

from __future__ import annotations

from typing import Any

from miniapi import errors
from miniapi.runtime import ResourceInfo
from miniapi.validation import field
from miniapi.validation.field import ErrorList, Path
from miniapiserver.registry import typed

ROOT, FIELD, ITEM = "root", "field", "item"
_EMPTY_TYPE = {
    ROOT: "must not be empty at the root",
    FIELD: "must not be empty for specified object fields",
    ITEM: "must not be empty for specified array items",
}


def validate_structural(s: dict, path: Path, level: str = ROOT) -> ErrorList:
    """The structural-invariant violations of one schema node and everything below it."""
    errs: ErrorList = []
    t = s.get("type", "")
    loose = s.get("x-kubernetes-int-or-string") or s.get("x-kubernetes-preserve-unknown-fields")
    if not t and not loose:
        errs.append(field.required(path.child("type"), _EMPTY_TYPE[level]))
    if level == ROOT and t and t != "object":
        errs.append(field.invalid(path.child("type"), t, "must be object at the root"))
    if "properties" in s and isinstance(s.get("additionalProperties"), (dict, bool)):
        errs.append(
            field.forbidden(
                path.child("additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            )
        )
    for name, sub in (s.get("properties") or {}).items():
        if isinstance(sub, dict):
            errs += validate_structural(sub, path.child("properties").key(name), FIELD)
    if isinstance(s.get("items"), dict):
        errs += validate_structural(s["items"], path.child("items"), ITEM)
    if isinstance(s.get("additionalProperties"), dict):
        errs += validate_structural(
            s["additionalProperties"], path.child("additionalProperties"), FIELD
        )
    return errs


def validate_crd_schemas(crd: dict) -> ErrorList:
    """Each version's schema must be structural; preserveUnknownFields must be false (v1)."""
    spec, errs = crd.get("spec", {}), []
    if spec.get("preserveUnknownFields"):
        errs.append(
            field.invalid(field.new_path("spec", "preserveUnknownFields"), True, "must be false")
        )
    for i, v in enumerate(spec.get("versions") or []):
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        path = field.new_path("spec", "versions").index(i).child("schema", "openAPIV3Schema")
        if isinstance(schema, dict):
            errs += validate_structural(schema, path)
    return errs


class CRDCodec:
    """The CRD store's round trip: the typed one, then the structural-schema checks."""

    def check_type_meta(self, info: ResourceInfo, obj: Any) -> dict:
        return typed.check_type_meta(info, obj)

    def default(self, info: ResourceInfo, obj: dict, strict: bool = False) -> dict:
        return typed.default(info, obj, strict)

    def normalize(
        self, info: ResourceInfo, obj: dict, old: dict | None = None, strict: bool = False
    ) -> dict:
        out = typed.normalize(info, obj, old, strict)
        errs = validate_crd_schemas(out)
        if errs:
            name = out.get("metadata", {}).get("name", "")
            raise errors.new_invalid(info.gvk.group, info.gvk.kind, name, errs)
        return out
