"""The /scale subresource of a custom resource: autoscaling/v1 Scale over JSON paths.

Mirrors k8s.io/apiextensions-apiserver/pkg/registry/customresource/etcd.go
(ScaleREST: Get, Update; scaleFromCustomResource reads specReplicasPath,
statusReplicasPath and labelSelectorPath; scaleUpdatedObjectInfo writes the new
replicas at specReplicasPath). Paths are the CRD's simple `.a.b` JSONPaths.
Omitted: the scale subresource's managedFields handling.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from miniapi import errors
from miniapiserver.endpoints import negotiation, responsewriters
from miniapiserver.endpoints.handlers.patch import apply_patch
from miniapiserver.endpoints.handlers.rest import (
    RequestScope,
    decode_body,
    decode_object,
    read_body,
)

Obj = dict[str, Any]


def _parts(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def get_path(obj: Any, path: str) -> Any:
    for p in _parts(path):
        obj = obj.get(p) if isinstance(obj, dict) else None
    return obj


def set_path(obj: Obj, path: str, value: Any) -> None:
    *parents, last = _parts(path)
    for p in parents:
        obj = obj.setdefault(p, {})
    obj[last] = value


def scale_from_custom_resource(obj: Obj, paths: dict) -> Obj:
    """scaleFromCustomResource: the Scale a custom resource's replica fields describe."""
    meta = obj["metadata"]
    status: Obj = {"replicas": get_path(obj, paths.get("statusReplicasPath", "")) or 0}
    selector = get_path(obj, paths.get("labelSelectorPath") or "")
    if isinstance(selector, str) and selector:
        status["selector"] = selector
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                           "creationTimestamp") if k in meta},
        "spec": {"replicas": get_path(obj, paths["specReplicasPath"]) or 0},
        "status": status,
    }  # fmt: skip


async def serve_scale(scope: RequestScope, paths: dict) -> web.Response:
    """GET, PUT or PATCH of <plural>/<name>/scale."""
    info, store = scope.info, scope.store
    if info.verb == "get":
        obj = await store.get(info.namespace, info.name)
        return responsewriters.response(scale_from_custom_resource(obj, paths), scope.output)
    dry_run = scope.dry_run()
    if info.verb == "update":
        body = await decode_object(scope)
    else:
        patch_type = negotiation.negotiate_input(
            scope.request.headers.get("Content-Type"), negotiation.PATCH_TYPES
        )
        patch = decode_body(await read_body(scope.request), negotiation.JSON)

    def updater(current: Obj | None) -> Obj:
        if current is None:
            raise errors.new_not_found(store.gr, info.name)
        scale = scale_from_custom_resource(current, paths)
        wanted = body if info.verb == "update" else apply_patch("Scale", patch_type, scale, patch)
        replicas = (wanted.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.new_bad_request(f"invalid replicas in Scale: {replicas!r}")
        new = copy.deepcopy(current)
        rv = (wanted.get("metadata") or {}).get("resourceVersion")
        if rv:
            new["metadata"]["resourceVersion"] = rv
        set_path(new, paths["specReplicasPath"], replicas)
        return new

    out, _ = await store.update(info.namespace, info.name, updater, "", dry_run)
    return responsewriters.response(scale_from_custom_resource(out, paths), scope.output)
