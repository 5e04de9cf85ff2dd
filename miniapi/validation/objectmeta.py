"""Validation of ObjectMeta on create and update.

Mirrors k8s.io/apimachinery/pkg/api/validation/objectmeta.go
(ValidateObjectMeta, ValidateObjectMetaUpdate, ValidateAnnotations,
ValidateOwnerReferences, ValidateFinalizers), api/validation/generic.go (the
NameIs* functions, maskTrailingDash) and apis/meta/v1/validation
(ValidateLabels, ValidateLabelSelector).
Omitted: managedFields validation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from miniapi.meta.v1 import (
    FINALIZER_DELETE_DEPENDENTS,
    FINALIZER_ORPHAN_DEPENDENTS,
    LabelSelector,
    ObjectMeta,
)
from miniapi.validation import field, names
from miniapi.validation.field import ErrorList, Path

__all__ = [
    "FIELD_IMMUTABLE_ERROR_MSG",
    "IS_NEGATIVE_ERROR_MSG",
    "TOTAL_ANNOTATION_SIZE_LIMIT_B",
    "NameFunc",
    "name_is_dns1035_label",
    "name_is_dns_label",
    "name_is_dns_subdomain",
    "validate_annotations",
    "validate_immutable_field",
    "validate_label_selector",
    "validate_labels",
    "validate_nonnegative_field",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_path_segment_name",
]

FIELD_IMMUTABLE_ERROR_MSG = "field is immutable"
IS_NEGATIVE_ERROR_MSG = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * (1 << 10)

NameFunc = Callable[[str, bool], list[str]]


def _mask_trailing_dash(name: str) -> str:
    # A generateName prefix may end in '-': the random suffix makes it valid.
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return names.is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return names.is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return names.is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def validate_path_segment_name(name: str, prefix: bool) -> list[str]:
    """path.ValidatePathSegmentName: usable as one URL path segment (RBAC names)."""
    errs = []
    if not prefix and name in (".", ".."):
        errs.append(f"may not be '{name}'")
    for bad in ("/", "%"):
        if bad in name:
            errs.append(f"may not contain '{bad}'")
    return errs


def validate_nonnegative_field(value: int, path: Path) -> ErrorList:
    return [field.invalid(path, value, IS_NEGATIVE_ERROR_MSG)] if value < 0 else []


def validate_labels(labels: dict[str, str], path: Path) -> ErrorList:
    errs: ErrorList = []
    for k, v in labels.items():
        errs += [field.invalid(path, k, m) for m in names.is_qualified_name(k)]
        errs += [field.invalid(path, v, m) for m in names.is_valid_label_value(v)]
    return errs


def validate_annotations(annotations: dict[str, str], path: Path) -> ErrorList:
    errs: ErrorList = []
    for k in annotations:
        # Annotation keys are qualified names, compared case-insensitively.
        errs += [field.invalid(path, k, m) for m in names.is_qualified_name(k.lower())]
    if sum(len(k) + len(v) for k, v in annotations.items()) > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        errs.append(field.too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT_B))
    return errs


def _validate_owner_references(meta: ObjectMeta, path: Path) -> ErrorList:
    errs: ErrorList = []
    first_controller = ""
    for ref in meta.owner_references:
        version = ref.api_version.split("/")[-1] if ref.api_version else ""
        if not version:
            errs.append(
                field.invalid(
                    path.child("apiVersion"), ref.api_version, "version must not be empty"
                )
            )
        for attr, wire in (("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not getattr(ref, attr):
                errs.append(field.invalid(path.child(wire), "", "must not be empty"))
        if ref.api_version == "v1" and ref.kind == "Event":
            errs.append(
                field.invalid(path, str(ref), "/v1, Kind=Event is disallowed from being an owner")
            )
        if ref.controller:
            current = f"{ref.kind}/{ref.name}"
            if first_controller:
                msg = (
                    'Only one reference can have Controller set to true. Found "true" in references '
                    f"for {first_controller} and {current}"
                )
                errs.append(field.invalid(path, str(meta.owner_references), msg))
            else:
                first_controller = current
    return errs


def _validate_finalizers(finalizers: list[str], path: Path) -> ErrorList:
    errs: ErrorList = []
    for f in finalizers:
        errs += [field.invalid(path, f, m) for m in names.is_qualified_name(f)]
    if FINALIZER_ORPHAN_DEPENDENTS in finalizers and FINALIZER_DELETE_DEPENDENTS in finalizers:
        msg = f"finalizer {FINALIZER_ORPHAN_DEPENDENTS} and {FINALIZER_DELETE_DEPENDENTS} cannot be both set"
        errs.append(field.invalid(path, finalizers, msg))
    return errs


def _validate_common(meta: ObjectMeta, namespaced: bool, path: Path) -> ErrorList:
    errs: ErrorList = []
    if namespaced:
        if not meta.namespace:
            errs.append(field.required(path.child("namespace")))
        else:
            errs += [
                field.invalid(path.child("namespace"), meta.namespace, m)
                for m in name_is_dns_label(meta.namespace, False)
            ]
    elif meta.namespace:
        errs.append(field.forbidden(path.child("namespace"), "not allowed on this type"))
    errs += validate_nonnegative_field(meta.generation or 0, path.child("generation"))
    errs += validate_labels(meta.labels, path.child("labels"))
    errs += validate_annotations(meta.annotations, path.child("annotations"))
    errs += _validate_owner_references(meta, path.child("ownerReferences"))
    errs += _validate_finalizers(meta.finalizers, path.child("finalizers"))
    return errs


def validate_object_meta(
    meta: ObjectMeta, namespaced: bool, name_fn: NameFunc, path: Path
) -> ErrorList:
    """ValidateObjectMeta: generateName and name syntax, namespace, labels, annotations..."""
    errs: ErrorList = []
    if meta.generate_name:
        errs += [
            field.invalid(path.child("generateName"), meta.generate_name, m)
            for m in name_fn(meta.generate_name, True)
        ]
    if not meta.name:
        errs.append(field.required(path.child("name"), "name or generateName is required"))
    else:
        errs += [field.invalid(path.child("name"), meta.name, m) for m in name_fn(meta.name, False)]
    return errs + _validate_common(meta, namespaced, path)


def validate_immutable_field(new: Any, old: Any, path: Path) -> ErrorList:
    return [] if new == old else [field.invalid(path, new, FIELD_IMMUTABLE_ERROR_MSG)]


def validate_object_meta_update(new: ObjectMeta, old: ObjectMeta, path: Path) -> ErrorList:
    """ValidateObjectMetaUpdate: identity fields immutable, resourceVersion required."""
    errs: ErrorList = []
    if old.deletion_timestamp is not None:
        extra = sorted(set(new.finalizers) - set(old.finalizers))
        if extra:
            shown = "[]string{" + ", ".join(f'"{f}"' for f in extra) + "}"
            msg = f"no new finalizers can be added if the object is being deleted, found new finalizers {shown}"
            errs.append(field.forbidden(path.child("finalizers"), msg))
    if not new.resource_version:
        errs.append(
            field.invalid(
                path.child("resourceVersion"),
                new.resource_version,
                "must be specified for an update",
            )
        )
    if (new.generation or 0) < (old.generation or 0):
        errs.append(
            field.invalid(path.child("generation"), new.generation or 0, "must not be decremented")
        )
    for attr, wire in (
        ("name", "name"),
        ("namespace", "namespace"),
        ("uid", "uid"),
        ("creation_timestamp", "creationTimestamp"),
        ("deletion_timestamp", "deletionTimestamp"),
        ("deletion_grace_period_seconds", "deletionGracePeriodSeconds"),
    ):
        errs += validate_immutable_field(getattr(new, attr), getattr(old, attr), path.child(wire))
    errs += validate_labels(new.labels, path.child("labels"))
    errs += validate_annotations(new.annotations, path.child("annotations"))
    errs += _validate_owner_references(new, path.child("ownerReferences"))
    errs += _validate_finalizers(new.finalizers, path.child("finalizers"))
    return errs


_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(sel: LabelSelector | None, path: Path) -> ErrorList:
    """ValidateLabelSelector: requirement operators/values and label syntax."""
    if sel is None:
        return []
    errs: ErrorList = []
    for i, req in enumerate(sel.match_expressions):
        p = path.child("matchExpressions").index(i)
        if req.operator in ("In", "NotIn") and not req.values:
            errs.append(
                field.required(
                    p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"
                )
            )
        elif req.operator in ("Exists", "DoesNotExist") and req.values:
            errs.append(
                field.forbidden(
                    p.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
        elif req.operator not in _SELECTOR_OPS:
            errs.append(
                field.invalid(p.child("operator"), req.operator, "not a valid selector operator")
            )
        errs += [
            field.invalid(p.child("key"), req.key, m) for m in names.is_qualified_name(req.key)
        ]
    errs += validate_labels(sel.match_labels, path.child("matchLabels"))
    return errs
