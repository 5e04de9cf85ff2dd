"""Each component identity can do what its component needs, and not more.

A table over the default policy (bootstrap_policy.cluster_roles / cluster_role_bindings)
asked through the RBAC authorizer, like upstream's reconciliation of policy.go and the
testdata/cluster-roles.yaml golden file: the users system:kube-scheduler,
system:kube-controller-manager, system:kube-proxy and the controllers' ServiceAccounts
kube-system/<name>, each with the groups its authenticator gives it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from miniapi.errors import StatusError
from miniapiserver.auth import bootstrap_policy, certs, controller_policy
from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.authorizer import DECISION_ALLOW, Attributes
from miniapiserver.auth.rbac import RBACAuthorizer
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client
from minicontroller.clientbuilder import SAControllerClientBuilder

from .conftest import APIServerProcess, start_etcd, stop_etcd
from .test_apiserver_rbac import DictPolicy

AUTHED = "system:authenticated"
SCHED = UserInfo("system:kube-scheduler", groups=(AUTHED,))
KCM = UserInfo("system:kube-controller-manager", groups=(AUTHED,))
PROXY = UserInfo("system:kube-proxy", groups=(AUTHED,))
NODE = UserInfo("system:node:n1", groups=("system:nodes", AUTHED))


def sa(name: str) -> UserInfo:
    groups = ("system:serviceaccounts", "system:serviceaccounts:kube-system", AUTHED)
    return UserInfo(f"system:serviceaccount:kube-system:{name}", groups=groups)


AUTHZ = RBACAuthorizer(
    DictPolicy(
        crbs=bootstrap_policy.cluster_role_bindings(),
        cluster_roles=bootstrap_policy.cluster_roles(),
    )
)

# (user, verb, group, resource/subresource, namespace, name, allowed)
CASES = [
    (SCHED, "create", "", "pods/binding", "default", "web-1", True),
    (SCHED, "watch", "", "pods", "", "", True),
    (SCHED, "patch", "", "pods/status", "default", "web-1", True),
    (SCHED, "delete", "", "pods", "default", "victim", True),  # preemption
    (SCHED, "list", "", "nodes", "", "", True),
    (SCHED, "create", "events.k8s.io", "events", "default", "", True),
    (SCHED, "update", "coordination.k8s.io", "leases", "kube-system", "kube-scheduler", True),
    (SCHED, "update", "coordination.k8s.io", "leases", "kube-system", "other", False),
    (SCHED, "delete", "", "nodes", "", "n1", False),
    (SCHED, "create", "", "pods", "default", "", False),
    (SCHED, "get", "", "secrets", "default", "s", False),
    (SCHED, "update", "", "persistentvolumeclaims", "default", "c", True),  # volume-scheduler
    (KCM, "list", "apps", "deployments", "", "", True),
    (KCM, "watch", "", "secrets", "", "", True),
    (KCM, "create", "", "serviceaccounts/token", "kube-system", "deployment-controller", True),
    (KCM, "create", "", "serviceaccounts", "kube-system", "", True),
    (KCM, "create", "", "pods", "default", "", False),
    (KCM, "delete", "", "nodes", "", "n1", False),
    (KCM, "update", "apps", "deployments", "default", "web", False),
    (PROXY, "watch", "discovery.k8s.io", "endpointslices", "", "", True),
    (PROXY, "list", "", "services", "", "", True),
    (PROXY, "get", "", "nodes", "", "n1", True),
    (PROXY, "update", "", "services", "default", "web", False),
    (PROXY, "get", "", "secrets", "default", "s", False),
    (sa("replicaset-controller"), "create", "", "pods", "default", "", True),
    (sa("replicaset-controller"), "update", "apps", "replicasets/status", "d", "r", True),
    (sa("replicaset-controller"), "update", "apps", "deployments", "default", "web", False),
    (sa("deployment-controller"), "create", "apps", "replicasets", "default", "", True),
    (sa("deployment-controller"), "create", "", "pods", "default", "", False),
    (sa("endpointslice-controller"), "create", "discovery.k8s.io", "endpointslices", "d", "",
     True),
    (sa("endpointslice-controller"), "update", "", "services/finalizers", "d", "web", True),
    (sa("endpointslice-controller"), "delete", "", "pods", "d", "p", False),
    (sa("node-controller"), "patch", "", "nodes", "", "n1", True),
    (sa("node-controller"), "delete", "", "pods", "default", "p", True),
    (sa("node-controller"), "create", "", "pods", "default", "", False),
    (sa("namespace-controller"), "deletecollection", "apps", "deployments", "gone", "", True),
    (sa("namespace-controller"), "update", "", "namespaces/finalize", "", "gone", True),
    (sa("namespace-controller"), "create", "", "pods", "gone", "", False),
    (sa("generic-garbage-collector"), "delete", "apps", "replicasets", "d", "r", True),
    (sa("generic-garbage-collector"), "create", "apps", "replicasets", "d", "", False),
    (sa("service-account-controller"), "create", "", "serviceaccounts", "team", "", True),
    (sa("service-account-controller"), "delete", "", "serviceaccounts", "team", "x", False),
    # system:node is bound to nobody: RBAC alone gives a node nothing beyond discovery
    (NODE, "get", "", "nodes", "", "n1", False),
    # a ServiceAccount of another namespace does not get the controller's role
    (UserInfo("system:serviceaccount:default:replicaset-controller"), "create", "", "pods",
     "default", "", False),
]  # fmt: skip


@pytest.mark.parametrize("user,verb,group,resource,ns,name,allowed", CASES)
def test_component_identity_can_do_what_it_needs_and_no_more(
    user: UserInfo, verb: str, group: str, resource: str, ns: str, name: str, allowed: bool
) -> None:
    res, _, sub = resource.partition("/")
    attrs = Attributes(
        user, verb, True, namespace=ns, api_group=group, resource=res, subresource=sub, name=name
    )
    decision, reason = AUTHZ.authorize(attrs)
    assert (decision == DECISION_ALLOW) is allowed, reason


def test_every_controller_role_is_bound_to_its_service_account_in_kube_system() -> None:
    """addControllerRole: system:controller:<sa> granted to ServiceAccount kube-system/<sa>."""
    roles = {r["metadata"]["name"] for r in controller_policy.controller_roles()}
    for b in controller_policy.controller_role_bindings():
        name = b["metadata"]["name"]
        assert name in roles and name.startswith("system:controller:")
        (subject,) = b["subjects"]
        assert subject == {
            "kind": "ServiceAccount",
            "name": name.removeprefix("system:controller:"),
            "namespace": "kube-system",
        }


def test_default_policy_names_are_unique_and_bindings_point_at_existing_roles() -> None:
    roles = [r["metadata"]["name"] for r in bootstrap_policy.cluster_roles()]
    bindings = [b["metadata"]["name"] for b in bootstrap_policy.cluster_role_bindings()]
    assert len(roles) == len(set(roles)) and len(bindings) == len(set(bindings))
    for b in bootstrap_policy.cluster_role_bindings():
        assert b["roleRef"]["name"] in roles
    node = next(
        b
        for b in bootstrap_policy.cluster_role_bindings()
        if b["metadata"]["name"] == "system:node"
    )
    assert node["subjects"] == []  # upstream keeps it empty: the Node authorizer does the work


def test_components_over_a_real_server_with_node_and_rbac(tmp_path: Path) -> None:
    """--authorization-mode=Node,RBAC, NodeRestriction: the controller manager's clients act as
    their ServiceAccounts (TokenRequest), a kubelet reads only what its pods reference."""
    etcd_url, etcd_proc, etcd_data = start_etcd("etcd")
    pki = tmp_path / "pki"
    certs.generate(pki)
    sa_key = str(certs.service_account_key(pki))
    with open(pki / "tokens.csv", "a") as f:
        f.write("kcm-token,system:kube-controller-manager,system:kube-controller-manager\n")
        f.write('n1-token,system:node:n1,system:node:n1,"system:nodes"\n')
    flags = ["--authorization-mode", "Node,RBAC", "--enable-admission-plugins", "NodeRestriction",
             "--service-account-key-file", sa_key, "--service-account-signing-key-file", sa_key,
             "--service-account-issuer", "https://kubernetes.default.svc.cluster.local"]  # fmt: skip
    server = APIServerProcess(etcd_url, str(tmp_path), flags)
    try:
        asyncio.run(_exercise(server))
    finally:
        server.stop()
        stop_etcd(etcd_proc, etcd_data)


async def _exercise(server: APIServerProcess) -> None:
    base = load_kubeconfig(server.kubeconfig)
    admin = Client(base)
    kcm_config = dataclasses.replace(base, bearer_token="kcm-token")
    kcm, n1 = Client(kcm_config), Client(dataclasses.replace(base, bearer_token="n1-token"))
    builder = SAControllerClientBuilder(kcm, kcm_config)
    try:
        rs = await builder.client("replicaset")
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        who = await rs.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                               body=json.dumps(review).encode())  # fmt: skip
        assert who["status"]["userInfo"]["username"] == (
            "system:serviceaccount:kube-system:replicaset-controller"
        )
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"},
               "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}],
                        "volumes": [{"name": "s", "secret": {"secretName": "mine"}}]}}  # fmt: skip
        with pytest.raises(StatusError) as err:  # the manager itself may not; its controller may
            await _post(kcm, "/api/v1/namespaces/default/pods", pod)
        assert err.value.code == 403
        await _post(rs, "/api/v1/namespaces/default/pods", pod)
        for name in ("mine", "other"):
            secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}}
            await _post(admin, "/api/v1/namespaces/default/secrets", secret)
        await _eventually(lambda: n1.request("GET", "/api/v1/namespaces/default/secrets/mine"))
        with pytest.raises(StatusError) as err:
            await n1.request("GET", "/api/v1/namespaces/default/secrets/other")
        assert err.value.code == 403
        assert "no relationship found between node 'n1' and this object" in str(err.value)
    finally:
        await builder.close()
        for c in (admin, kcm, n1):
            await c.close()


async def _post(client: Client, path: str, obj: dict) -> dict:
    return await client.request("POST", path, body=json.dumps(obj).encode())


async def _eventually(call) -> None:  # type: ignore[no-untyped-def]
    """The authorizer reads the pods' watch cache: the new pod shows up a moment later."""
    for _ in range(50):
        try:
            await call()
            return
        except StatusError as e:
            if e.code != 403:
                raise
            await asyncio.sleep(0.1)
    await call()
