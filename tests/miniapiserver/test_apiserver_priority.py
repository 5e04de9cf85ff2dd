"""The Priority admission plugin and PriorityClass validation, through kubectl and REST.

Cases restate upstream's plugin/pkg/admission/priority/admission_test.go (TestPodAdmission:
a named class, the default class, an unknown class, a pod that sets priority itself) and
pkg/apis/scheduling/validation/validation_test.go (system names, the user maximum,
immutable value), against a real server started with --enable-admission-plugins=Priority (shared with
test_apiserver_noderestriction.py: admission_plugin_server.py).
"""

from __future__ import annotations

import json
import uuid

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st

from miniapi.meta.v1 import ObjectMeta
from miniapi.scheduling import v1 as schedulingv1
from miniapi.validation.scheduling import validate_priority_class, validate_priority_class_update
from miniapiserver.admission.plugins import priority

from .admission_plugin_server import plugin_server

SUFFIX = uuid.uuid4().hex[:6]


def pc(name: str, value: int, **kw) -> schedulingv1.PriorityClass:  # type: ignore[no-untyped-def]
    return schedulingv1.PriorityClass(metadata=ObjectMeta(name=name), value=value, **kw)


def test_priority_class_validation() -> None:
    assert validate_priority_class(pc("high", 1_000_000_000)) == []
    [err] = validate_priority_class(pc("huge", 1_000_000_001))
    assert (
        str(err)
        == "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
    )
    [err] = validate_priority_class(pc("system-mine", 5))
    assert str(err) == (
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
        "system use only. error: system-mine is not a known system priority class"
    )
    [err] = validate_priority_class(pc("system-node-critical", 5))
    assert str(err).endswith(
        "error: value of system-node-critical PriorityClass must be 2000001000"
    )
    for sys_pc in schedulingv1.system_priority_classes():
        assert validate_priority_class(sys_pc) == []
    [err] = validate_priority_class(pc("p", 1, preemption_policy="Sometimes"))
    assert str(err) == (
        'preemptionPolicy: Unsupported value: "Sometimes": supported values: '
        '"PreemptLowerPriority", "Never"'
    )
    errs = validate_priority_class_update(pc("p", 2), pc("p", 1))
    assert [str(e) for e in errs] == ["value: Forbidden: may not be changed in an update."]


def test_resolution_rules() -> None:
    classes = [
        {"metadata": {"name": "a"}, "value": 10, "globalDefault": True},
        {"metadata": {"name": "b"}, "value": 5, "globalDefault": True},
        {"metadata": {"name": "c"}, "value": 1},
    ]
    # Two defaults after a race: the lower value wins.
    assert priority.default_priority_class(classes)["metadata"]["name"] == "b"
    assert priority.default_priority_class(classes[2:]) is None
    assert priority.resolve("", None, None) == ("", 0, "PreemptLowerPriority")
    assert priority.resolve("", None, classes[1]) == ("b", 5, None)
    found = {"value": 7, "preemptionPolicy": "Never"}
    assert priority.resolve("x", found, classes[1]) == ("x", 7, "Never")
    spec = {"priority": None}
    priority.keep_on_update(spec, {"priority": 7, "preemptionPolicy": "Never"})
    assert spec == {"priority": 7, "preemptionPolicy": "Never"}


@given(st.lists(st.tuples(st.integers(-10, 10), st.booleans()), max_size=8))
def test_default_is_the_lowest_global_default(specs: list[tuple[int, bool]]) -> None:
    classes = [{"metadata": {"name": f"c{i}"}, "value": v, "globalDefault": g}
               for i, (v, g) in enumerate(specs)]  # fmt: skip
    chosen = priority.default_priority_class(classes)
    defaults = [c for c in classes if c["globalDefault"]]
    if not defaults:
        assert chosen is None
    else:
        assert chosen in defaults and chosen["value"] == min(c["value"] for c in defaults)
        assert priority.resolve("", None, chosen)[1] == chosen["value"]


@pytest.fixture(scope="module")
def server(request):  # type: ignore[no-untyped-def]
    return plugin_server(request.config).proc


@pytest.fixture(scope="module")
def http(server):  # type: ignore[no-untyped-def]
    pool = urllib3.PoolManager(ca_certs=server.ca, cert_reqs="CERT_REQUIRED")

    def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        r = pool.request(method, server.url + path, body=data, headers=headers, timeout=30)
        return r.status, json.loads(r.data) if r.data else {}

    return call


def pod(name: str, **spec) -> dict:  # type: ignore[no-untyped-def]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


PODS = "/api/v1/namespaces/default/pods"
CLASSES = "/apis/scheduling.k8s.io/v1/priorityclasses"


@pytest.mark.tool("kubectl", "etcd")
def test_system_classes_and_kubectl(server, http) -> None:  # type: ignore[no-untyped-def]
    out = server.kubectl("get", "priorityclasses", "-o", "json").stdout
    values = {i["metadata"]["name"]: i["value"] for i in json.loads(out)["items"]}
    assert values["system-cluster-critical"] == 2000000000
    assert values["system-node-critical"] == 2000001000
    name = f"high-{SUFFIX}"
    server.kubectl("create", "priorityclass", name, "--value=1000", "--description=test")
    code, got = http("POST", PODS, pod(f"p1-{SUFFIX}", priorityClassName=name))
    assert code == 201, got
    assert got["spec"]["priority"] == 1000
    assert got["spec"]["preemptionPolicy"] == "PreemptLowerPriority"
    code, got = http("POST", PODS, pod(f"p2-{SUFFIX}", priorityClassName="system-node-critical"))
    assert code == 201 and got["spec"]["priority"] == 2000001000
    # No class and no default: priority 0.
    code, got = http("POST", PODS, pod(f"p3-{SUFFIX}"))
    assert code == 201 and got["spec"]["priority"] == 0
    # An update that leaves priority out keeps it.
    got["spec"].pop("priority")
    code, got = http("PUT", f"{PODS}/p3-{SUFFIX}", got)
    assert code == 200 and got["spec"]["priority"] == 0


@pytest.mark.tool("kubectl", "etcd")
def test_refusals(server, http) -> None:  # type: ignore[no-untyped-def]
    code, got = http("POST", PODS, pod(f"r1-{SUFFIX}", priorityClassName="nope"))
    assert code == 403
    assert got["message"] == (
        f'pods "r1-{SUFFIX}" is forbidden: no PriorityClass with name nope was found'
    )
    code, got = http("POST", PODS, pod(f"r2-{SUFFIX}", priority=5))
    assert code == 403
    assert got["message"] == (
        f'pods "r2-{SUFFIX}" is forbidden: the integer value of priority (5) must not be '
        "provided in pod spec; priority admission controller computed 0 from the given "
        "PriorityClass name"
    )
    code, got = http(
        "POST", PODS, pod(f"r3-{SUFFIX}", priorityClassName="system-node-critical",
                          preemptionPolicy="Never")
    )  # fmt: skip
    assert code == 403 and "the string value of PreemptionPolicy (Never)" in got["message"]
    out = server.kubectl("create", "priorityclass", "huge", "--value=1000000001", check=False)
    assert out.returncode != 0
    assert "maximum allowed value of a user defined priority is 1000000000" in out.stderr
    out = server.kubectl("create", "priorityclass", "system-x", "--value=1", check=False)
    assert "priority class names with 'system-' prefix are reserved" in out.stderr
    assert http("GET", f"{PODS}/r1-{SUFFIX}")[0] == 404  # nothing was stored


@pytest.mark.tool("kubectl", "etcd")
def test_global_default(server, http) -> None:  # type: ignore[no-untyped-def]
    name = f"dflt-{SUFFIX}"
    body = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": 77, "globalDefault": True,
            "preemptionPolicy": "Never"}  # fmt: skip
    code, got = http("POST", CLASSES, body)
    assert code == 201, got
    code, got = http("POST", PODS, pod(f"d1-{SUFFIX}"))
    assert code == 201
    assert (got["spec"]["priority"], got["spec"]["priorityClassName"]) == (77, name)
    assert got["spec"]["preemptionPolicy"] == "Never"
    other = {**body, "metadata": {"name": f"dflt2-{SUFFIX}"}}
    code, got = http("POST", CLASSES, other)
    assert code == 403
    assert got["message"] == (
        f'priorityclasses.scheduling.k8s.io "dflt2-{SUFFIX}" is forbidden: PriorityClass '
        f"{name} is already marked as default. Only one default can exist"
    )
    code, current = http("GET", f"{CLASSES}/{name}")
    code, got = http("PUT", f"{CLASSES}/{name}", {**current, "value": 78})
    assert code == 422 and "value: Forbidden: may not be changed in an update." in got["message"]
    out = server.kubectl("get", "priorityclass", name, "-o", "jsonpath={.value}").stdout
    assert out == "77"
