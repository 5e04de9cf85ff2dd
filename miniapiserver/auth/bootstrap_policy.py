"""The default ClusterRoles and ClusterRoleBindings every API server starts with.

Mirrors kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go
(ClusterRoles: cluster-admin, system:discovery, system:basic-user,
system:public-info-viewer, the user-facing admin / edit / view built by aggregation
from system:aggregate-to-admin / -edit / -view; ClusterRoleBindings: system:masters to
cluster-admin, the authenticated groups to discovery and basic-user) and the
ClusterRoleAggregationController's merge of rules into roles with an aggregationRule
(pkg/controller/clusterroleaggregation), done once here on the bootstrap set.
cluster_roles() and cluster_role_bindings() also return the components' roles and
bindings, kept in their own files as upstream keeps them: component_policy.py (system:node,
system:node-proxier, system:kube-scheduler, system:kube-controller-manager, ...) and
controller_policy.py (system:controller:<name>, one per controller's ServiceAccount).
Rules are kept to the resources upstream names, whether or not we serve them.
Omitted: the namespaced bootstrap Roles (extension-apiserver-authentication-reader, the
bootstrap-signer ones), system:heapster and the other add-on roles, and continuous
aggregation of user-created roles.
"""

from __future__ import annotations

from typing import Any

from miniapiserver.auth import component_policy, controller_policy
from miniapiserver.auth.rbac_helpers import (
    AGGREGATE_TO,
    cluster_role,
    cluster_role_binding,
    rule,
    subject,
    url_rule,
)

Obj = dict[str, Any]
READ_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
READ = ["get", "list", "watch"]


def _aggregate_to_view() -> list[Obj]:
    return [
        rule(READ, [""], ["pods", "replicationcontrollers", "replicationcontrollers/scale",
                          "serviceaccounts", "services", "services/status", "endpoints",
                          "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"]),
        rule(READ, [""], ["limitranges", "resourcequotas", "bindings", "events", "pods/status",
                          "resourcequotas/status", "namespaces/status",
                          "replicationcontrollers/status", "pods/log"]),
        rule(READ, [""], ["namespaces"]),
        rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
        rule(READ, ["apps"], ["controllerrevisions", "statefulsets", "statefulsets/status",
                              "statefulsets/scale", "daemonsets", "daemonsets/status",
                              "deployments", "deployments/status", "deployments/scale",
                              "replicasets", "replicasets/status", "replicasets/scale"]),
        rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        rule(READ, ["batch"], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
        rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
    ]  # fmt: skip


def _aggregate_to_edit() -> list[Obj]:
    return [
        rule(["impersonate"], [""], ["serviceaccounts"]),
        rule(READ_WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec",
                                "pods/portforward"]),
        rule(["create"], [""], ["pods/eviction"]),
        rule(READ_WRITE, [""], ["replicationcontrollers", "replicationcontrollers/scale",
                                "serviceaccounts", "services", "services/proxy",
                                "persistentvolumeclaims", "configmaps", "secrets", "events"]),
        rule(["create"], [""], ["serviceaccounts/token"]),
        rule(READ_WRITE, ["apps"], ["statefulsets", "statefulsets/scale", "daemonsets",
                                    "deployments", "deployments/scale", "deployments/rollback",
                                    "replicasets", "replicasets/scale"]),
        rule(READ_WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
        rule(READ_WRITE, ["batch"], ["jobs", "cronjobs"]),
        rule(READ_WRITE, ["policy"], ["poddisruptionbudgets"]),
        rule(READ_WRITE, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
    ]  # fmt: skip


def _aggregate_to_admin() -> list[Obj]:
    return [
        rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
        rule(READ_WRITE, ["rbac.authorization.k8s.io"], ["roles", "rolebindings"]),
    ]


def cluster_roles() -> list[Obj]:
    """ClusterRoles(), with admin / edit / view already aggregated."""
    public = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
    roles = [
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"]), url_rule(["*"], ["*"])]),
        cluster_role("system:discovery", [url_rule(["get"], [
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
            "/openapi/*", "/readyz", "/version", "/version/"])]),
        cluster_role("system:basic-user", [
            rule(["create"], ["authorization.k8s.io"],
                 ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
        cluster_role("system:public-info-viewer", [url_rule(["get"], public)]),
        cluster_role("admin", [], agg="admin"),
        cluster_role("edit", [], {AGGREGATE_TO + "admin": "true"}, agg="edit"),
        cluster_role("view", [], {AGGREGATE_TO + "edit": "true"}, agg="view"),
        cluster_role("system:aggregate-to-admin", _aggregate_to_admin(),
                     {AGGREGATE_TO + "admin": "true"}),
        cluster_role("system:aggregate-to-edit", _aggregate_to_edit(),
                     {AGGREGATE_TO + "edit": "true"}),
        cluster_role("system:aggregate-to-view", _aggregate_to_view(),
                     {AGGREGATE_TO + "view": "true"}),
    ]  # fmt: skip
    by_name = {r["metadata"]["name"]: r for r in roles}
    for name in ("view", "edit", "admin"):  # each one's sources are final before it
        by_name[name]["rules"] = aggregate(by_name[name], roles)
    return roles + component_policy.cluster_roles() + controller_policy.controller_roles()


def aggregate(target: Obj, roles: list[Obj]) -> list[Obj]:
    """The controller's syncClusterRole: the rules of every role the selectors match.

    Sources are taken in name order and duplicate rules dropped, as upstream does.
    Only matchLabels selectors are evaluated (all the bootstrap roles use).
    """
    rules: list[Obj] = []
    selectors = target.get("aggregationRule", {}).get("clusterRoleSelectors", [])
    for role in sorted(roles, key=lambda r: r["metadata"]["name"]):
        if role is target:
            continue
        labels = role["metadata"].get("labels", {})
        for sel in selectors:
            if all(labels.get(k) == v for k, v in sel.get("matchLabels", {}).items()):
                rules.extend(r for r in role.get("rules", []) if r not in rules)
                break
    return rules


def cluster_role_bindings() -> list[Obj]:
    """ClusterRoleBindings(): each named like its role, then the components' and controllers'."""
    grants = [
        ("cluster-admin", ["system:masters"]),
        ("system:discovery", ["system:authenticated"]),
        ("system:basic-user", ["system:authenticated"]),
        ("system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]),
    ]
    groups = [cluster_role_binding(n, [subject("Group", g) for g in gs]) for n, gs in grants]
    return (
        groups
        + component_policy.cluster_role_bindings()
        + controller_policy.controller_role_bindings()
    )
