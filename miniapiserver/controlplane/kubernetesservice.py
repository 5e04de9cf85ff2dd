"""The `kubernetes` Service in `default`, and its Endpoints and EndpointSlice.

Mirrors pkg/controlplane/controller/kubernetesservice/controller.go
(UpdateKubernetesService, CreateOrUpdateMasterServiceIfNeeded: ClusterIP =
the first address of the service range, port 443 `https` to the secure port)
and pkg/controlplane/reconcilers/endpointsadapter.go (Sync: Endpoints with the
skip-mirror label, one EndpointSlice named `kubernetes` with the
service-name label and a ready endpoint per API server address). Pure
builders plus one async reconcile, run at start and then every interval, so a
deleted object comes back. Omitted: the lease reconciler's multi-server
bookkeeping (one API server writes its own address), dual-stack slices.
"""

from __future__ import annotations

import asyncio
import logging

from miniapi import errors
from miniapiserver.registry.store import RegistryStore
from miniapiserver.storage.interfaces import Obj

log = logging.getLogger(__name__)

NAMESPACE, NAME = "default", "kubernetes"
LABELS = {"component": "apiserver", "provider": "kubernetes"}
SKIP_MIRROR = {"endpointslice.kubernetes.io/skip-mirror": "true"}


def kubernetes_service(cluster_ip: str, secure_port: int) -> Obj:
    """The master service: headful ClusterIP, no selector (its endpoints are written here)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {
            "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": secure_port}],
            "clusterIP": cluster_ip,
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
    }


def kubernetes_endpoints(ip: str, port: int) -> Obj:
    subset = {
        "addresses": [{"ip": ip}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(SKIP_MIRROR)},
        "subsets": [subset],
    }


def kubernetes_endpoint_slice(ip: str, port: int) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"kubernetes.io/service-name": NAME},
        },
        "addressType": "IPv6" if ":" in ip else "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }


async def _ensure(store: RegistryStore, want: Obj, fields: tuple[str, ...]) -> None:
    """Create when missing; reset the given top-level fields (and labels) when they drifted."""
    try:
        await store.create(NAMESPACE, want)
        return
    except errors.StatusError as e:
        if e.code != 409:
            raise

    def update(current: Obj | None) -> Obj:
        if current is None:
            raise errors.new_not_found(store.gr, NAME)
        for f in fields:
            current[f] = want[f]
        current["metadata"]["labels"] = want["metadata"]["labels"]
        return current

    await store.update(NAMESPACE, NAME, update)


async def _ensure_service(store: RegistryStore, want: Obj) -> None:
    """Get, and create only when missing (a create would first try to take the IP again);
    otherwise only the ports are reconciled, as upstream."""
    try:
        current = await store.get(NAMESPACE, NAME)
    except errors.StatusError as e:
        if e.code != 404:
            raise
        await store.create(NAMESPACE, want)
        return
    if current.get("spec", {}).get("ports") == want["spec"]["ports"]:
        return

    def update(cur: Obj | None) -> Obj:
        if cur is None:
            raise errors.new_not_found(store.gr, NAME)
        cur["spec"]["ports"] = want["spec"]["ports"]
        return cur

    await store.update(NAMESPACE, NAME, update)


class Controller:
    """kubernetesservice.Controller plus the endpoint reconciler, for one API server."""

    def __init__(
        self, stores: dict[str, RegistryStore], cluster_ip: str, advertise: str, port: int
    ) -> None:
        self.stores = stores
        self.cluster_ip, self.advertise, self.port = cluster_ip, advertise, port

    async def reconcile(self) -> None:
        await _ensure_service(
            self.stores["/services"], kubernetes_service(self.cluster_ip, self.port)
        )
        await _ensure(
            self.stores["/endpoints"], kubernetes_endpoints(self.advertise, self.port), ("subsets",)
        )
        await _ensure(
            self.stores["discovery.k8s.io/endpointslices"],
            kubernetes_endpoint_slice(self.advertise, self.port),
            ("addressType", "endpoints", "ports"),
        )

    async def run(self, interval: float) -> None:
        """Reconcile every interval until cancelled; errors are logged and retried."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reconcile()
            except Exception as e:  # etcd away or a racing writer: try again next round
                log.warning("reconciling the kubernetes service: %s", e)
