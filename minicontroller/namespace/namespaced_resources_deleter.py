"""Empty a terminating namespace, then release its `kubernetes` finalizer.

Mirrors k8s.io/kubernetes/pkg/controller/namespace/deletion/
namespaced_resources_deleter.go (Delete: re-read the namespace, skip it unless
it is terminating and still carries the finalizer; deleteAllContent: a
deletecollection per namespaced resource that supports it, then a list to
see what remains; finalizeNamespace through the `finalize` subresource).
Content still present (pods in their grace period, objects held by
finalizers) raises ContentRemaining so the controller retries later.
Omitted: API discovery (the resources are the kinds miniapi registers, so
CRDs are not emptied), the NamespaceDeletion* status conditions, the
remaining-time estimate for pods, and the orphan-finalizer legacy path.
"""

from __future__ import annotations

import json
from typing import Any

from miniapi import errors, scheme
from miniapi.core import v1 as corev1
from miniapi.runtime import ResourceInfo
from miniclient.rest import Client

__all__ = ["FINALIZER_KUBERNETES", "ContentRemaining", "NamespacedResourcesDeleter"]

FINALIZER_KUBERNETES = "kubernetes"


class ContentRemaining(Exception):
    """ResourcesRemainingError: some content is not gone yet; retry later."""


def deletable_resources() -> list[ResourceInfo]:
    """Namespaced resources that can be listed and deleted as a collection."""
    return [
        r
        for r in scheme.SCHEME.resources()
        if r.namespaced and {"list", "deletecollection"} <= set(r.verbs)
    ]


class NamespacedResourcesDeleter:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.namespaces = client.resource(corev1.Namespace)

    async def delete(self, name: str) -> None:
        """Delete everything in the terminating namespace name, then finalize it."""
        try:
            ns = await self.namespaces.get(name)
        except errors.StatusError as e:
            if errors.is_not_found(e):
                return
            raise
        if ns.metadata.deletion_timestamp is None:
            return
        if FINALIZER_KUBERNETES not in ns.spec.finalizers:
            return
        remaining = await self.delete_all_content(name)
        if remaining:
            raise ContentRemaining(
                f"some content remains in namespace {name}: {', '.join(sorted(remaining))}"
            )
        await self.finalize_namespace(ns)

    async def delete_all_content(self, namespace: str) -> dict[str, int]:
        """deleteCollection every resource, then count what is left, per resource."""
        remaining: dict[str, int] = {}
        for info in deletable_resources():
            rc = self.client.resource(info.gvr, namespaced=True)
            options = {
                "apiVersion": "v1",
                "kind": "DeleteOptions",
                "propagationPolicy": "Background",
            }
            await self.client.request(
                "DELETE", rc.path(namespace), body=json.dumps(options).encode()
            )
            left = await rc.list(namespace)
            if left.get("items"):
                remaining[str(info.group_resource)] = len(left["items"])
        return remaining

    async def finalize_namespace(self, ns: Any) -> None:
        """PUT namespaces/{name}/finalize without our finalizer; the server then removes it."""
        rest = [f for f in ns.spec.finalizers if f != FINALIZER_KUBERNETES]
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns.metadata.name, "resourceVersion": ns.metadata.resource_version},
            "spec": {"finalizers": rest},
        }
        try:
            await self.client.request(
                "PUT",
                self.namespaces.path("", ns.metadata.name, "finalize"),
                body=json.dumps(body).encode(),
            )
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                raise
