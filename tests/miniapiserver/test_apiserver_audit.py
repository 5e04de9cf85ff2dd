"""Audit logging (and impersonation): rule matching, and the Events kubectl's requests leave.

The policy checker is tested as a table of upstream's matching cases (users,
groups, verbs, resources with subresource and resourceName wildcards, namespaces,
non-resource URL prefixes, first match wins) and with hypothesis (a rule only ever
matches fewer requests when a constraint is added). A real server with
--authorization-mode=RBAC and an audit policy then serves two token users through
kubectl: the log must hold audit.k8s.io/v1 Events with the stages, levels, objects,
response codes and authorization annotations upstream writes; `kubectl --as` /
`--as-group` (impersonation) act as the other user, refused where RBAC does not
grant `impersonate`, and the Event keeps both users.
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

from miniapiserver.audit import policy as audit_policy
from miniapiserver.audit.policy import GroupResources, PolicyRule, rule_matches
from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.authorizer import Attributes

from .conftest import APIServerProcess

ALICE = UserInfo("alice", "", ("devs", "system:authenticated"))


def res(verb: str, resource: str, ns: str = "", name: str = "", sub: str = "", group: str = ""):  # type: ignore[no-untyped-def]
    return Attributes(ALICE, verb, True, ns, group, "v1", resource, sub, name)


def url(path: str, verb: str = "get") -> Attributes:
    return Attributes(ALICE, verb, False, path=path)


PODS = GroupResources("", ("pods",))
CASES = [
    (PolicyRule("Metadata"), res("get", "pods", "ns1"), True),
    (PolicyRule("Metadata", users=("bob",)), res("get", "pods"), False),
    (PolicyRule("Metadata", users=("alice",)), res("get", "pods"), True),
    (PolicyRule("Metadata", user_groups=("ops", "devs")), res("get", "pods"), True),
    (PolicyRule("Metadata", user_groups=("ops",)), res("get", "pods"), False),
    (PolicyRule("Metadata", verbs=("list", "watch")), res("get", "pods"), False),
    (PolicyRule("Metadata", resources=(PODS,)), res("get", "pods", "ns1"), True),
    (PolicyRule("Metadata", resources=(PODS,)), res("get", "pods", sub="log"), False),
    (PolicyRule("Metadata", resources=(GroupResources("", ("pods/log",)),)),
     res("get", "pods", sub="log"), True),
    (PolicyRule("Metadata", resources=(GroupResources("", ("pods/*",)),)),
     res("get", "pods", sub="status"), True),
    (PolicyRule("Metadata", resources=(GroupResources("", ("*/status",)),)),
     res("update", "deployments", sub="status"), True),
    (PolicyRule("Metadata", resources=(GroupResources("", ("*/status",)),)),
     res("update", "deployments"), False),
    (PolicyRule("Metadata", resources=(GroupResources("apps", ("*",)),)),
     res("get", "deployments", group="apps"), True),
    (PolicyRule("Metadata", resources=(GroupResources("apps", ("*",)),)),
     res("get", "pods"), False),
    (PolicyRule("Metadata", resources=(GroupResources("apps"),)),
     res("get", "replicasets", group="apps"), True),
    (PolicyRule("Metadata", resources=(GroupResources("", ("configmaps",), ("cfg",)),)),
     res("get", "configmaps", name="cfg"), True),
    (PolicyRule("Metadata", resources=(GroupResources("", ("configmaps",), ("cfg",)),)),
     res("list", "configmaps"), False),
    (PolicyRule("Metadata", namespaces=("kube-system",)), res("get", "pods", "kube-system"), True),
    (PolicyRule("Metadata", namespaces=("kube-system",)), res("get", "pods", "default"), False),
    (PolicyRule("Metadata", namespaces=("",)), res("get", "nodes"), True),  # cluster scope
    (PolicyRule("Metadata", namespaces=("kube-system",)), url("/healthz"), False),
    (PolicyRule("Metadata", non_resource_urls=("/healthz*",)), url("/healthz/etcd"), True),
    (PolicyRule("Metadata", non_resource_urls=("/healthz",)), url("/healthz/etcd"), False),
    (PolicyRule("Metadata", non_resource_urls=("*",)), url("/metrics"), True),
    (PolicyRule("Metadata", non_resource_urls=("*",)), res("get", "pods"), False),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "attrs", "matches"), CASES)
def test_rule_matching_table(rule: PolicyRule, attrs: Attributes, matches: bool) -> None:
    assert rule_matches(rule, attrs) is matches


def test_first_matching_rule_wins_and_stages_add_up() -> None:
    policy = audit_policy.parse(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n"
        "- {level: None, users: [system:kube-proxy]}\n"
        "- {level: RequestResponse, resources: [{group: '', resources: [configmaps]}],"
        " omitStages: [ResponseStarted]}\n"
        "- {level: Metadata}\n"
    )
    cfg = audit_policy.evaluate(policy, res("get", "configmaps", "default"))
    assert cfg.level == "RequestResponse"
    assert cfg.omit_stages == {"RequestReceived", "ResponseStarted"}
    assert audit_policy.evaluate(policy, res("get", "pods")).level == "Metadata"
    proxy = Attributes(UserInfo("system:kube-proxy"), "list", True, resource="configmaps")
    assert audit_policy.evaluate(policy, proxy).level == "None"
    only = audit_policy.parse(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata, users: [x]}]"
    )
    assert audit_policy.evaluate(only, res("get", "pods")).level == "None"  # no rule: None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []", "illegal policy with 0 rules"),
        ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Everything}]",
         'rules[0].level: Unsupported value: "Everything"'),
        ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, "
         "nonResourceURLs: [/x], resources: [{group: ''}]}]",
         "rules cannot apply to both regular resources and non-resource URLs"),
        ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, omitStages: [Later]}]",
         'rules[0].omitStages: Unsupported value: "Later"'),
        ("apiVersion: v1\nkind: Pod\n", "not an audit.k8s.io Policy"),
    ],
)  # fmt: skip
def test_bad_policies_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as e:
        audit_policy.parse(text)
    assert message in str(e.value)


names = st.sampled_from(["alice", "bob", "system:anonymous"])
words = st.sampled_from(["pods", "configmaps", "nodes", "deployments"])
attrs_st = st.builds(
    Attributes,
    user=st.builds(UserInfo, names, st.just(""), st.lists(st.sampled_from(["devs", "ops"])).map(tuple)),
    verb=st.sampled_from(["get", "list", "create", "watch"]),
    resource_request=st.booleans(),
    namespace=st.sampled_from(["", "default", "kube-system"]),
    api_group=st.sampled_from(["", "apps"]),
    resource=words,
    subresource=st.sampled_from(["", "status", "log"]),
    name=st.sampled_from(["", "a", "b"]),
    path=st.sampled_from(["/healthz", "/healthz/etcd", "/metrics", "/api"]),
)  # fmt: skip
rules_st = st.builds(
    PolicyRule,
    level=st.just("Metadata"),
    users=st.lists(names, max_size=2).map(tuple),
    user_groups=st.lists(st.sampled_from(["devs", "ops"]), max_size=2).map(tuple),
    verbs=st.lists(st.sampled_from(["get", "list", "create"]), max_size=2).map(tuple),
    resources=st.lists(
        st.builds(
            GroupResources,
            st.sampled_from(["", "apps"]),
            st.lists(st.sampled_from(["pods", "*", "pods/*", "*/status", "nodes"]), max_size=2)
            .map(tuple),
            st.lists(st.sampled_from(["a", "b"]), max_size=1).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
    namespaces=st.lists(st.sampled_from(["", "default"]), max_size=1).map(tuple),
)  # fmt: skip


@given(rule=rules_st, attrs=attrs_st, extra_user=names, extra_verb=st.sampled_from(["get", "list"]))
def test_a_constraint_never_widens_a_rule(
    rule: PolicyRule, attrs: Attributes, extra_user: str, extra_verb: str
) -> None:
    """Narrowing users or verbs keeps every match a match of the wider rule."""
    narrower = PolicyRule(
        rule.level, rule.users or (extra_user,), rule.user_groups, rule.verbs or (extra_verb,),
        rule.resources, rule.namespaces,
    )  # fmt: skip
    if rule_matches(narrower, attrs):
        assert rule_matches(rule, attrs)
    # an unconstrained rule matches every request
    assert rule_matches(PolicyRule("None"), attrs)


@given(
    level=st.sampled_from(audit_policy.LEVELS[1:]),
    stage=st.sampled_from(["RequestReceived", "ResponseStarted", "ResponseComplete"]),
    code=st.sampled_from([200, 201, 403, 404]),
)
def test_what_an_event_holds_follows_its_level(level: str, stage: str, code: int) -> None:
    """Objects only at Request / RequestResponse; the response only once it is complete."""
    from datetime import UTC, datetime

    from miniapiserver.audit.event import new_event
    from miniapiserver.audit.policy import RequestAuditConfig
    from miniapiserver.endpoints.requestinfo import new_request_info

    ri = new_request_info("POST", "/api/v1/namespaces/ns/configmaps", "")
    t = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    ev = new_event(RequestAuditConfig(level), "id", ri, "/api/v1/namespaces/ns/configmaps",
                   ALICE, ["127.0.0.1"], "ua", t)  # fmt: skip
    obj = {"kind": "ConfigMap", "metadata": {"name": "c", "managedFields": [{}]}}
    ev.log_request_object(obj)
    ev.log_response(code, {**obj, "metadata": {"name": "c", "uid": "u"}})
    out = ev.to_json(stage, t)
    assert out["objectRef"] == {"resource": "configmaps", "namespace": "ns", "name": "c",
                                "apiVersion": "v1"}  # fmt: skip
    assert ("requestObject" in out) is (level in ("Request", "RequestResponse"))
    assert ("responseObject" in out) is (level == "RequestResponse" and stage == "ResponseComplete")
    assert ("responseStatus" in out) is (stage != "RequestReceived")
    assert out["requestReceivedTimestamp"] == "2026-01-02T03:04:05.678901Z"


# ---- a real server: kubectl as two users, the log read back ----

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: ["/api*", "/apis*", "/openapi*", "/version", "/healthz*"]
- level: None
  users: ["admin"]
- level: RequestResponse
  resources: [{group: "", resources: ["configmaps"]}]
- level: Request
  resources: [{group: "", resources: ["secrets"]}]
  omitStages: [RequestReceived]
- level: Metadata
  omitStages: [RequestReceived]
"""
BINDINGS = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-edit, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-alice}
rules:
- {apiGroups: [""], resources: [users], resourceNames: [alice], verbs: [impersonate]}
- {apiGroups: [""], resources: [groups], verbs: [impersonate]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bob-impersonates-alice}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-alice}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
"""


@pytest.fixture(scope="module")
def audited() -> Iterator[tuple[APIServerProcess, Path]]:
    from miniapiserver.auth import certs

    workdir = tempfile.mkdtemp(prefix=f"miniapiserver-audit-{os.getpid()}-")
    certs.generate(Path(workdir, "pki"))
    with open(Path(workdir, "pki", "tokens.csv"), "a") as f:
        f.write('alice-token,alice,uid-alice,"devs"\nbob-token,bob,uid-bob,""\n')
    Path(workdir, "policy.yaml").write_text(POLICY)
    log = Path(workdir, "audit.log")
    extra = ["--authorization-mode", "RBAC", "--audit-policy-file", f"{workdir}/policy.yaml",
             "--audit-log-path", str(log)]  # fmt: skip
    server = APIServerProcess("", workdir, extra)  # the embedded store
    try:
        server.kubectl("apply", "-f", "-", stdin=BINDINGS)
        deadline = time.monotonic() + 20
        while (
            as_user(server, "alice", "auth", "can-i", "create", "configmaps").returncode
            or as_user(server, "bob", "auth", "can-i", "get", "pods", "--as", "alice").returncode
        ):
            assert time.monotonic() < deadline, "the binding never took effect"
            time.sleep(0.1)
        yield server, log
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def as_user(server: APIServerProcess, user: str, *args: str):  # type: ignore[no-untyped-def]
    return server.kubectl(*args, "--token", f"{user}-token", check=False)


def events(log: Path, **match: str) -> list[dict]:
    out = []
    for line in log.read_text().splitlines():
        ev = json.loads(line)
        ref = ev.get("objectRef", {})
        got = {"user": ev["user"].get("username", ""), "verb": ev["verb"], **ref}
        if all(got.get(k) == v for k, v in match.items()):
            out.append(ev)
    return out


def test_two_users_leave_the_events_upstream_writes(audited) -> None:  # type: ignore[no-untyped-def]
    server, log = audited
    assert (
        as_user(server, "alice", "create", "configmap", "cfg", "--from-literal=k=v").returncode == 0
    )
    denied = as_user(server, "bob", "get", "configmaps")
    assert "forbidden" in denied.stderr
    assert (
        as_user(
            server, "alice", "create", "secret", "generic", "s", "--from-literal=p=q"
        ).returncode
        == 0
    )
    assert as_user(server, "bob", "auth", "whoami").returncode == 0

    created = events(log, user="alice", verb="create", resource="configmaps")
    assert [e["stage"] for e in created] == ["RequestReceived", "ResponseComplete"]
    assert created[0]["auditID"] == created[1]["auditID"]
    done = created[1]
    assert done["kind"] == "Event" and done["apiVersion"] == "audit.k8s.io/v1"
    assert done["level"] == "RequestResponse"
    assert done["user"] == {"username": "alice", "uid": "uid-alice",
                            "groups": ["devs", "system:authenticated"]}  # fmt: skip
    assert done["sourceIPs"] == ["127.0.0.1"] and done["userAgent"].startswith("kubectl/")
    assert done["requestURI"].startswith("/api/v1/namespaces/default/configmaps?")
    assert done["objectRef"] == {"resource": "configmaps", "namespace": "default",
                                 "name": "cfg", "apiVersion": "v1"}  # fmt: skip
    assert done["responseStatus"] == {"metadata": {}, "code": 201}
    assert done["requestObject"]["data"] == {"k": "v"}
    assert done["responseObject"]["metadata"]["uid"]
    assert done["annotations"]["authorization.k8s.io/decision"] == "allow"
    assert done["annotations"]["authorization.k8s.io/reason"] == (
        'RBAC: allowed by RoleBinding "alice-edit/default" of ClusterRole "edit" to User "alice"'
    )
    assert done["requestReceivedTimestamp"] <= done["stageTimestamp"]
    assert "responseStatus" not in created[0] and "requestObject" not in created[0]

    stages = [e["stage"] for e in events(log, user="bob", verb="list", resource="configmaps")]
    assert stages == ["RequestReceived", "ResponseComplete"]
    forbidden = events(log, user="bob", verb="list", resource="configmaps")[1]
    assert forbidden["responseStatus"]["code"] == 403
    assert forbidden["responseStatus"]["reason"] == "Forbidden"
    assert forbidden["responseStatus"]["message"] == (
        'configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" '
        'in the namespace "default"'
    )
    assert forbidden["annotations"]["authorization.k8s.io/decision"] == "forbid"

    (secret,) = events(log, user="alice", verb="create", resource="secrets")
    assert secret["level"] == "Request" and secret["stage"] == "ResponseComplete"
    assert secret["requestObject"]["metadata"]["name"] == "s"
    assert "responseObject" not in secret  # level Request keeps only the request

    (whoami,) = events(log, user="bob", verb="create", resource="selfsubjectreviews")
    assert whoami["level"] == "Metadata"
    assert "requestObject" not in whoami and whoami["responseStatus"]["code"] == 201
    assert events(log, user="admin") == []  # level None: nothing written


def test_watch_has_response_started_and_failed_authn_is_recorded(audited) -> None:  # type: ignore[no-untyped-def]
    server, log = audited
    pool = urllib3.PoolManager(ca_certs=server.ca)
    path = "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1"
    r = pool.request(
        "GET", server.url + path,
        headers={"Authorization": "Bearer alice-token", "Audit-ID": "watch-audit-id"},
    )  # fmt: skip
    assert r.status == 200 and r.headers["Audit-Id"] == "watch-audit-id"
    watch = [e for e in events(log, user="alice", verb="watch") if e["auditID"] == "watch-audit-id"]
    assert [e["stage"] for e in watch] == ["ResponseStarted", "ResponseComplete"]
    assert watch[0]["responseStatus"] == {"metadata": {}, "code": 200}

    r = pool.request("GET", server.url + "/api/v1/pods", headers={"Authorization": "Bearer nope"})
    assert r.status == 401
    (failed,) = [e for e in events(log, user="") if e["auditID"] == r.headers["Audit-Id"]]
    assert failed["stage"] == "ResponseStarted" and failed["user"] == {}
    assert failed["responseStatus"] == {
        "metadata": {}, "code": 401, "message": "Authentication failed, attempted: bearer"
    }  # fmt: skip


def test_kubectl_as_impersonates_and_the_event_keeps_both_users(audited) -> None:  # type: ignore[no-untyped-def]
    server, log = audited
    out = as_user(server, "bob", "get", "configmaps", "cfg", "--as", "alice", "-o", "name")
    assert out.stdout.strip() == "configmap/cfg", out.stderr
    out = as_user(server, "bob", "get", "configmaps", "--as", "carol")
    assert (
        'Error from server (Forbidden): users "carol" is forbidden: User "bob" cannot '
        'impersonate resource "users" in API group "" at the cluster scope'
    ) in out.stderr
    # named groups are the whole list: system:authenticated (whoami needs it) is named too
    whoami = ["auth", "whoami", "--as", "alice", "--as-group", "devs",
              "--as-group", "system:authenticated", "-o", "json"]  # fmt: skip
    out = as_user(server, "bob", *whoami)
    assert json.loads(out.stdout)["status"]["userInfo"] == {
        "username": "alice", "groups": ["devs", "system:authenticated"],
    }, out.stderr  # fmt: skip

    (got,) = [e for e in events(log, user="bob", verb="get", resource="configmaps")
              if e.get("impersonatedUser")]  # fmt: skip
    assert got["user"]["username"] == "bob"
    assert got["impersonatedUser"] == {"username": "alice", "groups": ["system:authenticated"]}
    assert got["responseStatus"]["code"] == 200
    assert got["annotations"]["authorization.k8s.io/reason"].endswith('to User "alice"')


def test_a_bad_policy_file_stops_the_start(tmp_path: Path) -> None:
    from miniapiserver.__main__ import build_config, parse_args

    bad = tmp_path / "policy.yaml"
    bad.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Loud}]\n")
    args = ["--data-dir", str(tmp_path), "--audit-policy-file", str(bad), "--audit-log-path", "-"]
    with pytest.raises(ValueError, match='rules\\[0\\].level: Unsupported value: "Loud"'):
        build_config(parse_args(args))
