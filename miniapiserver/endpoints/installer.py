"""Route a resource request to its handler by verb and subresource.

Mirrors k8s.io/apiserver/pkg/endpoints/installer.go (APIInstaller.registerResourceHandlers:
which verbs and subresources each resource serves; 404 for an unknown
resource or subresource, 405 for a verb the resource does not support).
"""

from __future__ import annotations

from aiohttp import web

from miniapi import errors
from miniapi.meta.v1 import Status
from miniapi.runtime import GroupResource, ResourceInfo, Scheme
from miniapiserver.apiextensions import scale as cr_scale
from miniapiserver.endpoints import negotiation
from miniapiserver.endpoints.handlers import (
    create,
    delete,
    get,
    patch,
    pod_exec,
    subresources,
    update,
    watch,
)
from miniapiserver.endpoints.handlers.rest import RequestScope
from miniapiserver.endpoints.requestinfo import RequestInfo
from miniapiserver.registry import pod_log
from miniapiserver.registry.store import RegistryStore

# subresource -> verbs it serves
SUBRESOURCE_VERBS = {
    "status": ("get", "update", "patch"),
    "scale": ("get", "update", "patch"),
    "binding": ("create",),
    "eviction": ("create",),
    "finalize": ("update",),
    "log": ("get",),
    "exec": ("get", "create"),
    "token": ("create",),
}


def not_found() -> errors.StatusError:
    """The 404 for a path no handler serves (the mux's NotFound Status)."""
    return errors.from_status(
        Status(
            kind="Status",
            api_version="v1",
            status="Failure",
            message="the server could not find the requested resource",
            reason="NotFound",
            code=404,
        )
    )


def lookup(scheme: Scheme, ri: RequestInfo) -> ResourceInfo:
    """The served resource at /api(s)/<group>/<version>/<plural>, else 404."""
    for info in scheme.resources():
        gvk = info.gvk
        if (gvk.group, gvk.version, info.resource) == (ri.api_group, ri.api_version, ri.resource):
            if info.list_type is None or (ri.api_prefix == "api") == bool(gvk.group):
                break
            return info
    raise not_found()


def _check(ri: RequestInfo, info: ResourceInfo) -> None:
    if len(ri.parts) > 3:
        raise not_found()
    if ri.subresource:
        verbs = SUBRESOURCE_VERBS.get(ri.subresource)
        if (
            verbs is None
            or ri.subresource not in info.subresources
            and ri.subresource != "finalize"
        ):
            raise not_found()
        if ri.verb not in verbs:
            raise errors.new_method_not_supported(info.group_resource, ri.verb)
        return
    if ri.verb not in info.verbs:
        gr = GroupResource(info.gvk.group, info.resource)
        raise errors.new_method_not_supported(gr, ri.verb)
    if info.namespaced and ri.name and not ri.namespace and ri.verb not in ("list", "watch"):
        raise not_found()


async def serve(
    request: web.Request, ri: RequestInfo, scheme: Scheme, stores: dict[str, RegistryStore]
) -> web.StreamResponse:
    info = lookup(scheme, ri)
    _check(ri, info)
    is_list = ri.verb in ("list", "watch", "deletecollection")
    output = negotiation.negotiate_output(request.headers.get("Accept"), is_list)
    # One store per resource, in its storage version; another served version gets a
    # converting view of it (registry/versioned.py).
    store = stores[f"{info.gvk.group}/{info.resource}"].for_version(info)
    scope = RequestScope(request, ri, info, store, output)
    sub = ri.subresource
    if sub == "scale" and getattr(info, "scale_paths", ()):
        return await cr_scale.serve_scale(scope, dict(info.scale_paths))  # type: ignore[attr-defined]
    if sub in ("scale",):
        return await subresources.scale(scope)
    if sub == "binding":
        return await subresources.binding(scope)
    if sub == "eviction":
        return await subresources.eviction(scope)
    if sub == "finalize":
        return await subresources.finalize(scope)
    if sub == "token":
        return await subresources.token(scope)
    if sub == "log":
        pod = await scope.store.get(ri.namespace, ri.name)
        return await pod_log.get_log(request, pod, stores["/nodes"])
    if sub == "exec":
        pod = await scope.store.get(ri.namespace, ri.name)
        return await pod_exec.connect(request, pod, stores["/nodes"])
    handler = {
        "get": get.get_resource,
        "list": get.list_resource,
        "watch": watch.serve_watch,
        "create": create.create_resource,
        "update": update.update_resource,
        "patch": patch.patch_resource,
        "delete": delete.delete_resource,
        "deletecollection": delete.delete_collection,
    }[ri.verb]
    return await handler(scope)
