"""Wire the API server together: etcd client, storage, registries, caches, HTTP(S).

Mirrors cmd/kube-apiserver/app/server.go (CreateServerChain, Run) and the
storage factory of k8s.io/apiserver/pkg/server/storage: one etcd client and
store for all resources, a generic registry (with its watch cache) per
resource, the system namespaces created at start (pkg/controlplane's
SystemNamespaces via the bootstrap controller), the bootstrap RBAC roles
(pkg/registry/rbac/rest's "rbac/bootstrap-roles" post-start hook: created when
missing, never overwritten), the authorizer chain of --authorization-mode
(pkg/kubeapiserver/authorizer/config.go), the encryption-at-rest transformers
of --encryption-provider-config, and the compactor.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from miniapi import errors, scheme
from miniapiserver.auth import bootstrap_policy
from miniapiserver.auth.authn import Authenticator
from miniapiserver.auth.authorizer import AlwaysAllow, Authorizer, Union
from miniapiserver.auth.policy_cache import CachePolicySource
from miniapiserver.auth.rbac import RBACAuthorizer, RuleResolver
from miniapiserver.etcd.client import Client
from miniapiserver.registry.store import KEY_PREFIXES, RegistryStore
from miniapiserver.server import APIServer
from miniapiserver.storage.compact import compactor
from miniapiserver.storage.etcd3_store import Store
from miniapiserver.storage.value.encryptionconfig import ResourceTransformer, transformer_for
from miniapiserver.storage.value.transformer import Transformer

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
    authorization_modes: tuple[str, ...] = ("AlwaysAllow",)
    encryption: list[ResourceTransformer] | None = None


class Running:
    """A started API server; `stop()` undoes `start()`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.client = Client(config.etcd_servers)
        self.storage = Store(self.client, config.etcd_prefix, self._transformers())
        self.rng = random.Random()
        self.stores: dict[str, RegistryStore] = {}
        self.runner: web.AppRunner | None = None
        self.tasks: list[asyncio.Task] = []
        self.port = config.secure_port

    def _transformers(self) -> dict[str, Transformer]:
        """Each resource's key prefix -> the transformer the encryption config gives it."""
        out: dict[str, Transformer] = {}
        if not self.config.encryption:
            return out
        for info in scheme.SCHEME.resources():
            if info.list_type is None:
                continue
            t = transformer_for(self.config.encryption, info.gvk.group, info.resource)
            if t is not None:
                out[KEY_PREFIXES.get((info.gvk.group, info.resource), info.resource)] = t
        return out

    def authorizer(self) -> Authorizer:
        """config.New: one authorizer per mode, in the order given, asked as a union."""
        chain: list[Authorizer] = []
        for mode in self.config.authorization_modes:
            if mode == "RBAC":
                chain.append(RBACAuthorizer(CachePolicySource(self.stores)))
            else:
                chain.append(AlwaysAllow())
        return Union(chain)

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
        await self._bootstrap_roles()
        self.tasks.append(
            asyncio.create_task(compactor(self.client, self.config.etcd_compaction_interval))
        )
        server = APIServer(
            self.storage, self.stores, self.config.authenticator,
            max_requests_inflight=self.config.max_requests_inflight,
            max_mutating_requests_inflight=self.config.max_mutating_requests_inflight,
            authorizer=self.authorizer(),
        )  # fmt: skip
        if "RBAC" in self.config.authorization_modes:
            # The policybased RBAC storages: with AlwaysAllow alone every escalate/bind is allowed.
            server.escalation_resolver = RuleResolver(CachePolicySource(self.stores))
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

    async def _bootstrap_roles(self) -> None:
        """EnsureRBACPolicy: the default ClusterRoles and bindings, created when missing."""
        rbac = "rbac.authorization.k8s.io"
        pairs = [(f"{rbac}/clusterroles", r) for r in bootstrap_policy.cluster_roles()]
        pairs += [
            (f"{rbac}/clusterrolebindings", b) for b in bootstrap_policy.cluster_role_bindings()
        ]
        for resource, obj in pairs:
            try:
                await self.stores[resource].create("", obj)
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
