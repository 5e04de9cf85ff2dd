"""OpenAPI v3 documents generated from miniapi's types: /openapi/v3 and /openapi/v3/<gv>.

Mirrors k8s.io/kube-openapi/pkg/handler3 (the index of group versions with
serverRelativeURL and hash, one document per group version) and what
k8s.io/apiserver/pkg/endpoints/openapi builds per resource: paths with
operations tagged x-kubernetes-action and x-kubernetes-group-version-kind,
the query parameters (dryRun, fieldManager, fieldValidation...), and
components.schemas named like the Go packages (io.k8s.api.<group>.<version>.<Kind>,
io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta), each type named after the miniapi
package it lives in. Schemas come from the msgspec Structs (types and property
names; descriptions are the types' docstrings), with the strategic-merge tags of
patch/patchmeta.py as x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key,
and int-or-string fields as upstream's IntOrString. `group_version_schemas` is the
walk that openapi_v2.py shares. kubectl uses these for `explain`, and to learn
that PATCH accepts fieldValidation (so `apply` validates on the server).
Omitted: per-field descriptions.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from miniapi import scheme
from miniapi.meta.v1.time import MicroTime
from miniapi.resource import Quantity
from miniapi.runtime import ResourceInfo
from miniapiserver.endpoints.discovery import served_resources
from miniapiserver.patch import patchmeta

# miniapi's package -> the Go package prefix of its definitions
PACKAGES = {
    "meta": "io.k8s.apimachinery.pkg.apis.meta.",
    "apiextensions": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.",
}
V3_REFS = "#/components/schemas/"
INT_OR_STRING = {"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": True}


def _schema_hook(t: type) -> dict[str, Any]:
    if t is Quantity:
        return dict(INT_OR_STRING)
    if t is MicroTime:
        return {"type": "string", "format": "date-time"}
    raise TypeError(f"no OpenAPI schema for {t!r}")


def definition_name(cls: type) -> str:
    """The Go-package name of a miniapi Struct: miniapi.apps.v1 -> io.k8s.api.apps.v1.<Name>."""
    parts = cls.__module__.split(".")  # miniapi.<package>.<version>[.module]
    package, version = parts[1], parts[2]
    prefix = PACKAGES.get(package, f"io.k8s.api.{package}.")
    return f"{prefix}{version}.{cls.__name__}"


def _struct_classes(types: list[type]) -> dict[str, type]:
    """Every Struct reachable from `types`, by the name msgspec gives its component."""
    found: dict[str, type] = {}
    stack: list[Any] = list(mi.multi_type_info(types))
    while stack:
        t = stack.pop()
        if isinstance(t, mi.StructType):
            if t.cls.__name__ not in found:
                found[t.cls.__name__] = t.cls
                stack.extend(f.type for f in t.fields)
        elif isinstance(t, mi.DictType):
            stack += [t.key_type, t.value_type]
        elif isinstance(t, mi.UnionType):
            stack += list(t.types)
        elif hasattr(t, "item_type"):
            stack.append(t.item_type)
    return found


def _clean(node: Any, rename: dict[str, str], refs: str) -> Any:
    """msgspec's schema -> kube-openapi's shape: no null unions, titles or defaults."""
    if isinstance(node, list):
        return [_clean(n, rename, refs) for n in node]
    if not isinstance(node, dict):
        return node
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o != {"type": "null"}]
        if len(options) == 1:
            rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
            return _clean({**options[0], **rest}, rename, refs)
        if {o.get("type") for o in options} == {"integer", "string"}:
            return dict(INT_OR_STRING)  # intstr.IntOrString
    out = {}
    for k, v in node.items():
        if k in ("title", "default") or (k == "required" and not v):
            continue
        if k == "$ref":
            out[k] = refs + rename[v.rsplit("/", 1)[-1]]
        elif k == "contentEncoding":
            out["format"] = "byte"  # []byte is base64 in JSON
        else:
            out[k] = _clean(v, rename, refs)
    return out


def _patch_tags(cls: type, schema: dict[str, Any]) -> None:
    """patchStrategy / patchMergeKey struct tags as the OpenAPI extensions upstream emits."""
    fields = patchmeta.FIELDS.get(cls.__name__)
    if fields is None and cls.__name__.endswith("Status"):
        fields = patchmeta.FIELDS["ConditionsStatus"]
    props = schema.get("properties", {})
    for name, (_, strategy, merge_key) in (fields or {}).items():
        if name in props and strategy:
            if merge_key:
                props[name]["x-kubernetes-patch-merge-key"] = merge_key
            props[name]["x-kubernetes-patch-strategy"] = strategy


@cache
def group_version_schemas(
    group: str, version: str, refs: str
) -> tuple[tuple[ResourceInfo, ...], dict[str, Any]]:
    """The walk over one group version's Structs: its resources and named schemas.

    `refs` is where a `$ref` points (#/components/schemas/ for v3, #/definitions/ for v2).
    """
    resources = tuple(
        r
        for r in served_resources(scheme.SCHEME)
        if (r.gvk.group, r.gvk.version) == (group, version)
    )
    types = [t for r in resources for t in (r.type, r.list_type) if t is not None]
    _, comps = msgspec.json.schema_components(
        types, schema_hook=_schema_hook, ref_template="{name}"
    )
    classes = _struct_classes(types)
    rename = {name: definition_name(classes[name]) for name in comps}
    schemas = {rename[n]: _clean(s, rename, refs) for n, s in comps.items()}
    for name, cls in classes.items():
        _patch_tags(cls, schemas[rename[name]])
    for r in resources:
        for t, kind in ((r.type, r.gvk.kind), (r.list_type, r.gvk.kind + "List")):
            gvk = {"group": group, "version": version, "kind": kind}
            schemas[rename[t.__name__]]["x-kubernetes-group-version-kind"] = [gvk]  # type: ignore[union-attr]
    return resources, schemas


def _op(action: str, info: ResourceInfo, ref: str, params: list[str]) -> dict[str, Any]:
    gvk = info.gvk
    return {
        "operationId": f"{action}{gvk.kind}",
        "parameters": [
            {"name": p, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
            for p in params
        ],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": gvk.group,
            "version": gvk.version,
            "kind": gvk.kind,
        },
    }


WRITE_PARAMS = ["dryRun", "fieldManager", "fieldValidation"]
LIST_PARAMS = ["allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "watch"]  # fmt: skip


def _paths(info: ResourceInfo, ref: str) -> dict[str, Any]:
    gvk = info.gvk
    base = f"/apis/{gvk.group}/{gvk.version}" if gvk.group else f"/api/{gvk.version}"
    coll = (
        f"{base}/namespaces/{{namespace}}/{info.resource}"
        if info.namespaced
        else f"{base}/{info.resource}"
    )
    item = coll + "/{name}"
    paths = {
        coll: {
            "get": _op("list", info, ref, LIST_PARAMS),
            "post": _op("post", info, ref, WRITE_PARAMS),
            "delete": _op(
                "deletecollection", info, ref, ["dryRun", "gracePeriodSeconds", "propagationPolicy"]
            ),
        },
        item: {
            "get": _op("get", info, ref, []),
            "put": _op("put", info, ref, WRITE_PARAMS),
            "patch": _op("patch", info, ref, [*WRITE_PARAMS, "force"]),
            "delete": _op(
                "delete", info, ref, ["dryRun", "gracePeriodSeconds", "propagationPolicy"]
            ),
        },
    }
    if "status" in info.subresources:
        paths[item + "/status"] = {
            "get": _op("get", info, ref, []),
            "put": _op("put", info, ref, WRITE_PARAMS),
            "patch": _op("patch", info, ref, [*WRITE_PARAMS, "force"]),
        }
    return paths


@cache
def group_version_document(group: str, version: str) -> bytes | None:
    resources, schemas = group_version_schemas(group, version, V3_REFS)
    if not resources:
        return None
    paths: dict[str, Any] = {}
    for r in resources:
        paths.update(_paths(r, V3_REFS + definition_name(r.type)))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@cache
def index() -> bytes:
    """The /openapi/v3 discovery: each group version's document URL with its content hash."""
    paths = {}
    for gv in sorted({(r.gvk.group, r.gvk.version) for r in served_resources(scheme.SCHEME)}):
        doc = group_version_document(*gv) or b""
        digest = hashlib.sha512(doc).hexdigest().upper()[:128]
        paths[_gv_path(*gv)] = {"serverRelativeURL": f"/openapi/v3/{_gv_path(*gv)}?hash={digest}"}
    return json.dumps({"paths": paths}, separators=(",", ":")).encode()


def serve(path: str) -> bytes | None:
    """The document for a path under /openapi/v3, or None."""
    rest = path.removeprefix("/openapi/v3").strip("/")
    if not rest:
        return index()
    parts = rest.split("/")
    if parts[0] == "api" and len(parts) == 2:
        return group_version_document("", parts[1])
    if parts[0] == "apis" and len(parts) == 3:
        return group_version_document(parts[1], parts[2])
    return None
