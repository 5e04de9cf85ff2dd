"""The Node authorizer: what a kubelet may do, narrowed to the objects of its own pods.

Mirrors kubernetes/plugin/pkg/auth/authorizer/node/node_authorizer.go (NodeAuthorizer.Authorize,
authorizeReadNamespacedObject, authorizeGet, authorizeCreateToken, authorizeLease) and
pkg/auth/nodeidentifier/default.go (NodeIdentity: a `system:node:<name>` user in the
`system:nodes` group). Secrets, ConfigMaps, PersistentVolumeClaims and ServiceAccount tokens
are allowed only when a pod bound to the node references them (node_graph.py); a node's
Lease only under its own name in kube-node-lease; everything else is judged by the
`system:node` rules. Other users get NoOpinion, so the next authorizer (RBAC) decides.
Omitted: PersistentVolumes, VolumeAttachments, ResourceClaims, CSINodes (not served here:
their reads get NoOpinion), and the newer selector checks that limit pod list/watch to
`spec.nodeName` and node reads to the node itself (AuthorizeNodeWithSelectors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from miniapiserver.auth import node_graph
from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.authorizer import DECISION_ALLOW, DECISION_NO_OPINION, Attributes
from miniapiserver.auth.rbac import rule_allows

Obj = dict[str, Any]
NODE_USER_NAME_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
NAMESPACE_NODE_LEASE = "kube-node-lease"
# (group, resource) -> the vertex type its objects have in the graph
READ_BY_REFERENCE = {("", "secrets"): node_graph.SECRET, ("", "configmaps"): node_graph.CONFIGMAP}
NO_OPINION = DECISION_NO_OPINION


def node_identity(user: UserInfo) -> tuple[str, bool]:
    """NodeIdentity: (node name, True) for `system:node:<name>` in group system:nodes."""
    if not user.name.startswith(NODE_USER_NAME_PREFIX) or NODES_GROUP not in user.groups:
        return "", False
    return user.name.removeprefix(NODE_USER_NAME_PREFIX), True


class NodeAuthorizer:
    """node.NewAuthorizer over the pods bound to nodes and the system:node rules."""

    def __init__(self, pods: Callable[[], Iterable[Obj]], node_rules: list[Obj]) -> None:
        self.pods = pods  # every pod the server has; only those bound to the node count
        self.node_rules = node_rules

    def authorize(self, attrs: Attributes) -> tuple[int, str]:
        node, is_node = node_identity(attrs.user)
        if not is_node:
            return NO_OPINION, ""
        if not node:
            return NO_OPINION, f'unknown node for user "{attrs.user.name}"'
        if attrs.resource_request:
            gr = (attrs.api_group, attrs.resource)
            if gr in READ_BY_REFERENCE:
                return self.authorize_read_namespaced_object(node, READ_BY_REFERENCE[gr], attrs)
            if gr == ("", "persistentvolumeclaims"):
                return self.authorize_get(node, node_graph.PVC, attrs)
            if gr == ("", "serviceaccounts"):
                return self.authorize_create_token(node, attrs)
            if gr == ("coordination.k8s.io", "leases"):
                return authorize_lease(node, attrs)
        # Other resources are not subdivided: the static node rules decide.
        if any(rule_allows(attrs, r) for r in self.node_rules):
            return DECISION_ALLOW, ""
        return NO_OPINION, ""

    def authorize_read_namespaced_object(
        self, node: str, kind: str, attrs: Attributes
    ) -> tuple[int, str]:
        if attrs.verb not in ("get", "list", "watch"):
            return NO_OPINION, "can only read resources of this type"
        if attrs.subresource:
            return NO_OPINION, "cannot read subresource"
        if not attrs.namespace:
            return NO_OPINION, "can only read namespaced object of this type"
        return self.authorize_path(node, kind, attrs)

    def authorize_get(self, node: str, kind: str, attrs: Attributes) -> tuple[int, str]:
        if attrs.verb != "get":
            return NO_OPINION, "can only get individual resources of this type"
        if attrs.subresource:
            return NO_OPINION, "cannot get subresource"
        return self.authorize_path(node, kind, attrs)

    def authorize_create_token(self, node: str, attrs: Attributes) -> tuple[int, str]:
        if attrs.verb != "create" or not attrs.name:
            return NO_OPINION, "can only create tokens for individual service accounts"
        if attrs.subresource != "token":
            return NO_OPINION, "can only create token subresource of serviceaccount"
        return self.authorize_path(node, node_graph.SERVICEACCOUNT, attrs)

    def authorize_path(self, node: str, kind: str, attrs: Attributes) -> tuple[int, str]:
        """authorize: allowed when the named object has a path to the node."""
        if not attrs.name:
            return NO_OPINION, "No Object name found"
        if node_graph.has_path_from(self.pods(), node, kind, attrs.namespace, attrs.name):
            return DECISION_ALLOW, ""
        return NO_OPINION, f"no relationship found between node '{node}' and this object"


def authorize_lease(node: str, attrs: Attributes) -> tuple[int, str]:
    """A node's own Lease in kube-node-lease; the name is unknown on create (NodeRestriction)."""
    if attrs.verb not in ("get", "create", "update", "patch", "delete"):
        return NO_OPINION, "can only get, create, update, patch, or delete a node lease"
    if attrs.namespace != NAMESPACE_NODE_LEASE:
        return (
            NO_OPINION,
            f'can only access leases in the "{NAMESPACE_NODE_LEASE}" system namespace',
        )
    if attrs.verb != "create" and attrs.name != node:
        return NO_OPINION, "can only access node lease with the same name as the requesting node"
    return DECISION_ALLOW, ""
