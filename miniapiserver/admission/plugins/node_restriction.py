"""NodeRestriction: a kubelet may only touch its own Node, its own pods and its own Lease.

Mirrors kubernetes/plugin/pkg/admission/noderestriction/admission.go (Plugin.Admit for
users that nodeidentifier.NodeIdentity recognises: `system:node:<name>` in the group
`system:nodes`): pods only as mirror pods bound to and owned by the node, deleted or evicted
only when bound to it, pods/status only on its own pods and without label changes; its own
Node object, without touching taints, and labels only in the kubelet's namespaces
(kubelet.kubernetes.io, node.kubernetes.io) or the well-known kubelet labels, never
node-restriction.kubernetes.io; leases only in kube-node-lease under its own name. Other
users pass untouched.
Omitted: PVC status, CSINode and ClusterTrustBundle rules (those kinds are not served); the
pods/eviction and serviceaccounts/token rules (those subresources do not run admission here).
"""

from __future__ import annotations

from typing import Any

from miniapi import errors
from miniapiserver.admission.attributes import CREATE, DELETE, UPDATE, Attributes, new_forbidden
from miniapiserver.admission.chain import Plugin
from miniapiserver.auth.authn import UserInfo
from miniapiserver.registry.store import RegistryStore

PLUGIN_NAME = "NodeRestriction"
NODE_USER_NAME_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
MIRROR_POD_ANNOTATION_KEY = "kubernetes.io/config.mirror"
NAMESPACE_NODE_LEASE = "kube-node-lease"
LABEL_NAMESPACE_NODE_RESTRICTION = "node-restriction.kubernetes.io"
# kubeletapis.IsKubeletLabel: the labels a kubelet sets on itself, and its label namespaces.
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/os", "beta.kubernetes.io/arch", "kubernetes.io/os", "kubernetes.io/arch",
})  # fmt: skip
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def node_identity(user: UserInfo) -> tuple[str, bool]:
    """nodeidentifier.NodeIdentity: (node name, is a node)."""
    if not user.name.startswith(NODE_USER_NAME_PREFIX) or NODES_GROUP not in user.groups:
        return "", False
    return user.name[len(NODE_USER_NAME_PREFIX) :], True


def _label_namespace(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


def _in_namespace(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def is_kubelet_label(key: str) -> bool:
    ns = _label_namespace(key)
    return key in KUBELET_LABELS or any(_in_namespace(ns, d) for d in KUBELET_LABEL_NAMESPACES)


def modified_labels(new: dict[str, str], old: dict[str, str]) -> set[str]:
    """getModifiedLabels: keys added, removed or changed."""
    return {k for k in new.keys() | old.keys() if new.get(k) != old.get(k)}


def forbidden_labels(modified: set[str]) -> list[str]:
    """getForbiddenLabels: node-restriction labels, and kubernetes.io/k8s.io labels that are
    not the kubelet's own, sorted as sets.String.List()."""
    out = set()
    for key in modified:
        ns = _label_namespace(key)
        if _in_namespace(ns, LABEL_NAMESPACE_NODE_RESTRICTION):
            out.add(key)
        kubernetes = _in_namespace(ns, "kubernetes.io") or _in_namespace(ns, "k8s.io")
        if kubernetes and not is_kubelet_label(key):
            out.add(key)
    return sorted(out)


def _references(pod: dict[str, Any], kind: str) -> bool:
    """VisitPodSecretNames / VisitPodConfigmapNames: does anything in the pod name one?"""
    spec = pod.get("spec") or {}
    if kind == "secret" and spec.get("imagePullSecrets"):
        return True
    ref_key, vol_key = (
        ("secretKeyRef", "secret") if kind == "secret" else ("configMapKeyRef", "configMap")
    )
    env_from_key = "secretRef" if kind == "secret" else "configMapRef"
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if any((e.get("valueFrom") or {}).get(ref_key) for e in c.get("env") or []):
            return True
        if any(e.get(env_from_key) for e in c.get("envFrom") or []):
            return True
    for v in spec.get("volumes") or []:
        if v.get(vol_key):
            return True
        if any(s.get(vol_key) for s in (v.get("projected") or {}).get("sources") or []):
            return True
    return False


def check_mirror_pod_owner(node: str, pod: dict[str, Any]) -> str:
    """admitPodCreate up to the node lookup: a mirror pod, bound to and owned by the node."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if MIRROR_POD_ANNOTATION_KEY not in (meta.get("annotations") or {}):
        return (
            f'pod does not have "{MIRROR_POD_ANNOTATION_KEY}" annotation, node "{node}" can '
            "only create mirror pods"
        )
    if spec.get("nodeName", "") != node:
        return f'node "{node}" can only create pods with spec.nodeName set to itself'
    owners = meta.get("ownerReferences") or []
    if len(owners) > 1:
        return f'node "{node}" can only create pods with a single owner reference set to itself'
    owner = owners[0] if owners else {}
    if (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != ("v1", "Node", node):
        return f'node "{node}" can only create pods with an owner reference set to itself'
    if not owner.get("controller"):
        return f'node "{node}" can only create pods with a controller owner reference set to itself'
    if owner.get("blockOwnerDeletion"):
        return f'node "{node}" must not set blockOwnerDeletion on an owner reference'
    return ""


def check_mirror_pod_refs(node: str, pod: dict[str, Any], node_uid: str) -> str:
    """admitPodCreate after the node lookup: its uid, and no references to other objects."""
    spec = pod.get("spec") or {}
    owner_uid = ((pod.get("metadata") or {}).get("ownerReferences") or [{}])[0].get("uid", "")
    if owner_uid != node_uid:
        return f"node {node} UID mismatch: expected {owner_uid} got {node_uid}"
    if spec.get("serviceAccountName"):
        return f'node "{node}" can not create pods that reference a service account'
    if _references(pod, "secret"):
        return f'node "{node}" can not create pods that reference secrets'
    if _references(pod, "configMap"):
        return f'node "{node}" can not create pods that reference configmaps'
    if any(v.get("persistentVolumeClaim") for v in spec.get("volumes") or []):
        return f'node "{node}" can not create pods that reference persistentvolumeclaims'
    return ""


def check_node(node: str, a: Attributes) -> str:
    """admitNode: its own Node only; taints untouched; labels within the kubelet's set."""
    if a.name != node:
        return f'node "{node}" is not allowed to modify node "{a.name}"'
    new = a.object or {}
    labels = (new.get("metadata") or {}).get("labels") or {}
    if a.operation == CREATE:
        if (new.get("spec") or {}).get("configSource") is not None:
            return f'node "{node}" is not allowed to create pods with a non-nil configSource'
        bad = forbidden_labels(modified_labels(labels, {}))
        if bad:
            return f'node "{node}" is not allowed to set the following labels: {", ".join(bad)}'
    if a.operation == UPDATE:
        old = a.old_object or {}
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        source = spec.get("configSource")
        if source is not None and source != old_spec.get("configSource"):
            return (
                f'node "{node}" is not allowed to update configSource to a new non-nil configSource'
            )
        if (spec.get("taints") or []) != (old_spec.get("taints") or []):
            return f'node "{node}" is not allowed to modify taints'
        old_labels = (old.get("metadata") or {}).get("labels") or {}
        bad = forbidden_labels(modified_labels(labels, old_labels))
        if bad:
            return f"is not allowed to modify labels: {', '.join(bad)}"
    return ""


def check_lease(node: str, a: Attributes) -> str:
    """admitLease: only kube-node-lease, only the lease named after the node."""
    if a.namespace != NAMESPACE_NODE_LEASE:
        return f'can only access leases in the "{NAMESPACE_NODE_LEASE}" system namespace'
    name = (a.object or {}).get("metadata", {}).get("name") if a.operation == CREATE else a.name
    if name != node:
        return "can only access node lease with the same name as the requesting node"
    return ""


def new_plugin(pods: RegistryStore, nodes: RegistryStore) -> Plugin:
    async def get(store: RegistryStore, ns: str, name: str) -> dict[str, Any]:
        """The lister's Get: the watch cache, then etcd; 404 when the object is gone."""
        key = store.key(ns, name)
        found = store.cacher.cache.get(key) or await store.storage.get(key, ignore_not_found=True)
        if found is None:
            raise errors.new_not_found(store.gr, name)
        return found

    async def pod_problem(node: str, a: Attributes) -> str:
        if a.subresource == "status":
            if a.operation != UPDATE:
                return f'unexpected operation "{a.operation}"'
            old = a.old_object or {}
            if (old.get("spec") or {}).get("nodeName", "") != node:
                return (
                    f'node "{node}" can only update pod status for pods with spec.nodeName '
                    "set to itself"
                )
            old_labels = (old.get("metadata") or {}).get("labels") or {}
            new_labels = ((a.object or {}).get("metadata") or {}).get("labels") or {}
            if new_labels != old_labels:
                return f'node "{node}" cannot update labels through pod status'
            return ""
        if a.subresource:
            return (
                f"unexpected pod subresource \"{a.subresource}\", only 'status' and 'eviction' "
                "are allowed"
            )
        if a.operation == CREATE:
            pod = a.object or {}
            problem = check_mirror_pod_owner(node, pod)
            if problem:
                return problem
            registered = await get(nodes, "", node)  # a node not registered yet: its 404
            return check_mirror_pod_refs(node, pod, registered["metadata"].get("uid", ""))
        if a.operation == DELETE:
            pod = await get(pods, a.namespace, a.name)
            if (pod.get("spec") or {}).get("nodeName", "") != node:
                return f'node "{node}" can only delete pods with spec.nodeName set to itself'
            return ""
        return (
            f'unexpected operation "{a.operation}", node "{node}" can only create and delete '
            "mirror pods"
        )

    async def admit(a: Attributes) -> None:
        node, is_node = node_identity(a.user)
        if not is_node:
            return
        if not node:
            raise new_forbidden(a, f'could not determine node from user "{a.user.name}"')
        problem = ""
        resource = (a.group, a.resource)
        if resource == ("", "pods"):
            problem = await pod_problem(node, a)
        elif resource == ("", "nodes"):
            problem = check_node(node, a)
        elif resource == ("coordination.k8s.io", "leases"):
            problem = check_lease(node, a)
        if problem:
            raise new_forbidden(a, problem)

    return Plugin(PLUGIN_NAME, frozenset({CREATE, UPDATE, DELETE}), admit=admit)
