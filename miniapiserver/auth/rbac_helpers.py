"""Builders for the PolicyRules, ClusterRoles and ClusterRoleBindings of the default policy.

Mirrors kubernetes/pkg/apis/rbac/v1/helpers.go (NewRule(...).Groups().Resources().Names(),
NewClusterBinding(...).Groups() / .Users() / .SAs()) and bootstrappolicy's
addDefaultMetadata (the `kubernetes.io/bootstrapping: rbac-defaults` label and the
autoupdate annotation on every default object). Plain dicts in the v1 JSON shape, so the
objects go to the registry as they are.
Omitted: RuleOrDie's validation (our rules are literals, checked by the tests).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"


def rule(
    verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None
) -> Obj:
    """NewRule(verbs...).Groups(groups...).Resources(resources...)[.Names(names...)]."""
    out: Obj = {"verbs": list(verbs), "apiGroups": groups, "resources": resources}
    if names:
        out["resourceNames"] = names
    return out


def url_rule(verbs: list[str], urls: list[str]) -> Obj:
    return {"verbs": list(verbs), "nonResourceURLs": urls}


def events_rule() -> Obj:
    """eventsRule(): create, update and patch Events, core and events.k8s.io."""
    return rule(["create", "update", "patch"], ["", "events.k8s.io"], ["events"])


def cluster_role(name: str, rules: list[Obj], labels: dict | None = None, agg: str = "") -> Obj:
    meta = {
        "name": name,
        "labels": {**BOOTSTRAP_LABELS, **(labels or {})},
        "annotations": AUTOUPDATE,
    }
    role: Obj = {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRole",
        "metadata": meta,
        "rules": rules,
    }
    if agg:
        selector = {"matchLabels": {AGGREGATE_TO + agg: "true"}}
        role["aggregationRule"] = {"clusterRoleSelectors": [selector]}
    return role


def subject(kind: str, name: str, namespace: str = "") -> Obj:
    """A binding subject: Group and User carry the RBAC apiGroup, a ServiceAccount its namespace."""
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"apiGroup": RBAC_GROUP, "kind": kind, "name": name}


def cluster_role_binding(name: str, subjects: list[Obj]) -> Obj:
    """NewClusterBinding(name): named like the ClusterRole it grants."""
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": BOOTSTRAP_LABELS, "annotations": AUTOUPDATE},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
        "subjects": subjects,
    }
