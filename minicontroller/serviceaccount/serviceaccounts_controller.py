"""The ServiceAccounts controller: every active namespace has its "default" ServiceAccount.

Mirrors k8s.io/kubernetes/pkg/controller/serviceaccount/serviceaccounts_controller.go
(namespace add/update and ServiceAccount delete handlers queue the namespace;
syncNamespace creates the missing accounts of serviceAccountsToEnsure, ignoring
AlreadyExists and a namespace that started terminating). Why it matters: the API
server's ServiceAccount admission plugin gives every pod `spec.serviceAccountName:
default` and refuses pods whose account does not exist, so without this controller
no pod could be created once that plugin is on.
Omitted: the token controller (legacy Secret-based tokens are gone upstream too).
"""

from __future__ import annotations

import logging
from typing import Any

from miniapi import errors
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.shared_informer import wait_for_cache_sync
from miniclient.cache.store import DeletedFinalStateUnknown
from miniclient.informers import SharedInformerFactory
from miniclient.rest import Client
from miniclient.workqueue import RateLimitingQueue
from minicontroller.worker import run_workers

__all__ = ["DEFAULT_SERVICE_ACCOUNTS", "ServiceAccountsController"]

log = logging.getLogger("minicontroller.serviceaccount")

# DefaultServiceAccountsControllerOptions: just "default".
DEFAULT_SERVICE_ACCOUNTS = ("default",)


class ServiceAccountsController:
    def __init__(
        self,
        client: Client,
        factory: SharedInformerFactory,
        ensure: tuple[str, ...] = DEFAULT_SERVICE_ACCOUNTS,
    ) -> None:
        self.sa_client = client.resource(corev1.ServiceAccount)
        self.ns_informer = factory.for_resource(corev1.Namespace)
        self.sa_informer = factory.for_resource(corev1.ServiceAccount)
        self.ensure = ensure
        self.queue = RateLimitingQueue(name="serviceaccount")
        self.ns_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                self.namespace_added, lambda _o, cur: self.namespace_added(cur)
            )
        )
        self.sa_informer.add_event_handler(
            ResourceEventHandlerFuncs(None, None, self.service_account_deleted)
        )

    def namespace_added(self, ns: corev1.Namespace) -> None:
        self.queue.add(ns.metadata.name)

    def service_account_deleted(self, obj: Any) -> None:
        sa = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if sa is not None and sa.metadata.name in self.ensure:
            self.queue.add(sa.metadata.namespace)

    async def run(self, workers: int) -> None:
        await wait_for_cache_sync(self.ns_informer, self.sa_informer)
        await run_workers(self.queue, self.sync_namespace, workers, log)

    async def sync_namespace(self, name: str) -> None:
        ns = self.ns_informer.indexer.get_by_key(name)
        if ns is None or ns.status.phase != corev1.NAMESPACE_ACTIVE:
            return  # gone, or terminating: creating accounts there is pointless
        failures: list[errors.StatusError] = []
        for sa_name in self.ensure:
            if self.sa_informer.indexer.get_by_key(f"{name}/{sa_name}") is not None:
                continue
            sa = corev1.ServiceAccount(metadata=metav1.ObjectMeta(name=sa_name, namespace=name))
            try:
                await self.sa_client.create(sa, name)
            except errors.StatusError as e:
                # AlreadyExists: our cache lagged. Forbidden: the namespace began terminating.
                if not (
                    errors.is_already_exists(e)
                    or errors.has_status_cause(e, corev1.NAMESPACE_TERMINATING_CAUSE)
                ):
                    failures.append(e)
        if failures:
            raise failures[0]
