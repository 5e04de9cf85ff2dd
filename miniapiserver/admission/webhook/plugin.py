"""The MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins.

Mirrors k8s.io/apiserver/pkg/admission/plugin/webhook/mutating/plugin.go and
validating/plugin.go (the two plugins over one generic Webhook) with
configuration/mutating_webhook_manager.go and validating_webhook_manager.go: the
configurations come from the API server's own watch caches (upstream's informers),
sorted by name, their webhooks in order, with v1's defaults filled in
(failurePolicy Fail, timeoutSeconds 10, scope "*").
"""

from __future__ import annotations

from typing import Any

import msgspec

from miniapi import scheme
from miniapiserver.admission.attributes import CONNECT, CREATE, DELETE, UPDATE, Attributes
from miniapiserver.admission.chain import Plugin
from miniapiserver.admission.webhook import client, dispatcher, rules
from miniapiserver.registry.store import RegistryStore

GROUP = "admissionregistration.k8s.io"
OPERATIONS = frozenset({CREATE, UPDATE, DELETE, CONNECT})


def _configurations(store: RegistryStore) -> list[Any]:
    """Every configuration in the watch cache, by name, decoded."""
    objs = store.cacher.cache.list(store.collection_key(""))
    return [scheme.decode(o) for o in sorted(objs, key=lambda o: o["metadata"]["name"])]


def with_defaults(hook: Any) -> Any:
    """SetDefaults_*Webhook: failurePolicy Fail, timeoutSeconds 10, rule scope "*"."""
    changes: dict[str, Any] = {}
    if hook.failure_policy is None:
        changes["failure_policy"] = "Fail"
    if hook.timeout_seconds is None:
        changes["timeout_seconds"] = client.DEFAULT_TIMEOUT_SECONDS
    changes["rules"] = [
        msgspec.structs.replace(r, scope="*") if r.scope is None else r for r in hook.rules
    ]
    return msgspec.structs.replace(hook, **changes)


def hooks(store: RegistryStore) -> list[Any]:
    return [with_defaults(h) for c in _configurations(store) for h in c.webhooks]


def _plugin(name: str, resource: str, stores: dict[str, RegistryStore], mutating: bool) -> Plugin:
    config_store = stores[f"{GROUP}/{resource}"]
    namespaces = stores["/namespaces"]

    async def caller(h: Any, review: dict[str, Any]) -> bytes:
        return await client.call(h.name, h.client_config, h.timeout_seconds, review, stores)

    async def ns_labels(ns: str) -> dict[str, str] | None:
        obj = await namespaces.cacher.get(namespaces.key("", ns))
        if obj is None:
            obj = await namespaces.storage.get(namespaces.key("", ns), ignore_not_found=True)
        return None if obj is None else (obj.get("metadata", {}).get("labels") or {})

    async def run(a: Attributes) -> None:
        if rules.is_exempt(a):
            return
        found = hooks(config_store)
        if not found:
            return
        if mutating:
            await dispatcher.dispatch_mutating(found, a, caller, ns_labels)
        else:
            await dispatcher.dispatch_validating(found, a, caller, ns_labels)

    if mutating:
        return Plugin(name, OPERATIONS, admit=run)
    return Plugin(name, OPERATIONS, validate=run)


def mutating_plugin(stores: dict[str, RegistryStore]) -> Plugin:
    return _plugin("MutatingAdmissionWebhook", "mutatingwebhookconfigurations", stores, True)


def validating_plugin(stores: dict[str, RegistryStore]) -> Plugin:
    return _plugin("ValidatingAdmissionWebhook", "validatingwebhookconfigurations", stores, False)
