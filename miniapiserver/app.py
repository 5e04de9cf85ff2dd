"""Wire the API server together: etcd client, storage, registries, caches, HTTP(S).

Mirrors cmd/kube-apiserver/app/server.go (CreateServerChain, Run) and the
storage factory of k8s.io/apiserver/pkg/server/storage: one etcd client and
store for all resources, a generic registry (with its watch cache) per
resource, the system namespaces created at start (pkg/controlplane's
SystemNamespaces via the bootstrap controller), the bootstrap RBAC roles
(pkg/registry/rbac/rest's "rbac/bootstrap-roles" post-start hook: created when
missing, never overwritten), the authorizer chain of --authorization-mode
(pkg/kubeapiserver/authorizer/config.go), the encryption-at-rest transformers
of --encryption-provider-config, the admission chain of
--enable-admission-plugins / --disable-admission-plugins, ServiceAccount tokens
(--service-account-* flags: the JWT authenticator and the TokenRequest subresource),
the Service ClusterIP / NodePort allocators (--service-cluster-ip-range,
--service-node-port-range; pkg/controlplane/instance.go), the system PriorityClasses,
the `kubernetes` Service
controller (--advertise-address), the compactor, and audit logging
(--audit-policy-file, --audit-log-path: pkg/server/options/audit.go).
"""

from __future__ import annotations

import asyncio
import random
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from miniapi import errors, scheme
from miniapi.scheduling import v1 as schedulingv1
from miniapiserver.admission.chain import Chain, enabled_plugin_names
from miniapiserver.admission.plugins import (
    always,
    default_toleration_seconds,
    limit_ranger,
    namespace_lifecycle,
    node_restriction,
    priority,
    resource_quota,
    service_account,
)
from miniapiserver.admission.webhook import plugin as webhook_plugin
from miniapiserver.apiextensions.handler import CRDHandler
from miniapiserver.audit import policy as audit_policy
from miniapiserver.audit.filter import Auditor
from miniapiserver.audit.log import LogBackend
from miniapiserver.auth import bootstrap_policy, component_policy
from miniapiserver.auth.authn import Authenticator
from miniapiserver.auth.authorizer import AlwaysAllow, Authorizer, Union
from miniapiserver.auth.node_authorizer import NodeAuthorizer
from miniapiserver.auth.policy_cache import CachePods, CachePolicySource
from miniapiserver.auth.rbac import RBACAuthorizer, RuleResolver
from miniapiserver.controlplane.kubernetesservice import Controller as KubernetesServiceController
from miniapiserver.etcd.client import Client
from miniapiserver.registry.service import storage as service_storage
from miniapiserver.registry.store import KEY_PREFIXES, RegistryStore
from miniapiserver.registry.token_request import TokenREST
from miniapiserver.registry.versioned import SchemeConverter
from miniapiserver.server import APIServer
from miniapiserver.serviceaccount import jwt as sa_jwt
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
    enable_admission_plugins: tuple[str, ...] = ()
    disable_admission_plugins: tuple[str, ...] = ()
    default_not_ready_toleration_seconds: int = 300
    default_unreachable_toleration_seconds: int = 300
    service_account_signing_key_file: str = ""
    service_account_key_files: tuple[str, ...] = ()
    service_account_issuers: tuple[str, ...] = ()
    api_audiences: tuple[str, ...] = ()
    service_account_max_token_expiration: int = 0
    service_cluster_ip_range: str = "10.0.0.0/24"
    service_node_port_range: str = "30000-32767"
    advertise_address: str = ""
    kubernetes_service_interval: float = 10.0
    audit_policy_file: str = ""
    audit_log_path: str = ""


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
        self.crd_handler: CRDHandler | None = None
        self.auditor: Auditor | None = None
        self.port = config.secure_port
        self.allocators = service_storage.new_allocators(
            self.storage, config.service_cluster_ip_range, config.service_node_port_range, self.rng
        )

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
            elif mode == "Node":
                chain.append(NodeAuthorizer(CachePods(self.stores), component_policy.node_rules()))
            else:
                chain.append(AlwaysAllow())
        return Union(chain)

    def _build_stores(self) -> None:
        for info in scheme.SCHEME.resources():
            if info.list_type is None or not scheme.is_storage_version(info):
                continue  # other served versions share the storage version's store
            store = RegistryStore(
                info, self.storage, lambda: datetime.now(UTC), self.rng,
                self.config.watch_cache_capacity, self.config.bookmark_interval,
            )  # fmt: skip
            self.stores[f"{info.gvk.group}/{info.resource}"] = store
            if (info.gvk.group, info.resource) in scheme.STORAGE_VERSIONS:
                store.converter = SchemeConverter()
        chain = self.admission_chain()
        for store in self.stores.values():
            store.admission = chain

    def admission_chain(self) -> Chain:
        """The enabled plugins, built in kube-apiserver's order (options/admission.go)."""
        c = self.config
        factories = {
            "AlwaysAdmit": always.always_admit,
            "NamespaceLifecycle": lambda: namespace_lifecycle.new_plugin(
                self.stores["/namespaces"]
            ),
            "LimitRanger": lambda: limit_ranger.new_plugin(self.stores["/limitranges"]),
            "ServiceAccount": lambda: service_account.new_plugin(
                self.stores["/serviceaccounts"], self.rng
            ),
            "NodeRestriction": lambda: node_restriction.new_plugin(
                self.stores["/pods"], self.stores["/nodes"]
            ),
            "Priority": lambda: priority.new_plugin(
                self.stores["scheduling.k8s.io/priorityclasses"]
            ),
            "DefaultTolerationSeconds": lambda: default_toleration_seconds.new_plugin(
                c.default_not_ready_toleration_seconds, c.default_unreachable_toleration_seconds
            ),
            "MutatingAdmissionWebhook": lambda: webhook_plugin.mutating_plugin(self.stores),
            "ValidatingAdmissionWebhook": lambda: webhook_plugin.validating_plugin(self.stores),
            "ResourceQuota": lambda: resource_quota.new_plugin(self.stores["/resourcequotas"]),
            "AlwaysDeny": always.always_deny,
        }
        names = enabled_plugin_names(
            list(c.enable_admission_plugins), list(c.disable_admission_plugins)
        )
        return Chain(factories[n]() for n in names)

    async def start(self) -> None:
        await self.client.connect()
        await self.client.wait_ready()
        self._build_stores()
        for store in self.stores.values():
            store.cacher.start()
        await asyncio.gather(*(s.cacher.ready.wait() for s in self.stores.values()))
        await service_storage.repair_ranges(
            self.allocators, self.storage, self.stores["/services"].prefix
        )
        self.stores["/services"].rest = service_storage.ServiceREST(self.allocators)
        await self._system_namespaces()
        await self._bootstrap_roles()
        await self._system_priority_classes()
        # The CRDs' custom resources (apiextensions-apiserver's crdHandler), served beside.
        self.crd_handler = CRDHandler(
            self.stores, self.storage, lambda: datetime.now(UTC), self.rng,
            self.config.watch_cache_capacity, self.config.bookmark_interval,
        )  # fmt: skip
        await self.crd_handler.start()
        self.tasks.append(
            asyncio.create_task(compactor(self.client, self.config.etcd_compaction_interval))
        )
        server = APIServer(
            self.storage, self.stores, self.config.authenticator,
            max_requests_inflight=self.config.max_requests_inflight,
            max_mutating_requests_inflight=self.config.max_mutating_requests_inflight,
            authorizer=self.authorizer(),
            scheme_=self.crd_handler.serving_scheme(scheme.SCHEME),
        )  # fmt: skip
        server.token_rest = self._service_account_tokens()
        server.auditor = self.auditor = self._auditor()
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
        await self._kubernetes_service()

    async def _kubernetes_service(self) -> None:
        """The `kubernetes` Service on the range's first IP, reconciled now and then."""
        advertise = self.config.advertise_address or self.config.bind_address
        if advertise in ("0.0.0.0", "::"):
            advertise = "127.0.0.1"  # upstream picks the default route's address; we stay local
        ctl = KubernetesServiceController(
            self.stores, self.allocators.ips.ip_at(0), advertise, self.port
        )
        await ctl.reconcile()
        self.tasks.append(asyncio.create_task(ctl.run(self.config.kubernetes_service_interval)))

    def _service_account_tokens(self) -> TokenREST | None:
        """The JWT authenticator (verifying keys) and the TokenRequest REST (signing key).

        As kube-apiserver's BuildAuthenticator and the serviceaccounts token storage:
        the first issuer signs, every issuer is accepted, audiences default to the issuers.
        """
        c = self.config
        issuers = list(c.service_account_issuers)
        audiences = list(c.api_audiences) or issuers
        if c.service_account_key_files and self.config.authenticator is not None:
            keys = [k for f in c.service_account_key_files for k in sa_jwt.load_public_keys(f)]
            self.config.authenticator.service_accounts = sa_jwt.TokenAuthenticator(
                issuers, keys, audiences, self._lookup
            )
        if not c.service_account_signing_key_file or not issuers:
            return None
        key = sa_jwt.load_private_key(c.service_account_signing_key_file)
        generator = sa_jwt.TokenGenerator(issuers[0], key)
        return TokenREST(generator, audiences, self.stores, c.service_account_max_token_expiration)

    def _auditor(self) -> Auditor | None:
        """AuditOptions.ApplyTo: both a policy and a log path, or no audit at all."""
        c = self.config
        if not c.audit_policy_file or not c.audit_log_path:
            return None
        return Auditor(audit_policy.load(c.audit_policy_file), LogBackend(c.audit_log_path))

    def _lookup(self, kind: str, namespace: str, name: str) -> dict | None:
        """The token validator's getter: the watch caches, as upstream's informer listers."""
        store = self.stores[
            {"ServiceAccount": "/serviceaccounts", "Pod": "/pods"}.get(kind, "/secrets")
        ]
        return store.cacher.cache.get(store.key(namespace, name))

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

    async def _system_priority_classes(self) -> None:
        """The "scheduling/bootstrap-system-priority-classes" post-start hook: the two system
        classes, created when missing (pkg/registry/scheduling/rest/storage_scheduling.go)."""
        store = self.stores["scheduling.k8s.io/priorityclasses"]
        for pc in schedulingv1.system_priority_classes():
            try:
                await store.create("", scheme.encode(scheme.with_type_meta(pc)))
            except errors.StatusError as e:
                if e.code != 409:
                    raise

    async def stop(self) -> None:
        if self.crd_handler is not None:
            await self.crd_handler.stop()
        # Watches end first (their caches stop), so the HTTP server has no stream to wait for.
        await asyncio.gather(*(s.cacher.stop() for s in self.stores.values()))
        if self.runner is not None:
            await self.runner.cleanup()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.close()
        if self.auditor is not None:
            self.auditor.backend.shutdown()
