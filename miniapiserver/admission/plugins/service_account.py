"""ServiceAccount: every pod runs as a ServiceAccount, with its token mounted.

Mirrors kubernetes/plugin/pkg/admission/serviceaccount/admission.go (Admit on pod
creation: default spec.serviceAccountName to "default", refuse a pod whose
ServiceAccount does not exist, mount the API access volume unless automounting is off
on the pod or the ServiceAccount, copy the ServiceAccount's imagePullSecrets; Validate:
a mirror pod may not use a ServiceAccount) and its TokenVolumeSource: the projected
volume `kube-api-access-<5 random chars>` with a serviceAccountToken (3607 s), the
kube-root-ca.crt ConfigMap's ca.crt and the namespace from the downward API, mounted
read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container.
Omitted: the retry of the ServiceAccount lookup while a new namespace's account is
being created, ephemeral-container updates, node-restricted secret checks.
"""

from __future__ import annotations

import random
from typing import Any

from miniapi import errors
from miniapi.runtime import GroupResource
from miniapiserver.admission.attributes import CREATE, Attributes, new_forbidden
from miniapiserver.admission.chain import Plugin
from miniapiserver.registry.store import RegistryStore
from miniapiserver.registry.strategy import generate_name

PLUGIN_NAME = "ServiceAccount"
DEFAULT_SERVICE_ACCOUNT_NAME = "default"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_SECONDS = 3607  # an hour plus upstream's 7 s to tell it apart
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"


def token_volume(name: str) -> dict[str, Any]:
    """TokenVolumeSource: token, CA bundle and namespace in one projected volume."""
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIG_MAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }  # fmt: skip


def should_automount(sa: dict[str, Any], spec: dict[str, Any]) -> bool:
    """The pod's automountServiceAccountToken wins over the ServiceAccount's; default yes."""
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    return sa.get("automountServiceAccountToken") is not False


def mount_service_account_token(spec: dict[str, Any], rng: random.Random) -> None:
    """Add the volume (unless one already mounts the path) and its mount in each container."""
    containers = [*spec.get("initContainers", []), *spec.get("containers", [])]
    for c in containers:
        if any(m.get("mountPath") == MOUNT_PATH for m in c.get("volumeMounts") or []):
            return  # the pod brought its own credentials
    name = generate_name(VOLUME_PREFIX, rng)
    spec["volumes"] = [*(spec.get("volumes") or []), token_volume(name)]
    for c in containers:
        mount = {"name": name, "readOnly": True, "mountPath": MOUNT_PATH}
        c["volumeMounts"] = [*(c.get("volumeMounts") or []), mount]


def new_plugin(service_accounts: RegistryStore, rng: random.Random) -> Plugin:
    async def admit(a: Attributes) -> None:
        if a.group != "" or a.resource != "pods" or a.subresource or a.object is None:
            return
        pod = a.object
        if MIRROR_POD_ANNOTATION in (pod.get("metadata", {}).get("annotations") or {}):
            await validate(a)
            return
        spec = pod.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT_NAME
        name = spec["serviceAccountName"]
        sa = await service_accounts.cacher.get(service_accounts.key(a.namespace, name))
        if sa is None:
            sa = await service_accounts.storage.get(
                service_accounts.key(a.namespace, name), ignore_not_found=True
            )
        if sa is None:
            missing = errors.new_not_found(GroupResource("", "serviceaccount"), name).status.message
            raise new_forbidden(
                a, f"error looking up service account {a.namespace}/{name}: {missing}"
            )
        if should_automount(sa, spec):
            mount_service_account_token(spec, rng)
        if not spec.get("imagePullSecrets") and sa.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": s.get("name", "")} for s in sa["imagePullSecrets"]]

    async def validate(a: Attributes) -> None:
        if a.group != "" or a.resource != "pods" or a.subresource or a.object is None:
            return
        meta = a.object.get("metadata", {})
        mirror = MIRROR_POD_ANNOTATION in (meta.get("annotations") or {})
        if mirror and a.object.get("spec", {}).get("serviceAccountName"):
            raise new_forbidden(a, "a mirror pod may not reference service accounts")

    return Plugin(PLUGIN_NAME, frozenset({CREATE}), admit=admit, validate=validate)
