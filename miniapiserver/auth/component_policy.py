"""The ClusterRoles the cluster's components run with, and who they are bound to.

Mirrors kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go: NodeRules()
(the `system:node` role: bound to nobody, since the Node authorizer evaluates these rules
for `system:node:<name>` itself), `system:node-proxier` (kube-proxy), `system:kube-scheduler`
and `system:volume-scheduler`, `system:kube-controller-manager` (just enough to run its
shared informers, leader election and mint its controllers' ServiceAccount tokens) and
`system:kube-dns`; and clusterRoleBindings() for them: the users of
k8s.io/apiserver/pkg/authentication/user (KubeProxy, KubeScheduler, KubeControllerManager),
the ServiceAccount kube-system/kube-dns, and an empty `system:node` binding (upstream keeps
it with no subjects since the Node authorizer replaced it).
Omitted: the feature-gated rules for kinds we do not serve (CSI, DRA, RuntimeClass,
ClusterTrustBundle, certificate signing requests, volume attachments).
"""

from __future__ import annotations

from typing import Any

from miniapiserver.auth.rbac_helpers import (
    cluster_role,
    cluster_role_binding,
    events_rule,
    rule,
    subject,
)

Obj = dict[str, Any]
READ = ["get", "list", "watch"]
READ_UPDATE = ["get", "list", "watch", "update", "patch"]
NODE_ROLE = "system:node"
KUBE_PROXY, KUBE_SCHEDULER = "system:kube-proxy", "system:kube-scheduler"
KUBE_CONTROLLER_MANAGER = "system:kube-controller-manager"
AUTHN, AUTHZ = "authentication.k8s.io", "authorization.k8s.io"
COORDINATION = "coordination.k8s.io"


def node_rules() -> list[Obj]:
    """NodeRules(): what a kubelet may do; the Node authorizer narrows the object reads."""
    return [
        rule(["create"], [AUTHN], ["tokenreviews"]),
        rule(["create"], [AUTHZ], ["subjectaccessreviews", "localsubjectaccessreviews"]),
        # services for the env vars of pods
        rule(READ, [""], ["services"]),
        # its Node object and status; NodeRestriction keeps it to its own
        rule(["create", "get", "list", "watch"], [""], ["nodes"]),
        rule(["update", "patch"], [""], ["nodes/status"]),
        rule(["update", "patch"], [""], ["nodes"]),
        rule(["create", "update", "patch"], [""], ["events"]),
        rule(READ, [""], ["pods"]),
        # mirror pods, pod status and evictions; NodeRestriction keeps them to its own pods
        rule(["create", "delete"], [""], ["pods"]),
        rule(["update", "patch"], [""], ["pods/status"]),
        rule(["create"], [""], ["pods/eviction"]),
        # the Node authorizer limits these to objects its pods reference
        rule(READ, [""], ["secrets", "configmaps"]),
        rule(["get"], [""], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["get"], [""], ["endpoints"]),
        rule(["get", "create", "update", "patch", "delete"], [COORDINATION], ["leases"]),
        rule(["get", "update", "patch"], [""], ["persistentvolumeclaims/status"]),
        rule(["create"], [""], ["serviceaccounts/token"]),
    ]


def node_proxier_rules() -> list[Obj]:
    return [
        rule(["list", "watch"], [""], ["services", "endpoints"]),
        rule(READ, [""], ["nodes"]),
        events_rule(),
        rule(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"]),
    ]


def kube_scheduler_rules() -> list[Obj]:
    return [
        events_rule(),
        # leader election on its Lease (and the old Endpoints lock)
        rule(["create"], [COORDINATION], ["leases"]),
        rule(["get", "update"], [COORDINATION], ["leases"], ["kube-scheduler"]),
        rule(["create"], [""], ["endpoints"]),
        rule(["get", "update"], [""], ["endpoints"], ["kube-scheduler"]),
        rule(READ, [""], ["nodes"]),
        rule(["get", "list", "watch", "delete"], [""], ["pods"]),  # delete: preemption
        rule(["create"], [""], ["pods/binding", "bindings"]),
        rule(["patch", "update"], [""], ["pods/status"]),
        # things that select pods, for spreading
        rule(READ, [""], ["services", "replicationcontrollers"]),
        rule(READ, ["apps", "extensions"], ["replicasets"]),
        rule(READ, ["apps"], ["statefulsets"]),
        rule(READ, ["policy"], ["poddisruptionbudgets"]),
        rule(READ, [""], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["create"], [AUTHN], ["tokenreviews"]),
        rule(["create"], [AUTHZ], ["subjectaccessreviews"]),
        rule(READ, ["storage.k8s.io"], ["csinodes"]),
        rule(READ, [""], ["namespaces"]),  # namespaceSelector of pod affinity terms
        rule(READ, ["storage.k8s.io"], ["csidrivers"]),
        rule(READ, ["storage.k8s.io"], ["csistoragecapacities"]),
    ]


def volume_scheduler_rules() -> list[Obj]:
    return [
        rule(READ_UPDATE, [""], ["persistentvolumes"]),
        rule(READ, ["storage.k8s.io"], ["storageclasses"]),
        rule(READ_UPDATE, [""], ["persistentvolumeclaims"]),
    ]


def kube_controller_manager_rules() -> list[Obj]:
    """Not what the controllers do: each has its own ServiceAccount (controller_policy.py)."""
    return [
        events_rule(),
        rule(["create"], [COORDINATION], ["leases"]),
        rule(["get", "update"], [COORDINATION], ["leases"], ["kube-controller-manager"]),
        rule(["create"], [""], ["endpoints"]),
        rule(["get", "update"], [""], ["endpoints"], ["kube-controller-manager"]),
        # the controllers' ServiceAccounts (--use-service-account-credentials)
        rule(["create"], [""], ["secrets", "serviceaccounts"]),
        rule(["delete"], [""], ["secrets"]),
        rule(["get"], [""], ["namespaces", "secrets", "serviceaccounts", "configmaps"]),
        rule(["update"], [""], ["secrets", "serviceaccounts"]),
        rule(["create"], [AUTHN], ["tokenreviews"]),
        rule(["create"], [AUTHZ], ["subjectaccessreviews"]),
        # the shared informers
        rule(["list", "watch"], ["*"], ["*"]),
        rule(["create"], [""], ["serviceaccounts/token"]),
    ]


def kube_dns_rules() -> list[Obj]:
    return [rule(["list", "watch"], [""], ["endpoints", "services"])]


def cluster_roles() -> list[Obj]:
    return [
        cluster_role(NODE_ROLE, node_rules()),
        cluster_role("system:node-proxier", node_proxier_rules()),
        cluster_role(KUBE_SCHEDULER, kube_scheduler_rules()),
        cluster_role("system:volume-scheduler", volume_scheduler_rules()),
        cluster_role(KUBE_CONTROLLER_MANAGER, kube_controller_manager_rules()),
        cluster_role("system:kube-dns", kube_dns_rules()),
    ]


def cluster_role_bindings() -> list[Obj]:
    by_user = [
        ("system:node-proxier", KUBE_PROXY),
        (KUBE_CONTROLLER_MANAGER, KUBE_CONTROLLER_MANAGER),
        (KUBE_SCHEDULER, KUBE_SCHEDULER),
        ("system:volume-scheduler", KUBE_SCHEDULER),
    ]
    out = [cluster_role_binding(role, [subject("User", user)]) for role, user in by_user]
    out.append(
        cluster_role_binding(
            "system:kube-dns", [subject("ServiceAccount", "kube-dns", "kube-system")]
        )
    )
    out.append(cluster_role_binding(NODE_ROLE, []))
    return out
