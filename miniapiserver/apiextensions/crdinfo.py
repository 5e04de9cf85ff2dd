"""What one CustomResourceDefinition serves: resource infos, codec, printed columns.

Mirrors k8s.io/apiextensions-apiserver/pkg/apiserver/customresource_handler.go
(crdInfo: per version the request scope, schema, table convertor; the storage
version) and pkg/registry/customresource (strategy.go: PrepareForCreate/Update
with generation, Validate with the schema; tableconvertor: additionalPrinterColumns).
Custom resources stay JSON-shaped dicts end to end, as upstream's unstructured.
Conversion strategy None: any served version is accepted, pruned, defaulted and
validated with that version's schema, then only apiVersion is rewritten to the
storage version before the write (nopConverter).
Omitted: webhook conversion, JSONPath filters in printer columns; a patch is
validated in the storage version (upstream: converted to the request's first).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from miniapi import errors
from miniapi.meta.v1 import ObjectMeta
from miniapi.runtime import GroupVersionKind, ResourceInfo
from miniapi.validation import field as vfield
from miniapi.validation.objectmeta import validate_object_meta, validate_path_segment_name
from miniapiserver.apiextensions import schema as sch
from miniapiserver.endpoints.negotiation import JSON_PATCH, MERGE_PATCH

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
Printer = Any


@dataclass(frozen=True)
class CustomResourceInfo(ResourceInfo):
    """A served CRD version: the ResourceInfo plus its columns for Table output."""

    table: tuple[list, Printer] | None = None
    crd_name: str = ""
    patch_types: tuple[str, ...] = (JSON_PATCH, MERGE_PATCH)
    # subresources.scale's specReplicasPath, statusReplicasPath, labelSelectorPath
    scale_paths: tuple[tuple[str, str], ...] = ()


@dataclass
class CRDInfo:
    """Everything the handler needs for one CRD, rebuilt whenever the CRD changes."""

    crd: dict
    versions: dict[str, CustomResourceInfo] = field(default_factory=dict)
    storage_version: str = ""

    @property
    def spec(self) -> dict:
        return self.crd.get("spec", {})

    @property
    def group(self) -> str:
        return self.spec.get("group", "")

    def version_spec(self, version: str) -> dict:
        return next(v for v in self.spec.get("versions", []) if v.get("name") == version)

    def schema(self, version: str) -> dict | None:
        return (self.version_spec(version).get("schema") or {}).get("openAPIV3Schema")

    @property
    def storage_info(self) -> CustomResourceInfo:
        return self.versions[self.storage_version]


def new_crd_info(crd: dict) -> CRDInfo:
    out = CRDInfo(crd)
    spec = crd.get("spec", {})
    names = crd.get("status", {}).get("acceptedNames") or spec.get("names", {})
    for v in spec.get("versions", []):
        if v.get("storage"):
            out.storage_version = v["name"]
        if not v.get("served"):
            continue
        subs = v.get("subresources") or {}
        gvk = GroupVersionKind(spec.get("group", ""), v["name"], names.get("kind", ""))
        out.versions[v["name"]] = CustomResourceInfo(
            gvk, dict, dict, names.get("plural", ""),
            names.get("singular") or names.get("kind", "").lower(),
            spec.get("scope") == "Namespaced", tuple(names.get("shortNames") or ()),
            ALL_VERBS, tuple(names.get("categories") or ()),
            tuple(s for s in ("status", "scale") if s in subs),
            table=table_for(v.get("additionalPrinterColumns") or []),
            crd_name=crd["metadata"]["name"],
            scale_paths=tuple((k, v) for k, v in (subs.get("scale") or {}).items() if v),
        )  # fmt: skip
    if out.storage_version not in out.versions:
        # An unserved storage version still stores: give it an info for the store.
        gvk = GroupVersionKind(spec.get("group", ""), out.storage_version, names.get("kind", ""))
        first = next(iter(out.versions.values()), None)
        if first is not None:
            out.versions[out.storage_version] = CustomResourceInfo(
                gvk, dict, dict, first.resource, first.singular, first.namespaced
            )
    return out


def _get_path(obj: Any, json_path: str) -> Any:
    """A simple JSONPath (`.spec.replicas`, `.status.items[0].name`) or None."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", json_path):
        if part.startswith("["):
            i = int(part[1:-1])
            obj = obj[i] if isinstance(obj, list) and i < len(obj) else None
        else:
            obj = obj.get(part) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def table_for(columns: list[dict]) -> tuple[list, Printer]:
    """tableconvertor.New: Name, the additional columns (Age when none are given)."""
    if not columns:
        columns = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    defs = [("Name", "string", "name", "Name must be unique within a namespace.", 0)]
    defs += [
        (c["name"], c.get("type", "string"), c.get("format", ""), c.get("description", ""),
         c.get("priority", 0))
        for c in columns
    ]  # fmt: skip

    def printer(obj: dict, now: datetime, age) -> list:  # type: ignore[no-untyped-def]
        cells: list = [obj.get("metadata", {}).get("name", "")]
        for c in columns:
            value = _get_path(obj, c.get("jsonPath", ""))
            if c.get("type") == "date":
                value = age(value, now) if value else "<unknown>"
            cells.append(value)
        return cells

    return defs, printer


class Codec:
    """The store's typed round trip for custom resources (registry/typed.py's three calls)."""

    def __init__(self, info: CRDInfo) -> None:
        self.crd = info

    def check_type_meta(self, info: ResourceInfo, obj: Any) -> dict:
        if not isinstance(obj, dict):
            raise errors.new_bad_request(
                "the object provided is unrecognized (must be of type Object)"
            )
        group, kind = self.crd.group, info.gvk.kind
        api_version = obj.get("apiVersion") or f"{group}/{info.gvk.version}"
        g, _, version = api_version.rpartition("/")
        if obj.get("kind", kind) != kind or g != group or version not in self.crd.versions:
            raise errors.new_bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({group}/{info.gvk.version})"
            )
        # Kept in the request's version until normalize: admission sees that version.
        obj["apiVersion"], obj["kind"] = api_version, kind
        return obj

    def version_of(self, obj: dict) -> str:
        version = str(obj.get("apiVersion", "")).rpartition("/")[2]
        return version if version in self.crd.versions else self.crd.storage_version

    def default(self, info: ResourceInfo, obj: dict, strict: bool = False) -> dict:
        """Decoding: prune unknown fields, then apply the defaults of the object's version."""
        version = self.version_of(obj)
        s = self.crd.schema(version)
        preserve = self.crd.spec.get("preserveUnknownFields", False)
        if strict and s is not None and not preserve:
            body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            unknown = sch.unknown_fields(body, {**s, "properties": sch.without_meta(s)})
            if unknown:
                kind = info.gvk.kind
                raise errors.new_bad_request(
                    f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding '
                    "error: " + ", ".join(f'unknown field "{f}"' for f in unknown)
                )
        obj = sch.prune_custom_resource(copy.deepcopy(obj), s, preserve)
        return sch.default(obj, s) if s is not None else obj

    def normalize(
        self, info: ResourceInfo, obj: dict, old: dict | None = None, strict: bool = False
    ) -> dict:
        """Prune, default, validate (metadata and the request version's schema), convert to
        the storage version (strategy None: apiVersion only), bump generation."""
        version = self.version_of(obj)
        obj = self.default(info, obj, strict)
        meta = obj.get("metadata", {})
        errs = validate_object_meta(
            ObjectMeta(
                name=meta.get("name", ""),
                generate_name=meta.get("generateName", ""),
                namespace=meta.get("namespace", ""),
            ),
            info.namespaced, validate_path_segment_name, vfield.new_path("metadata"),
        )  # fmt: skip
        errs += sch.validate_custom_resource(obj, self.crd.schema(version))
        if errs:
            raise errors.new_invalid(info.gvk.group, info.gvk.kind, meta.get("name", ""), errs)
        obj["apiVersion"] = f"{self.crd.group}/{self.crd.storage_version}"
        _set_generation(obj, old, "status" in info.subresources)
        return obj


def _set_generation(obj: dict, old: dict | None, has_status: bool) -> None:
    """customResourceStrategy: generation 1 at create, +1 when anything but metadata
    (and status, with the status subresource) changes."""
    meta = obj.setdefault("metadata", {})
    if old is None:
        meta["generation"] = 1
        return
    skip = ("metadata", "status") if has_status else ("metadata",)
    new_body = {k: v for k, v in obj.items() if k not in skip}
    old_body = {k: v for k, v in old.items() if k not in skip}
    generation = old.get("metadata", {}).get("generation", 1)
    meta["generation"] = generation + (1 if new_body != old_body else 0)
