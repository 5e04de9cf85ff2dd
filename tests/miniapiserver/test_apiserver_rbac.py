"""RBAC authorization: the rule evaluation core, then kubectl with several token users.

The core is checked against tables of rules (verbs, API groups, subresources,
resourceNames, nonResourceURLs, wildcards) like upstream's rbac_test.go; the server
is checked with kubectl unchanged: `kubectl auth can-i` for each user and case,
403 Forbidden with upstream's message, nothing stored by a forbidden create.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st

from miniapiserver.auth import bootstrap_policy, reviews
from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.authorizer import (
    DECISION_ALLOW,
    DECISION_NO_OPINION,
    AlwaysAllow,
    Attributes,
    Union,
    forbidden_message,
    parse_modes,
)
from miniapiserver.auth.escalation import (
    breakdown_rule,
    compact_string,
    confirm_no_escalation,
    covers,
)
from miniapiserver.auth.rbac import RBACAuthorizer, RuleResolver, rule_allows

from .conftest import APIServerProcess, start_etcd, stop_etcd


class DictPolicy:
    """A PolicySource over plain dicts (the server reads its watch caches instead)."""

    def __init__(self, crbs=(), rbs=(), cluster_roles=(), roles=()) -> None:  # type: ignore[no-untyped-def]
        self.crbs, self.rbs = list(crbs), list(rbs)
        self.crs = {r["metadata"]["name"]: r for r in cluster_roles}
        self.rs = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in roles}

    def cluster_role_bindings(self):  # type: ignore[no-untyped-def]
        return self.crbs

    def role_bindings(self, namespace: str):  # type: ignore[no-untyped-def]
        return [b for b in self.rbs if b["metadata"]["namespace"] == namespace]

    def cluster_role(self, name: str):  # type: ignore[no-untyped-def]
        return self.crs.get(name)

    def role(self, namespace: str, name: str):  # type: ignore[no-untyped-def]
        return self.rs.get((namespace, name))


def binding(name: str, ns: str, role_kind: str, role: str, *subjects: tuple[str, str]) -> dict:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {
        "metadata": meta,
        "roleRef": {"kind": role_kind, "name": role},
        "subjects": [{"kind": k, "name": n} for k, n in subjects],
    }


def res(user: UserInfo, verb: str, resource: str, ns: str = "", **kw: str) -> Attributes:
    return Attributes(user, verb, True, namespace=ns, resource=resource, **kw)


ALICE = UserInfo("alice", groups=("devs", "system:authenticated"))

RULE_CASES = [
    # (rule, attributes, allowed)
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, ("get", "pods", "", ""), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, ("list", "pods", "", ""), False),
    ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}, ("delete", "pods", "", ""), True),
    ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods"]}, ("get", "pods", "", ""), False),
    ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["pods"]}, ("get", "pods", "", ""), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, ("get", "pods", "log", ""), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, ("get", "pods", "log", ""), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, ("get", "pods", "", ""), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, ("get", "pods", "log", ""), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, ("get", "pods", "exec", ""), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}, ("get", "pods", "status", ""), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
     ("get", "pods", "", "a"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
     ("get", "pods", "", "b"), False),
    ({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
     ("list", "pods", "", ""), False),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "request_", "allowed"), RULE_CASES)
def test_rule_allows_resource_requests(rule: dict, request_: tuple, allowed: bool) -> None:
    verb, resource, sub, name = request_
    attrs = res(ALICE, verb, resource, "ns", subresource=sub, name=name)
    assert rule_allows(attrs, rule) is allowed


@pytest.mark.parametrize(
    ("urls", "path", "allowed"),
    [
        (["/healthz"], "/healthz", True),
        (["/healthz"], "/healthz/etcd", False),
        (["/apis/*"], "/apis/apps/v1", True),
        (["/apis/*"], "/api", False),
        (["*"], "/anything", True),
    ],
)
def test_rule_allows_non_resource_urls(urls: list[str], path: str, allowed: bool) -> None:
    rule = {"verbs": ["get"], "nonResourceURLs": urls}
    assert rule_allows(Attributes(ALICE, "get", False, path=path), rule) is allowed
    assert not rule_allows(Attributes(ALICE, "post", False, path=path), rule)


def test_cluster_bindings_are_visited_before_role_bindings_and_reasons_name_the_source() -> None:
    policy = DictPolicy(
        crbs=[binding("devs-view", "", "ClusterRole", "view", ("Group", "devs"))],
        rbs=[
            binding("alice-edit", "team", "ClusterRole", "edit", ("User", "alice")),
            binding("gone", "team", "Role", "missing", ("User", "alice")),
        ],
        cluster_roles=bootstrap_policy.cluster_roles(),
    )
    authz = RBACAuthorizer(policy)
    decision, reason = authz.authorize(res(ALICE, "list", "pods", "team"))
    assert decision == DECISION_ALLOW
    assert (
        reason
        == 'RBAC: allowed by ClusterRoleBinding "devs-view" of ClusterRole "view" to Group "devs"'
    )
    decision, reason = authz.authorize(res(ALICE, "create", "pods", "team"))
    assert (
        reason
        == 'RBAC: allowed by RoleBinding "alice-edit/team" of ClusterRole "edit" to User "alice"'
    )
    # Nothing in "other" but the cluster binding: view reads, but does not write.
    assert authz.authorize(res(ALICE, "create", "pods", "other")) == (DECISION_NO_OPINION, "")
    # A binding to a missing role is an error the reason reports; the rest still apply.
    decision, reason = authz.authorize(res(ALICE, "delete", "nodes", "team"))
    assert (decision, reason) == (
        DECISION_NO_OPINION,
        'RBAC: role.rbac.authorization.k8s.io "missing" not found',
    )


def test_service_account_subjects_default_to_the_binding_namespace() -> None:
    b = binding("sa", "team", "ClusterRole", "view", ("ServiceAccount", "builder"))
    authz = RBACAuthorizer(DictPolicy(rbs=[b], cluster_roles=bootstrap_policy.cluster_roles()))
    sa = UserInfo("system:serviceaccount:team:builder")
    assert authz.authorize(res(sa, "get", "pods", "team"))[0] == DECISION_ALLOW
    other = UserInfo("system:serviceaccount:other:builder")
    assert authz.authorize(res(other, "get", "pods", "team"))[0] == DECISION_NO_OPINION


def test_bootstrap_aggregation_nests_view_in_edit_in_admin() -> None:
    roles = {r["metadata"]["name"]: r for r in bootstrap_policy.cluster_roles()}
    view, edit, admin = (roles[n]["rules"] for n in ("view", "edit", "admin"))
    assert view and all(r in edit for r in view) and all(r in admin for r in edit)
    assert not any("secrets" in r["resources"] for r in view)
    assert any("secrets" in r["resources"] for r in edit)
    assert any("rolebindings" in r["resources"] for r in admin)
    assert not any("rolebindings" in r["resources"] for r in edit)


NAMES = st.text("abcdefghij-/", min_size=1, max_size=12)


@given(verb=NAMES, group=NAMES, resource=NAMES, sub=st.sampled_from(["", "status", "log"]),
       ns=st.sampled_from(["", "default"]), name=st.sampled_from(["", "x"]))  # fmt: skip
def test_cluster_admin_allows_everything_and_strangers_nothing(  # type: ignore[no-untyped-def]
    verb, group, resource, sub, ns, name
) -> None:
    policy = DictPolicy(
        crbs=bootstrap_policy.cluster_role_bindings(),
        cluster_roles=bootstrap_policy.cluster_roles(),
    )
    authz = RBACAuthorizer(policy)
    attrs = dict(namespace=ns, api_group=group, resource=resource, subresource=sub, name=name)
    root = UserInfo("root", groups=("system:masters",))
    assert authz.authorize(Attributes(root, verb, True, **attrs))[0] == DECISION_ALLOW
    nobody = UserInfo("nobody", groups=("system:authenticated",))
    basic = verb == "create" and resource.startswith("selfsubject") and not sub and not name
    if not basic:
        assert authz.authorize(Attributes(nobody, verb, True, **attrs))[0] == DECISION_NO_OPINION


def test_forbidden_messages_and_modes() -> None:
    assert forbidden_message(res(ALICE, "list", "pods", "default")) == (
        'User "alice" cannot list resource "pods" in API group "" in the namespace "default"'
    )
    attrs = Attributes(
        ALICE, "get", True, api_group="apps", resource="deployments", subresource="scale"
    )
    assert forbidden_message(attrs) == (
        'User "alice" cannot get resource "deployments/scale" in API group "apps" at the cluster scope'
    )
    assert forbidden_message(Attributes(ALICE, "get", False, path="/metrics")) == (
        'User "alice" cannot get path "/metrics"'
    )
    assert parse_modes("AlwaysAllow,RBAC") == ["AlwaysAllow", "RBAC"]
    for bad in ("ABAC", "RBAC,RBAC", ""):
        with pytest.raises(ValueError):
            parse_modes(bad)
    union = Union([RBACAuthorizer(DictPolicy()), AlwaysAllow()])
    assert union.authorize(res(ALICE, "get", "pods"))[0] == DECISION_ALLOW


def test_review_validation_errors() -> None:
    authz = AlwaysAllow()
    with pytest.raises(Exception) as e:
        reviews.answer("SubjectAccessReview", {"spec": {"resourceAttributes": {}}}, ALICE, authz)
    assert e.value.code == 422  # type: ignore[attr-defined]
    assert "at least one of user or group must be specified" in str(e.value)
    with pytest.raises(Exception) as e:
        reviews.answer("SelfSubjectAccessReview", {"spec": {}}, ALICE, authz)
    assert "exactly one of nonResourceAttributes or resourceAttributes" in str(e.value)


# ---- kubectl against the server with --authorization-mode=RBAC ----

USERS = {  # token -> (user, groups)
    "alice-token": ("alice", ""),
    "bob-token": ("bob", "ops"),
    "carol-token": ("carol", "devs"),
    "dave-token": ("dave", ""),
    "erin-token": ("erin", ""),
    "frank-token": ("frank", ""),
}

POLICY = """
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-view, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: app-config, namespace: team-a}
rules:
- {apiGroups: [""], resources: [configmaps], resourceNames: [app-config], verbs: [get, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-app-config, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app-config}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-reader}
rules:
- {apiGroups: [""], resources: [nodes], verbs: [get, list, watch]}
- {nonResourceURLs: [/metrics], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-node-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: ops}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: devs-edit, namespace: team-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: devs}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: status-reader}
rules:
- {apiGroups: ["*"], resources: ["*/status"], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: erin-status}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: status-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: erin}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: frank-admin, namespace: team-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: frank}]
"""


@pytest.fixture(scope="module")
def rbac_server() -> Iterator[APIServerProcess]:
    """miniapiserver with --authorization-mode=RBAC; the token file has five more users."""
    from miniapiserver.auth import certs

    etcd_url, etcd_proc, etcd_data = start_etcd("etcd")
    workdir = tempfile.mkdtemp(prefix=f"miniapiserver-rbac-{os.getpid()}-")
    certs.generate(Path(workdir, "pki"))
    with open(Path(workdir, "pki", "tokens.csv"), "a") as f:
        for token, (user, groups) in USERS.items():
            f.write(f'{token},{user},uid-{user},"{groups}"\n')
    server = APIServerProcess(etcd_url, workdir, ["--authorization-mode", "RBAC"])
    try:
        server.kubectl("apply", "-f", "-", stdin=POLICY)
        # The authorizer reads the watch caches: wait for the last binding to show.
        deadline = time.monotonic() + 20
        while (
            as_user(
                server, "erin", "auth", "can-i", "get", "pods", "--subresource=status"
            ).returncode
            != 0
        ):
            assert time.monotonic() < deadline, "the bindings never took effect"
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        stop_etcd(etcd_proc, etcd_data)


def as_user(server: APIServerProcess, user: str, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return server.kubectl(*args, "--token", f"{user}-token", check=False, stdin=stdin)


CAN_I = [
    # (user, kubectl auth can-i arguments, expected)
    ("alice", ["list", "pods", "-n", "team-a"], True),  # RoleBinding to ClusterRole view
    ("alice", ["list", "pods", "-n", "team-b"], False),  # ... only in its namespace
    ("alice", ["list", "pods", "--all-namespaces"], False),  # ... not cluster-wide
    ("alice", ["create", "pods", "-n", "team-a"], False),  # view does not write
    ("alice", ["get", "secrets", "-n", "team-a"], False),  # view does not read secrets
    ("alice", ["get", "pods", "--subresource=log", "-n", "team-a"], True),  # pods/log in view
    ("alice", ["create", "pods", "--subresource=exec", "-n", "team-a"], False),
    ("alice", ["get", "configmaps/app-config", "-n", "team-a"], True),  # resourceNames
    ("alice", ["update", "configmaps/app-config", "-n", "team-a"], True),
    ("alice", ["update", "configmaps/other", "-n", "team-a"], False),
    ("alice", ["list", "deployments.apps", "-n", "team-a"], True),
    ("bob", ["list", "nodes"], True),  # ClusterRoleBinding to group ops
    ("bob", ["delete", "nodes"], False),
    ("bob", ["get", "/metrics"], True),  # nonResourceURLs
    ("bob", ["get", "/logs"], False),
    ("bob", ["list", "pods", "-n", "team-a"], False),
    ("carol", ["create", "deployments.apps", "-n", "team-b"], True),  # group devs, edit
    ("carol", ["delete", "secrets", "-n", "team-b"], True),
    ("carol", ["create", "rolebindings.rbac.authorization.k8s.io", "-n", "team-b"], False),
    ("carol", ["create", "deployments.apps", "-n", "team-a"], False),
    ("erin", ["get", "deployments.apps", "--subresource=status", "-n", "x"], True),  # */status
    ("erin", ["get", "nodes", "--subresource=status"], True),
    ("erin", ["get", "deployments.apps", "-n", "x"], False),
    ("erin", ["update", "pods", "--subresource=status", "-n", "x"], False),
    ("dave", ["get", "pods"], False),
    ("dave", ["create", "selfsubjectaccessreviews.authorization.k8s.io"], True),  # basic-user
    ("dave", ["get", "/api"], True),  # system:discovery
]


@pytest.mark.tool("etcd", "kubectl")
def test_kubectl_auth_can_i_table(rbac_server: APIServerProcess) -> None:
    wrong = []
    for user, args, expected in CAN_I:
        out = as_user(rbac_server, user, "auth", "can-i", *args)
        answer = out.stdout.strip()
        if out.returncode != (0 if expected else 1) or answer != ("yes" if expected else "no"):
            wrong.append((user, args, expected, out.stdout, out.stderr))
    assert not wrong
    # The admin of the generated kubeconfig is in system:masters: cluster-admin.
    assert rbac_server.kubectl("auth", "can-i", "delete", "nodes").stdout.strip() == "yes"


@pytest.mark.tool("etcd", "kubectl")
def test_forbidden_requests_get_upstreams_403_and_store_nothing(
    rbac_server: APIServerProcess,
) -> None:
    out = as_user(rbac_server, "dave", "get", "pods", "-n", "default")
    assert out.returncode == 1
    assert out.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "dave" cannot list resource '
        '"pods" in API group "" in the namespace "default"'
    )
    out = as_user(rbac_server, "alice", "get", "nodes", "n1")
    assert (
        'nodes "n1" is forbidden: User "alice" cannot get resource "nodes" in API group "" at the cluster scope'
        in out.stderr
    )
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sneaky, namespace: team-a}\n"
    out = as_user(rbac_server, "alice", "create", "-f", "-", stdin=cm)
    assert out.returncode == 1 and "(Forbidden)" in out.stderr
    assert (
        'cannot create resource "configmaps" in API group "" in the namespace "team-a"'
        in out.stderr
    )
    got = rbac_server.kubectl("get", "configmap", "sneaky", "-n", "team-a", check=False)
    assert got.returncode == 1 and "NotFound" in got.stderr
    # The same create by a user who may: it is stored.
    ok = as_user(rbac_server, "carol", "create", "-f", "-", stdin=cm.replace("team-a", "team-b"))
    assert ok.returncode == 0, ok.stderr


@pytest.mark.tool("etcd", "kubectl")
def test_whoami_and_subject_access_review(rbac_server: APIServerProcess) -> None:
    me = json.loads(as_user(rbac_server, "bob", "auth", "whoami", "-o", "json").stdout)
    assert me["status"]["userInfo"] == {
        "username": "bob",
        "uid": "uid-bob",
        "groups": ["ops", "system:authenticated"],
    }
    sar = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": "carol", "groups": ["devs"],
                 "resourceAttributes": {"verb": "delete", "resource": "secrets", "namespace": "team-b"}},
    }  # fmt: skip
    out = rbac_server.kubectl(
        "create", "--validate=false", "-o", "json", "-f", "-", stdin=json.dumps(sar)
    )
    status = json.loads(out.stdout)["status"]
    assert status == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "devs-edit/team-b" of ClusterRole "edit" to Group "devs"',
    }
    # Only those bound to it may ask about others: dave may not.
    out = as_user(
        rbac_server, "dave", "create", "--validate=false", "-f", "-", stdin=json.dumps(sar)
    )
    assert (
        'cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope'
        in out.stderr
    )


# ---- escalation prevention ----

COVER_CASES = [
    # (owner rule, servant rule, covered)
    ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
     {"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments"]}, True),
    ({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
     {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
     {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}, False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]},
     {"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
     {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
     {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]}, True),
    ({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]},
     {"verbs": ["get"], "nonResourceURLs": ["/apis/apps"]}, True),
    ({"verbs": ["get"], "nonResourceURLs": ["/apis"]},
     {"verbs": ["get"], "nonResourceURLs": ["/apis/apps"]}, False),
]  # fmt: skip


@pytest.mark.parametrize(("owner", "servant", "covered"), COVER_CASES)
def test_covers(owner: dict, servant: dict, covered: bool) -> None:
    assert covers([owner], [servant])[0] is covered


def test_breakdown_and_the_escalation_message() -> None:
    rule = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "nodes"]}
    assert len(breakdown_rule(rule)) == 4
    assert (
        compact_string(rule) == '{APIGroups:[""], Resources:["pods" "nodes"], Verbs:["get" "list"]}'
    )
    policy = DictPolicy(
        rbs=[binding("a", "team", "ClusterRole", "view", ("User", "alice"))],
        cluster_roles=bootstrap_policy.cluster_roles(),
    )
    wanted = [{"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods", "secrets"]}]
    msg = confirm_no_escalation(RuleResolver(policy), ALICE, "team", wanted)
    assert msg == (
        'user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC '
        "permissions not currently held:\n"
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}'
    )
    held = [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]
    assert confirm_no_escalation(RuleResolver(policy), ALICE, "team", held) is None


ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: NAME, namespace: team-b}
rules: [RULE]
"""
BINDING = """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: NAME, namespace: team-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ROLE}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: dave}]
"""


@pytest.mark.tool("etcd", "kubectl")
def test_escalation_attempts_are_refused(rbac_server: APIServerProcess) -> None:
    def create(text: str):  # type: ignore[no-untyped-def]
        return as_user(rbac_server, "frank", "create", "-f", "-", stdin=text)

    held = "{apiGroups: [''], resources: [secrets], verbs: [get]}"
    ok = create(ROLE.replace("NAME", "secret-reader").replace("RULE", held))
    assert ok.returncode == 0, ok.stderr
    more = "{apiGroups: [''], resources: [nodes], verbs: [list]}"
    out = create(ROLE.replace("NAME", "node-lister").replace("RULE", more))
    assert out.returncode == 1
    assert out.stderr.strip() == (
        'Error from server (Forbidden): error when creating "STDIN": roles.rbac.authorization.k8s.io '
        '"node-lister" is forbidden: user "frank" (groups=["system:authenticated"]) is attempting '
        "to grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["nodes"], Verbs:["list"]}'
    )
    assert rbac_server.kubectl("get", "role", "node-lister", "-n", "team-b", check=False).returncode
    ok = create(BINDING.replace("NAME", "dave-view").replace("ROLE", "view"))
    assert ok.returncode == 0, ok.stderr
    out = create(BINDING.replace("NAME", "dave-root").replace("ROLE", "cluster-admin"))
    assert (
        out.returncode == 1
        and "attempting to grant RBAC permissions not currently held" in out.stderr
    )
    # Patching a held role into one with more rules is refused the same way.
    patch = '{"rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]}'
    out = as_user(rbac_server, "frank", "patch", "role", "secret-reader", "-n", "team-b",
                  "--type=merge", "-p", patch)  # fmt: skip
    assert out.returncode == 1 and "not currently held" in out.stderr
    # The admin (system:masters) may grant anything.
    rbac_server.kubectl(
        "create", "-f", "-", stdin=ROLE.replace("NAME", "node-lister").replace("RULE", more)
    )


def test_anonymous_requests_under_rbac(rbac_server: APIServerProcess) -> None:
    """--anonymous-auth keeps its default (true) with RBAC: system:anonymous, then 403.

    Over plain HTTPS: kubectl with a credential-less kubeconfig prompts for a username.
    """
    pool = urllib3.PoolManager(ca_certs=rbac_server.ca)
    for path in ("/healthz", "/livez", "/readyz", "/version"):  # system:public-info-viewer
        assert pool.request("GET", rbac_server.url + path).status == 200, path
    r = pool.request("GET", rbac_server.url + "/api/v1/namespaces/default/pods")
    body = json.loads(r.data)
    assert (r.status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == (
        'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" '
        'in the namespace "default"'
    )
    r = pool.request("GET", rbac_server.url + "/apis")  # system:discovery: authenticated only
    assert json.loads(r.data)["message"] == (
        'forbidden: User "system:anonymous" cannot get path "/apis"'
    )
    bad = pool.request("GET", rbac_server.url + "/healthz", headers={"Authorization": "Bearer x"})
    assert bad.status == 401  # a refused token is not anonymous
