"""OpenAPI v3 documents generated from miniapi's types: /openapi/v3 and /openapi/v3/<gv>.

Mirrors k8s.io/kube-openapi/pkg/handler3 (the index of group versions with
serverRelativeURL and hash, one document per group version) and what
k8s.io/apiserver/pkg/endpoints/openapi builds per resource: paths with
operations tagged x-kubernetes-action and x-kubernetes-group-version-kind,
the query parameters (dryRun, fieldManager, fieldValidation...), and
components.schemas named io.k8s.api.<group>.<version>.<Kind>. Schemas come
from the msgspec Structs (types and property names; descriptions are the
types' docstrings). kubectl uses these for `explain`, and to learn that
PATCH accepts fieldValidation (so `apply` validates on the server).
Omitted: /openapi/v2 (swagger 2.0), per-field descriptions.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import msgspec

from miniapi import scheme
from miniapi.meta import v1 as metav1
from miniapi.meta.v1.time import MicroTime
from miniapi.resource import Quantity
from miniapi.runtime import ResourceInfo
from miniapiserver.endpoints.discovery import served_resources

META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta.v1."
GROUP_PACKAGES = {"apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions."}


def _schema_hook(t: type) -> dict[str, Any]:
    if t is Quantity:
        return {"type": "string", "x-kubernetes-int-or-string": True}
    if t is MicroTime:
        return {"type": "string", "format": "date-time"}
    raise TypeError(f"no OpenAPI schema for {t!r}")


def _package(group: str, version: str) -> str:
    if group in GROUP_PACKAGES:
        return GROUP_PACKAGES[group] + version + "."
    short = group.split(".")[0] if group else "core"
    return f"io.k8s.api.{short}.{version}."


def _clean(node: Any, rename: dict[str, str]) -> Any:
    """msgspec's schema -> kube-openapi's shape: no null unions, titles or defaults."""
    if isinstance(node, list):
        return [_clean(n, rename) for n in node]
    if not isinstance(node, dict):
        return node
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o != {"type": "null"}]
        if len(options) == 1:
            return _clean(
                {**options[0], **{k: v for k, v in node.items() if k not in ("anyOf", "default")}},
                rename,
            )
    out = {}
    for k, v in node.items():
        if k in ("title", "default") or (k == "required" and not v):
            continue
        if k == "$ref":
            out[k] = "#/components/schemas/" + rename[v.rsplit("/", 1)[-1]]
        else:
            out[k] = _clean(v, rename)
    return out


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
    resources = [
        r
        for r in served_resources(scheme.SCHEME)
        if (r.gvk.group, r.gvk.version) == (group, version)
    ]
    if not resources:
        return None
    types = [r.type for r in resources]
    _, comps = msgspec.json.schema_components(
        types, schema_hook=_schema_hook, ref_template="{name}"
    )
    rename = {}
    for name in comps:
        rename[name] = (META_PREFIX if hasattr(metav1, name) else _package(group, version)) + name
    schemas = {rename[n]: _clean(s, rename) for n, s in comps.items()}
    paths: dict[str, Any] = {}
    for r in resources:
        full = rename[r.type.__name__]
        gvk = {"group": group, "version": version, "kind": r.gvk.kind}
        schemas[full]["x-kubernetes-group-version-kind"] = [gvk]
        paths.update(_paths(r, "#/components/schemas/" + full))
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
