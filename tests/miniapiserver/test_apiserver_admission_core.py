"""The admission chain's pure parts: plugin selection, ordering, built-in mutations,
webhook rule matching and AdmissionReview checks.

Cases restate upstream's tests in our words: options/admission_test.go (enabled
plugins, unknown and overlapping names), defaulttolerationseconds/admission_test.go
(which existing tolerations already cover the taints), webhook/predicates/rules
rules_test.go (scope, operations, resources with subresources) and
request/admissionreview_test.go (VerifyAdmissionResponse errors).
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapi import errors
from miniapi.admissionregistration.v1 import RuleWithOperations
from miniapi.meta.v1 import LabelSelector
from miniapiserver.admission.attributes import CREATE, DELETE, UPDATE, Attributes
from miniapiserver.admission.chain import (
    ORDERED_PLUGINS,
    Chain,
    Plugin,
    check_plugin_names,
    enabled_plugin_names,
)
from miniapiserver.admission.plugins import default_toleration_seconds as dts
from miniapiserver.admission.plugins import limit_ranger, quota_usage, resource_quota
from miniapiserver.admission.plugins.always import always_deny
from miniapiserver.admission.plugins.service_account import mount_service_account_token
from miniapiserver.admission.webhook import review, rules
from miniapiserver.auth.authn import UserInfo


def attrs(op=CREATE, group="", resource="pods", sub="", ns="team", name="p", obj=None, old=None):  # type: ignore[no-untyped-def]
    kind = {"pods": "Pod", "namespaces": "Namespace", "nodes": "Node"}.get(resource, "X")
    return Attributes(
        op, group, "v1", kind, resource, sub, ns, name, obj, old, UserInfo("alice", "", ("g",))
    )


def test_default_plugins_in_upstream_order() -> None:
    assert enabled_plugin_names([], []) == [
        "NamespaceLifecycle",
        "LimitRanger",
        "Priority",
        "DefaultTolerationSeconds",
        "MutatingAdmissionWebhook",
        "ValidatingAdmissionWebhook",
        "ResourceQuota",
    ]
    # Enabling puts a plugin in its place in the order, not at the end.
    got = enabled_plugin_names(["AlwaysDeny", "ServiceAccount"], ["DefaultTolerationSeconds"])
    assert got == [
        "NamespaceLifecycle",
        "LimitRanger",
        "ServiceAccount",
        "Priority",
        "MutatingAdmissionWebhook",
        "ValidatingAdmissionWebhook",
        "ResourceQuota",
        "AlwaysDeny",
    ]
    assert ORDERED_PLUGINS.index("MutatingAdmissionWebhook") > ORDERED_PLUGINS.index(
        "DefaultTolerationSeconds"
    )


def test_plugin_flag_errors() -> None:
    assert check_plugin_names(["Nope"], ["Neither"]) == [
        'enable-admission-plugins plugin "Nope" is unknown',
        'disable-admission-plugins plugin "Neither" is unknown',
    ]
    assert check_plugin_names(
        ["AlwaysDeny", "ServiceAccount"], ["ServiceAccount", "AlwaysDeny"]
    ) == [
        "[AlwaysDeny ServiceAccount] in enable-admission-plugins and disable-admission-plugins overlapped"
    ]


def test_chain_runs_mutating_then_validating_and_stops_at_a_refusal() -> None:
    seen: list[str] = []

    def rec(tag):  # type: ignore[no-untyped-def]
        async def hook(a: Attributes) -> None:
            seen.append(tag)

        return hook

    chain = Chain(
        [
            Plugin("A", frozenset({CREATE}), admit=rec("A.admit"), validate=rec("A.validate")),
            Plugin("B", frozenset({UPDATE}), admit=rec("B.admit")),
            Plugin("C", frozenset({CREATE}), admit=rec("C.admit")),
            always_deny(),
        ]
    )
    a = attrs(obj={"metadata": {"generateName": "web-"}})
    with pytest.raises(Exception) as e:
        asyncio.run(chain.admit(a))
    assert seen == ["A.admit", "C.admit"]
    # the name a plugin's 403 shows is generateName before a name is generated
    assert (
        str(e.value) == 'pods "web-" is forbidden: admission control is denying all modifications'
    )


@pytest.mark.parametrize(
    ("existing", "added"),
    [
        ([], ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]),
        ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 60}], ["node.kubernetes.io/unreachable"]),
        ([{"operator": "Exists"}], []),  # empty key and effect tolerate every taint
        ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}],
         ["node.kubernetes.io/not-ready"]),  # empty effect covers NoExecute
        ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}],
         ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]),
    ],
)  # fmt: skip
def test_default_toleration_seconds(existing, added) -> None:  # type: ignore[no-untyped-def]
    pod = {"spec": {"tolerations": list(existing)}}
    dts.add_default_tolerations(pod, 300, 120)
    new = pod["spec"]["tolerations"][len(existing) :]
    assert [t["key"] for t in new] == added
    for t in new:
        assert t["operator"] == "Exists" and t["effect"] == "NoExecute"
        assert t["tolerationSeconds"] == (300 if t["key"].endswith("not-ready") else 120)


@given(st.lists(st.fixed_dictionaries({
    "key": st.sampled_from(["", "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "x"]),
    "effect": st.sampled_from(["", "NoExecute", "NoSchedule"]),
}), max_size=4))  # fmt: skip
def test_default_tolerations_always_cover_both_taints_and_are_idempotent(tols) -> None:  # type: ignore[no-untyped-def]
    pod = {"spec": {"tolerations": [dict(t, operator="Exists") for t in tols]}}
    dts.add_default_tolerations(pod, 300, 300)
    once = json.dumps(pod)
    for key in (dts.TAINT_NODE_NOT_READY, dts.TAINT_NODE_UNREACHABLE):
        assert dts.tolerates(pod["spec"]["tolerations"], key)
    dts.add_default_tolerations(pod, 300, 300)
    assert json.dumps(pod) == once


def test_service_account_volume_is_mounted_in_every_container() -> None:
    import random

    spec = {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i"}]}
    mount_service_account_token(spec, random.Random(1))
    [vol] = spec["volumes"]
    assert vol["name"].startswith("kube-api-access-") and len(vol["name"]) == 21
    sources = vol["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"
    for c in spec["initContainers"] + spec["containers"]:
        assert c["volumeMounts"] == [{"name": vol["name"], "readOnly": True,
                                      "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]  # fmt: skip


def rule(ops=("CREATE",), groups=("",), versions=("v1",), resources=("pods",), scope=None):  # type: ignore[no-untyped-def]
    return RuleWithOperations(
        operations=list(ops), api_groups=list(groups), api_versions=list(versions),
        resources=list(resources), scope=scope,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("r", "a", "want"),
    [
        (rule(), attrs(), True),
        (rule(ops=("UPDATE",)), attrs(), False),
        (rule(ops=("*",)), attrs(op=DELETE), True),
        (rule(groups=("apps",)), attrs(), False),
        (rule(resources=("*",)), attrs(sub="status"), False),  # "*" is resources only
        (rule(resources=("*/*",)), attrs(sub="status"), True),
        (rule(resources=("pods/status",)), attrs(sub="status"), True),
        (rule(resources=("pods/*",)), attrs(), True),  # "*" matches no subresource too
        (rule(resources=("*/status",)), attrs(resource="nodes", sub="status", ns=""), True),
        (rule(resources=("*",), scope="Namespaced"), attrs(resource="nodes", ns=""), False),
        (rule(resources=("*",), scope="Cluster"), attrs(resource="nodes", ns=""), True),
        # a Namespace is cluster-scoped even though its request names a namespace
        (rule(resources=("*",), scope="Cluster"), attrs(resource="namespaces", ns="team"), True),
        (rule(resources=("*",), scope="Namespaced"), attrs(resource="namespaces", ns="team"), False),
    ],
)  # fmt: skip
def test_rule_matching(r, a, want) -> None:  # type: ignore[no-untyped-def]
    assert rules.rule_matches(r, a) is want


def test_selectors() -> None:
    sel = LabelSelector(match_labels={"env": "prod"})
    a = attrs(obj={"metadata": {"labels": {"env": "prod"}}})
    assert rules.object_matches(sel, a)
    assert not rules.object_matches(sel, attrs(obj={"metadata": {}}))
    # on delete only the old object carries labels
    assert rules.object_matches(
        sel, attrs(op=DELETE, old={"metadata": {"labels": {"env": "prod"}}})
    )
    assert rules.object_matches(None, attrs())
    assert rules.namespace_matches(sel, a, {"env": "prod"})
    assert not rules.namespace_matches(sel, a, {})
    node = attrs(resource="nodes", ns="")
    assert rules.namespace_matches(sel, node, None)  # cluster-scoped: never exempted
    ns_create = attrs(
        resource="namespaces", ns="", name="n", obj={"metadata": {"labels": {"env": "prod"}}}
    )
    assert not rules.needs_namespace_labels(sel, ns_create)
    assert rules.namespace_matches(sel, ns_create, None)  # a namespace is judged by its own labels
    cfg = attrs(group="admissionregistration.k8s.io", resource="validatingwebhookconfigurations")
    assert rules.is_exempt(cfg) and not rules.is_exempt(a)


def body(**response) -> bytes:  # type: ignore[no-untyped-def]
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "response": response}).encode()  # fmt: skip


PATCH = base64.b64encode(b'[{"op":"add","path":"/x","value":1}]').decode()


@pytest.mark.parametrize(
    ("raw", "mutating", "error"),
    [
        (b"{", True, "json parse error"),
        (json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(),
         True, "webhook response was absent"),
        (body(uid="other", allowed=True), True, 'expected response.uid="u1", got "other"'),
        (json.dumps({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
                     "response": {"uid": "u1"}}).encode(), True,
         "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, "
         "got admission.k8s.io/v1beta1, Kind=AdmissionReview"),
        (body(uid="u1", allowed=True, patch=PATCH), True,
         "webhook returned response.patch but not response.patchType"),
        (body(uid="u1", allowed=True, patchType="JSONPatch"), True,
         "webhook returned response.patchType but not response.patch"),
        (body(uid="u1", allowed=True, patch=PATCH), False,
         "validating webhooks may not return response.patch"),
        (body(uid="u1", allowed=True, patch="!!", patchType="JSONPatch"), True, "invalid patch"),
    ],
)  # fmt: skip
def test_invalid_responses(raw, mutating, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(review.InvalidResponse) as e:
        review.verify_response("u1", mutating, raw)
    assert str(e.value).startswith(error)


def test_review_request_and_denial_message() -> None:
    a = attrs(obj={"metadata": {"name": "p"}})
    req = review.create_review("u1", a)["request"]
    assert req["uid"] == "u1" and req["operation"] == "CREATE" and req["namespace"] == "team"
    assert req["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert req["userInfo"] == {"username": "alice", "groups": ["g"]}
    assert req["options"] == {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
    ok = review.verify_response(
        "u1", True, body(uid="u1", allowed=True, patch=PATCH, patchType="JSONPatch")
    )
    assert ok.allowed and ok.patch == [{"op": "add", "path": "/x", "value": 1}]
    err = review.to_status_err("deny.example.com", {"message": "no pods here", "code": 403})
    assert err.code == 403
    assert str(err) == 'admission webhook "deny.example.com" denied the request: no pods here'
    assert review.to_status_err("w", None).code == 400
    assert (
        str(review.to_status_err("w", None))
        == 'admission webhook "w" denied the request without explanation'
    )


LIMITS = [{"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "16Mi"},
                                "defaultRequest": {"cpu": "100m"}}]}}]  # fmt: skip


def test_limit_ranger_defaults_containers_and_notes_it() -> None:
    pod = {"spec": {"containers": [
        {"name": "a"},
        {"name": "b", "resources": {"limits": {"cpu": "500m"}}},
    ]}}  # fmt: skip
    limit_ranger.mutate_pod(pod, LIMITS)
    a, b = pod["spec"]["containers"]
    # max is the default limit, min the default request when defaultRequest names no such key
    assert a["resources"] == {"limits": {"cpu": "1"}, "requests": {"cpu": "100m", "memory": "16Mi"}}
    assert b["resources"] == {
        "limits": {"cpu": "500m"},
        "requests": {"cpu": "100m", "memory": "16Mi"},
    }
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container a; cpu limit for container a; "
        "cpu, memory request for container b"
    )
    assert limit_ranger.validate_pod(pod, LIMITS) == []


@pytest.mark.parametrize(
    ("resources", "errors"),
    [
        ({"limits": {"cpu": "2"}, "requests": {"memory": "32Mi"}},
         ["maximum cpu usage per Container is 1, but limit is 2"]),
        ({"requests": {"memory": "32Mi"}}, ["maximum cpu usage per Container is 1.  No limit is specified"]),
        ({"limits": {"cpu": "1"}, "requests": {"memory": "8Mi", "cpu": "1500m"}},
         ["minimum memory usage per Container is 16Mi, but request is 8Mi",
          "maximum cpu usage per Container is 1, but request is 1500m"]),
    ],
)  # fmt: skip
def test_limit_ranger_bounds(resources, errors) -> None:  # type: ignore[no-untyped-def]
    pod = {"spec": {"containers": [{"name": "c", "resources": resources}]}}
    got = limit_ranger.validate_pod(pod, LIMITS)
    assert sorted(got) == sorted(errors)


def test_limit_request_ratio_and_aggregate() -> None:
    ratio = [{"spec": {"limits": [{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]}}]
    pod = {"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "250m"}}}]}}  # fmt: skip
    errs = limit_ranger.validate_pod(pod, ratio)
    assert errs == [
        "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000"
    ]
    assert limit_ranger.aggregate(["x"]) == "x" and limit_ranger.aggregate(["x", "y"]) == "[x, y]"


def quota(hard: dict, used: dict | None, **spec) -> dict:  # type: ignore[no-untyped-def]
    status = {"hard": hard} if used is None else {"hard": hard, "used": used}
    return {"metadata": {"name": "q"}, "spec": {"hard": hard, **spec}, "status": status}


def pod_attrs(*containers: dict, **spec) -> Attributes:  # type: ignore[no-untyped-def]
    return attrs(obj={"metadata": {"name": "p"}, "spec": {"containers": list(containers), **spec}})


def test_pod_usage_sums_containers_and_floors_with_init_containers() -> None:
    pod = {"spec": {
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "250m"}, "limits": {"memory": "1Gi"}}},
                       {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}],
        "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
    }}  # fmt: skip
    got = {k: str(v) for k, v in quota_usage.usage("", "pods", pod).items()}
    assert got == {
        "count/pods": "1", "pods": "1", "cpu": "2", "requests.cpu": "2",
        "memory": "64Mi", "requests.memory": "64Mi", "limits.memory": "1Gi",
    }  # fmt: skip
    assert {k: str(v) for k, v in quota_usage.usage("", "configmaps", {}).items()} == {
        "count/configmaps": "1",
        "configmaps": "1",
    }
    assert list(quota_usage.usage("apps", "deployments", {})) == ["count/deployments.apps"]
    done = {"spec": pod["spec"], "status": {"phase": "Succeeded"}}
    assert list(quota_usage.usage("", "pods", done)) == ["count/pods"]


def test_resource_quota_charges_refuses_and_explains() -> None:
    q = quota({"pods": "2", "requests.cpu": "1"}, {"pods": "1", "requests.cpu": "500m"})
    ok = pod_attrs({"name": "c", "resources": {"requests": {"cpu": "500m"}}})
    assert {k: str(v) for k, v in resource_quota.charge(q, ok).items()} == {
        "pods": "2",
        "requests.cpu": "1",
    }
    big = pod_attrs({"name": "c", "resources": {"requests": {"cpu": "600m"}}})
    with pytest.raises(Exception) as e:
        resource_quota.charge(q, big)
    assert str(e.value) == (
        'pods "p" is forbidden: exceeded quota: q, requested: requests.cpu=600m, '
        "used: requests.cpu=500m, limited: requests.cpu=1"
    )
    with pytest.raises(Exception) as e:
        resource_quota.charge(q, pod_attrs({"name": "c"}, {"name": "d"}))
    assert (
        str(e.value) == 'pods "p" is forbidden: failed quota: q: must specify requests.cpu for: c,d'
    )
    with pytest.raises(Exception) as e:
        resource_quota.charge(quota({"pods": "2"}, None), ok)
    assert str(e.value) == 'pods "p" is forbidden: status unknown for quota: q, resources: pods'
    # a quota that names none of the object's resources, or another scope, does not apply
    assert resource_quota.charge(quota({"count/secrets": "1"}, {"count/secrets": "0"}), ok) is None
    best_effort_only = quota({"pods": "1"}, {"pods": "1"}, scopes=["BestEffort"])
    assert resource_quota.charge(best_effort_only, ok) is None
    with pytest.raises(errors.StatusError) as e:
        resource_quota.charge(best_effort_only, pod_attrs({"name": "c"}))
    assert "exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1" in str(e.value)
