"""The Node authorizer: a kubelet reads only what its own pods reference.

Cases restate upstream's plugin/pkg/auth/authorizer/node/node_authorizer_test.go in our words
(secrets and configmaps by pod references, another node's objects, list without a name,
writes, subresources, ServiceAccount tokens, node leases, the system:node rules for the
rest, non-node users), then the union Node,RBAC gives the 403 text kubectl prints. The
live check (a kubelet's kubeconfig against the toy cluster) is in tests/minicluster.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapiserver.auth import bootstrap_policy, component_policy, node_graph
from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.authorizer import (
    DECISION_ALLOW,
    DECISION_NO_OPINION,
    Attributes,
    Union,
    forbidden_message,
    parse_modes,
)
from miniapiserver.auth.node_authorizer import NodeAuthorizer, node_identity
from miniapiserver.auth.rbac import RBACAuthorizer

from .test_apiserver_rbac import DictPolicy


def pod(name: str, node: str, ns: str = "default", **spec: object) -> dict:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": node, **spec}}


PODS = [
    pod("web", "n1", serviceAccountName="web-sa", imagePullSecrets=[{"name": "pull"}],
        containers=[{"name": "c", "envFrom": [{"configMapRef": {"name": "env-cm"}}],
                     "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "pw"}}}]}],
        volumes=[{"name": "v", "secret": {"secretName": "tls"}},
                 {"name": "p", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}},
                 {"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]),
    pod("db", "n2", volumes=[{"name": "v", "secret": {"secretName": "db-secret"}}]),
    pod("pending", "", volumes=[{"name": "v", "secret": {"secretName": "unbound"}}]),
]  # fmt: skip
N1 = UserInfo("system:node:n1", groups=("system:nodes", "system:authenticated"))
NODE = NodeAuthorizer(lambda: PODS, component_policy.node_rules())


def attrs(user: UserInfo, verb: str, resource: str, ns: str = "", name: str = "", group: str = ""):  # type: ignore[no-untyped-def]
    res, _, sub = resource.partition("/")
    return Attributes(user, verb, True, ns, group, "v1", res, sub, name)


NO_REL = "no relationship found between node 'n1' and this object"
CASES = [
    ("get", "secrets", "default", "tls", "", DECISION_ALLOW, ""),
    ("get", "secrets", "default", "pull", "", DECISION_ALLOW, ""),
    ("watch", "secrets", "default", "pw", "", DECISION_ALLOW, ""),  # fieldSelector name
    ("get", "configmaps", "default", "env-cm", "", DECISION_ALLOW, ""),
    ("get", "configmaps", "default", "kube-root-ca.crt", "", DECISION_ALLOW, ""),
    ("get", "secrets", "default", "db-secret", "", DECISION_NO_OPINION, NO_REL),  # n2's pod
    ("get", "secrets", "default", "unbound", "", DECISION_NO_OPINION, NO_REL),  # unscheduled
    ("get", "secrets", "other", "tls", "", DECISION_NO_OPINION, NO_REL),  # same name, other ns
    ("list", "secrets", "default", "", "", DECISION_NO_OPINION, "No Object name found"),
    ("update", "secrets", "default", "tls", "", DECISION_NO_OPINION,
     "can only read resources of this type"),
    ("list", "secrets", "", "", "", DECISION_NO_OPINION,
     "can only read namespaced object of this type"),
    ("get", "persistentvolumeclaims", "default", "data", "", DECISION_ALLOW, ""),
    ("list", "persistentvolumeclaims", "default", "", "", DECISION_NO_OPINION,
     "can only get individual resources of this type"),
    ("create", "serviceaccounts/token", "default", "web-sa", "", DECISION_ALLOW, ""),
    ("create", "serviceaccounts/token", "default", "default", "", DECISION_NO_OPINION, NO_REL),
    ("get", "serviceaccounts", "default", "web-sa", "", DECISION_NO_OPINION,
     "can only create tokens for individual service accounts"),
    ("update", "leases", "kube-node-lease", "n1", "coordination.k8s.io", DECISION_ALLOW, ""),
    ("create", "leases", "kube-node-lease", "", "coordination.k8s.io", DECISION_ALLOW, ""),
    ("update", "leases", "kube-node-lease", "n2", "coordination.k8s.io", DECISION_NO_OPINION,
     "can only access node lease with the same name as the requesting node"),
    ("get", "leases", "kube-system", "n1", "coordination.k8s.io", DECISION_NO_OPINION,
     'can only access leases in the "kube-node-lease" system namespace'),
    ("list", "leases", "kube-node-lease", "", "coordination.k8s.io", DECISION_NO_OPINION,
     "can only get, create, update, patch, or delete a node lease"),
    # not subdivided: the system:node rules decide (NodeRestriction narrows writes)
    ("patch", "nodes/status", "", "n1", "", DECISION_ALLOW, ""),
    ("watch", "pods", "", "", "", DECISION_ALLOW, ""),
    ("patch", "pods/status", "default", "web", "", DECISION_ALLOW, ""),
    ("list", "services", "", "", "", DECISION_ALLOW, ""),
    ("delete", "nodes", "", "n2", "", DECISION_NO_OPINION, ""),
    ("create", "deployments", "default", "", "apps", DECISION_NO_OPINION, ""),
]  # fmt: skip


@pytest.mark.parametrize("verb,resource,ns,name,group,decision,reason", CASES)
def test_node_authorizer_table(
    verb: str, resource: str, ns: str, name: str, group: str, decision: int, reason: str
) -> None:
    assert NODE.authorize(attrs(N1, verb, resource, ns, name, group)) == (decision, reason)


def test_only_node_identities_are_judged() -> None:
    assert node_identity(N1) == ("n1", True)
    not_in_group = UserInfo("system:node:n1", groups=("system:authenticated",))
    alice = UserInfo("alice", groups=("system:nodes",))
    for user in (not_in_group, alice):
        assert NODE.authorize(attrs(user, "get", "secrets", "default", "tls")) == (
            DECISION_NO_OPINION,
            "",
        )
    nameless = UserInfo("system:node:", groups=("system:nodes",))
    assert NODE.authorize(attrs(nameless, "get", "nodes", "", "n1")) == (
        DECISION_NO_OPINION,
        'unknown node for user "system:node:"',
    )


def test_node_rbac_union_gives_upstreams_forbidden_text() -> None:
    """--authorization-mode=Node,RBAC: RBAC binds system:node to nobody, so the Node reason
    is what the 403 says."""
    assert parse_modes("Node,RBAC") == ["Node", "RBAC"]
    rbac = RBACAuthorizer(
        DictPolicy(
            crbs=bootstrap_policy.cluster_role_bindings(),
            cluster_roles=bootstrap_policy.cluster_roles(),
        )
    )
    chain = Union([NODE, rbac])
    a = attrs(N1, "get", "secrets", "other", "tls")
    decision, reason = chain.authorize(a)
    assert decision == DECISION_NO_OPINION
    assert f"{forbidden_message(a)}: {reason}" == (
        'User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace '
        "\"other\": no relationship found between node 'n1' and this object"
    )
    assert chain.authorize(attrs(N1, "get", "secrets", "default", "tls"))[0] == DECISION_ALLOW


NAMES = st.sampled_from(["a", "b", "c"])


@given(st.lists(st.tuples(NAMES, st.sampled_from(["n1", "n2", ""]), NAMES), max_size=6), NAMES)
def test_a_secret_is_readable_iff_a_pod_on_the_node_mounts_it(pods, secret) -> None:  # type: ignore[no-untyped-def]
    objs = [
        pod(f"p{i}", node, volumes=[{"name": "v", "secret": {"secretName": s}}])
        for i, (_, node, s) in enumerate(pods)
    ]
    authz = NodeAuthorizer(lambda: objs, component_policy.node_rules())
    allowed = authz.authorize(attrs(N1, "get", "secrets", "default", secret))[0] == DECISION_ALLOW
    assert allowed == any(node == "n1" and s == secret for _, node, s in pods)
    assert node_graph.has_path_from(objs, "n1", node_graph.SECRET, "default", secret) == allowed
