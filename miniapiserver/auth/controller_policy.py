"""The `system:controller:<name>` roles, each bound to the ServiceAccount kube-system/<name>.

Mirrors kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy/controller_policy.go
(buildControllerRoles, addControllerRole: the role name is the prefix plus the controller's
ServiceAccount name, and its binding grants it to that ServiceAccount in kube-system). With
--use-service-account-credentials the controller manager gives each controller a client
that authenticates as that ServiceAccount, so a controller can do only what its role says.
Kept: the roles of the controllers minicontroller runs (deployment, replicaset,
endpointslice, namespace, node lifecycle, garbage collector, service account).
Omitted: the roles of the controllers we do not run (job, cronjob, daemon-set, statefulset,
disruption, HPA, persistent volumes, certificates, ttl, root-ca-cert-publisher, ...).
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
SA_ROLE_PREFIX = "system:controller:"
READ = ["get", "list", "watch"]
APPS = ["apps", "extensions"]


def _rules() -> dict[str, list[Obj]]:
    """ServiceAccount name -> the rules of its system:controller: role."""
    return {
        "deployment-controller": [
            rule([*READ, "update"], APPS, ["deployments"]),
            rule(["update"], APPS, ["deployments/status"]),
            rule(["update"], APPS, ["deployments/finalizers"]),
            rule([*READ, "create", "update", "patch", "delete"], ["apps", "extensions"],
                 ["replicasets"]),
            rule([*READ, "update"], [""], ["pods"]),
            events_rule(),
        ],
        "endpointslice-controller": [
            rule(READ, [""], ["services", "pods", "nodes"]),
            # ownerReferences with blockOwnerDeletion need update on the owner's finalizers
            rule(["update"], [""], ["services/finalizers"]),
            rule([*READ, "create", "update", "delete"], ["discovery.k8s.io"], ["endpointslices"]),
            events_rule(),
        ],
        "generic-garbage-collector": [
            rule([*READ, "patch", "update", "delete"], ["*"], ["*"]),
            events_rule(),
        ],
        "namespace-controller": [
            rule([*READ, "delete"], [""], ["namespaces"]),
            rule(["update"], [""], ["namespaces/finalize", "namespaces/status"]),
            rule([*READ, "delete", "deletecollection"], ["*"], ["*"]),
        ],
        "node-controller": [
            rule([*READ, "update", "delete", "patch"], [""], ["nodes"]),
            rule(["patch", "update"], [""], ["nodes/status"]),
            rule(["patch", "update"], [""], ["pods/status"]),
            rule(["list", "watch", "get", "delete"], [""], ["pods"]),
            events_rule(),
        ],
        "replicaset-controller": [
            rule([*READ, "update"], ["apps", "extensions"], ["replicasets"]),
            rule(["update"], ["apps", "extensions"], ["replicasets/status"]),
            rule(["update"], ["apps", "extensions"], ["replicasets/finalizers"]),
            rule(["list", "watch", "patch", "create", "delete"], [""], ["pods"]),
            events_rule(),
        ],
        "root-ca-cert-publisher": [
            rule(["create", "update"], [""], ["configmaps"]),
            events_rule(),
        ],
        "service-account-controller": [
            rule(["create"], [""], ["serviceaccounts"]),
            events_rule(),
        ],
    }  # fmt: skip


def controller_roles() -> list[Obj]:
    return [cluster_role(SA_ROLE_PREFIX + sa, rules) for sa, rules in sorted(_rules().items())]


def controller_role_bindings() -> list[Obj]:
    return [
        cluster_role_binding(SA_ROLE_PREFIX + sa, [subject("ServiceAccount", sa, "kube-system")])
        for sa in sorted(_rules())
    ]
