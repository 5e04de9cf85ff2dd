"""Wire the API server together: etcd client, storage, registries, caches, HTTP(S).

Mirrors cmd/kube-apiserver/app/server.go (CreateServerChain, Run) and the
storage factory of k8s.io/apiserver/pkg/server/storage: one etcd client and
store for all resources, a generic registry (with its watch cache) per
resource, the system namespaces created at start (pkg/controlplane's
SystemNamespaces via the bootstrap controller) and the compactor.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from miniapi import errors, scheme
from miniapiserver.auth.authn import Authenticator
from miniapiserver.etcd.client import Client
from miniapiserver.registry.store import RegistryStore
from miniapiserver.server import APIServer
from miniapiserver.storage.compact import compactor
from miniapiserver.storage.etcd3_store import Store

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass
class Config:
    etcd_servers: list[str]
    bind_address: str = "127.0.0.1"
    secure_port: int = 6443
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    client_ca_file: str = ""
    authenticator: Authenticator | None = None
    etcd_prefix: str = "/registry"
    etcd_compaction_interval: float = 300.0
    watch_cache_capacity: int = 1000
    bookmark_interval: float = 60.0
    max_requests_inflight: int = 400
    max_mutating_requests_inflight: int = 200


class Running:
    """A started API server; `stop()` undoes `start()`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.client = Client(config.etcd_servers)
        self.storage = Store(self.client, config.etcd_prefix)
        self.rng = random.Random()
        self.stores: dict[str, RegistryStore] = {}
        self.runner: web.AppRunner | None = None
        self.tasks: list[asyncio.Task] = []
        self.port = config.secure_port

    def _build_stores(self) -> None:
        for info in scheme.SCHEME.resources():
            if info.list_type is None:
                continue
            store = RegistryStore(
                info, self.storage, lambda: datetime.now(UTC), self.rng,
                self.config.watch_cache_capacity, self.config.bookmark_interval,
            )  # fmt: skip
            store.admit_namespace = self.admit_namespace
            self.stores[f"{info.gvk.group}/{info.resource}"] = store

    async def admit_namespace(self, namespace: str) -> None:
        """The NamespaceLifecycle admission plugin: no new objects in missing or terminating namespaces."""
        ns_store = self.stores["/namespaces"]
        ns = await ns_store.cacher.get(ns_store.key("", namespace))
        if ns is None:
            ns = await ns_store.storage.get(ns_store.key("", namespace), ignore_not_found=True)
        if ns is None:
            raise errors.new_not_found(ns_store.gr, namespace)
        if (
            ns.get("metadata", {}).get("deletionTimestamp")
            or ns.get("status", {}).get("phase") == "Terminating"
        ):
            gr = ns_store.gr
            msg = f"unable to create new content in namespace {namespace} because it is being terminated"
            raise errors.new_forbidden(gr, namespace, msg)

    async def start(self) -> None:
        await self.client.connect()
        await self.client.wait_ready()
        self._build_stores()
        for store in self.stores.values():
            store.cacher.start()
        await asyncio.gather(*(s.cacher.ready.wait() for s in self.stores.values()))
        await self._system_namespaces()
        self.tasks.append(
            asyncio.create_task(compactor(self.client, self.config.etcd_compaction_interval))
        )
        server = APIServer(
            self.storage, self.stores, self.config.authenticator,
            max_requests_inflight=self.config.max_requests_inflight,
            max_mutating_requests_inflight=self.config.max_mutating_requests_inflight,
        )  # fmt: skip
        self.runner = web.AppRunner(server.app(), handle_signals=False, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(
            self.runner, self.config.bind_address, self.config.secure_port, ssl_context=self._ssl()
        )
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        server.address = f"{self.config.bind_address}:{self.port}"

    def _ssl(self) -> ssl.SSLContext | None:
        if not self.config.tls_cert_file:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.config.tls_cert_file, self.config.tls_private_key_file)
        if self.config.client_ca_file:
            ctx.load_verify_locations(self.config.client_ca_file)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx

    async def _system_namespaces(self) -> None:
        store = self.stores["/namespaces"]
        for name in SYSTEM_NAMESPACES:
            obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            try:
                await store.create("", obj)
            except errors.StatusError as e:
                if e.code != 409:
                    raise

    async def stop(self) -> None:
        # Watches end first (their caches stop), so the HTTP server has no stream to wait for.
        await asyncio.gather(*(s.cacher.stop() for s in self.stores.values()))
        if self.runner is not None:
            await self.runner.cleanup()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.close()
