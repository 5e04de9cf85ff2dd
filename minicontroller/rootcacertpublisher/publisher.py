"""The root CA publisher: every active namespace has a `kube-root-ca.crt` ConfigMap.

Mirrors k8s.io/kubernetes/pkg/controller/certificates/rootcacertpublisher/publisher.go
(namespace add/update queue the namespace; a deleted or altered `kube-root-ca.crt`
queues its namespace again; syncNamespace creates the ConfigMap with `ca.crt` = the
controller manager's --root-ca-file, or rewrites its data and description annotation
when they drifted). Why it matters: the ServiceAccount admission plugin mounts a
projected volume into every pod whose `ca.crt` comes from this ConfigMap, so a pod
can verify the API server it talks to; without it the kubelet cannot build the volume.
Omitted: the publish metrics (sync counts and durations).
"""

from __future__ import annotations

import logging
from typing import Any

from miniapi import errors
from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.shared_informer import wait_for_cache_sync
from miniclient.cache.store import DeletedFinalStateUnknown
from miniclient.informers import SharedInformerFactory
from miniclient.rest import Client
from miniclient.workqueue import RateLimitingQueue
from minicontroller.worker import run_workers

log = logging.getLogger("minicontroller.rootcacertpublisher")

ROOT_CA_CONFIG_MAP_NAME = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
# Our words; upstream's annotation says the same: what the bundle is for.
DESCRIPTION = (
    "The CA bundle that verifies the kube-apiserver at its in-cluster addresses "
    "(the kubernetes Service IP, kubernetes.default.svc)."
)


class Publisher:
    def __init__(self, client: Client, factory: SharedInformerFactory, root_ca: str) -> None:
        self.cm_client = client.resource(corev1.ConfigMap)
        self.ns_informer = factory.for_resource(corev1.Namespace)
        self.cm_informer = factory.for_resource(corev1.ConfigMap)
        self.root_ca = root_ca
        self.queue = RateLimitingQueue(name="root_ca_cert_publisher")
        self.ns_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                self.namespace_added, lambda _o, cur: self.namespace_added(cur)
            )
        )
        self.cm_informer.add_event_handler(
            ResourceEventHandlerFuncs(None, self.config_map_updated, self.config_map_deleted)
        )

    def namespace_added(self, ns: corev1.Namespace) -> None:
        self.queue.add(ns.metadata.name)

    def config_map_updated(self, old: corev1.ConfigMap, cur: corev1.ConfigMap) -> None:
        if cur.metadata.name == ROOT_CA_CONFIG_MAP_NAME and old.data != cur.data:
            self.queue.add(cur.metadata.namespace)

    def config_map_deleted(self, obj: Any) -> None:
        cm = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if cm is not None and cm.metadata.name == ROOT_CA_CONFIG_MAP_NAME:
            self.queue.add(cm.metadata.namespace)

    async def run(self, workers: int) -> None:
        await wait_for_cache_sync(self.ns_informer, self.cm_informer)
        await run_workers(self.queue, self.sync_namespace, workers, log)

    async def sync_namespace(self, name: str) -> None:
        ns = self.ns_informer.indexer.get_by_key(name)
        if ns is None or ns.status.phase != corev1.NAMESPACE_ACTIVE:
            return
        want = {"ca.crt": self.root_ca}
        cm = self.cm_informer.indexer.get_by_key(f"{name}/{ROOT_CA_CONFIG_MAP_NAME}")
        try:
            if cm is None:
                meta = metav1.ObjectMeta(
                    name=ROOT_CA_CONFIG_MAP_NAME,
                    namespace=name,
                    annotations={DESCRIPTION_ANNOTATION: DESCRIPTION},
                )
                await self.cm_client.create(corev1.ConfigMap(metadata=meta, data=want), name)
                return
            if cm.data == want and DESCRIPTION_ANNOTATION in cm.metadata.annotations:
                return
            annotations = {**cm.metadata.annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}
            meta = replace(cm.metadata, annotations=annotations)
            await self.cm_client.update(replace(cm, metadata=meta, data=want))
        except errors.StatusError as e:
            # AlreadyExists: our cache lagged. Forbidden: the namespace began terminating.
            if not (
                errors.is_already_exists(e)
                or errors.has_status_cause(e, corev1.NAMESPACE_TERMINATING_CAUSE)
            ):
                raise
