"""The scale, binding, eviction and finalize subresources.

Mirrors kubernetes/pkg/registry/apps/deployment/storage/storage.go and
replicaset/storage (ScaleREST: autoscaling/v1 Scale in and out of
spec.replicas), pkg/registry/core/pod/storage/storage.go (BindingREST.Create:
set spec.nodeName once, 409 when already bound; EvictionREST: delete the pod
with the eviction's DeleteOptions) and core/namespace/storage (FinalizeREST:
only spec.finalizers changes). Omitted: PodDisruptionBudget checks in eviction.
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
from miniapiserver.registry import delete as registry_delete
from miniapiserver.registry.token_request import TOKEN_REST

Obj = dict[str, Any]


def to_scale(obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = obj.get("spec", {}).get("selector", {}).get("matchLabels", {})
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 1)},
        "status": {
            "replicas": obj.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


async def scale(scope: RequestScope) -> web.Response:
    info, store = scope.info, scope.store
    if scope.info.verb == "get":
        return responsewriters.response(
            to_scale(await store.get(info.namespace, info.name)), scope.output
        )
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
        wanted = (
            body
            if info.verb == "update"
            else apply_patch("Scale", patch_type, to_scale(current), patch)
        )
        replicas = wanted.get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.new_bad_request(f"invalid replicas in Scale: {replicas!r}")
        rv = wanted.get("metadata", {}).get("resourceVersion")
        new = copy.deepcopy(current)
        if rv:
            new["metadata"]["resourceVersion"] = rv
        new.setdefault("spec", {})["replicas"] = replicas
        return new

    out, _ = await store.update(info.namespace, info.name, updater, "", dry_run)
    return responsewriters.response(to_scale(out), scope.output)


async def binding(scope: RequestScope) -> web.Response:
    """POST pods/<name>/binding (or a Binding to pods' parent collection)."""
    body = await decode_object(scope)
    target = body.get("target", {}).get("name", "")
    name = scope.info.name or body.get("metadata", {}).get("name", "")
    if not target:
        raise errors.new_bad_request("a Binding needs target.name")

    def updater(current: Obj | None) -> Obj:
        if current is None:
            raise errors.new_not_found(scope.store.gr, name)
        if current.get("metadata", {}).get("deletionTimestamp"):
            raise errors.new_conflict(
                scope.store.gr, name, f"pod {name} is being deleted, cannot be assigned to a host"
            )
        bound = current.get("spec", {}).get("nodeName")
        if bound:
            raise errors.new_conflict(
                scope.store.gr, name, f'pod {name} is already assigned to node "{bound}"'
            )
        current.setdefault("spec", {})["nodeName"] = target
        conds = current.setdefault("status", {}).setdefault("conditions", [])
        conds[:] = [c for c in conds if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True"})
        return current

    await scope.store.update(scope.info.namespace, name, updater, "binding")
    body = responsewriters.success_status()
    body["code"] = 201
    return responsewriters.response(body, scope.output, status=201)


async def eviction(scope: RequestScope) -> web.Response:
    body = await decode_object(scope)
    options = body.get("deleteOptions") or {}
    await registry_delete.delete(scope.store, scope.info.namespace, scope.info.name, options)
    status = responsewriters.success_status()
    status["code"] = 201
    return responsewriters.response(status, scope.output, status=201)


async def finalize(scope: RequestScope) -> web.Response:
    """PUT namespaces/<name>/finalize: replace spec.finalizers only."""
    body = await decode_object(scope)
    finalizers = body.get("spec", {}).get("finalizers", [])

    def updater(current: Obj | None) -> Obj:
        if current is None:
            raise errors.new_not_found(scope.store.gr, scope.info.name)
        current.setdefault("spec", {})["finalizers"] = list(finalizers)
        if not finalizers:
            del current["spec"]["finalizers"]
        return current

    out, _ = await scope.store.update("", scope.info.name, updater, "finalize")
    return responsewriters.response(out, scope.output)


async def token(scope: RequestScope) -> web.Response:
    """POST serviceaccounts/<name>/token (registry/token_request.py): 201 with the token."""
    from miniapiserver.endpoints.installer import not_found  # installer imports this module

    rest = scope.request.app.get(TOKEN_REST)
    if rest is None:  # no signing key: upstream does not install the subresource
        raise not_found()
    req = await decode_object(scope)
    if (req.get("apiVersion"), req.get("kind")) not in (
        ("authentication.k8s.io/v1", "TokenRequest"),
        (None, None),
    ):
        raise errors.new_bad_request(
            f'{req.get("kind")} in version "{req.get("apiVersion")}" cannot be handled as a '
            "TokenRequest"
        )
    out = await rest.create(scope.info.namespace, scope.info.name, req)
    return responsewriters.response(out, scope.output, status=201)
