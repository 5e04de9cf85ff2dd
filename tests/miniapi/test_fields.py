"""Field selectors, after apimachinery/pkg/fields/selector_test.go, plus field label
conversion (pkg/apis/core/v1/conversion.go) and the per-kind field sets of
pkg/registry/*/strategy.go, read from miniapi's typed objects.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi import fields
from miniapi.apps.v1 import ReplicaSet, ReplicaSetStatus
from miniapi.core.v1 import (
    ConfigMap,
    Event,
    EventSource,
    Namespace,
    NamespaceStatus,
    Node,
    NodeSpec,
    ObjectReference,
    Pod,
    PodIP,
    PodSpec,
    PodStatus,
    Secret,
    Service,
    ServiceSpec,
)
from miniapi.fields import FieldSelectorError
from miniapi.labels import Operator
from miniapi.meta.v1 import ObjectMeta


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("", ""),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x==a", "x=a"),
        ("z=1,a=2", "a=2,z=1"),
        ("a=b\\,c", "a=b\\,c"),
        ("a=b\\=c\\\\d", "a=b\\=c\\\\d"),
        ("a=", "a="),
        ("a!=", "a!="),
        ("a.b=c,,", "a.b=c"),
    ],
)
def test_parse_and_string(text: str, canonical: str) -> None:
    sel = fields.parse_selector(text)
    assert str(sel) == canonical
    assert fields.parse_selector(canonical) == sel


def test_parse_is_deterministic() -> None:
    assert str(fields.parse_selector("x=a,a=x")) == str(fields.parse_selector("a=x,x=a"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=a||y=b", "invalid field selector: unescaped character in value: 61"),
        ("x==a==b", "invalid field selector: unescaped character in value: 61"),
        ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
        ("a=b,foo", "invalid selector: 'a=b,foo'; can't understand 'foo'"),
        ("a=b\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(FieldSelectorError) as info:
        fields.parse_selector(text)
    assert str(info.value) == message


def test_escaped_comma_stays_in_the_value() -> None:
    sel = fields.parse_selector("a=x\\,y,b=z")
    assert sel.requirements() == [
        fields.Requirement("a", Operator.EQUALS, "x,y"),
        fields.Requirement("b", Operator.EQUALS, "z"),
    ]
    assert sel.matches({"a": "x,y", "b": "z"})


@pytest.mark.parametrize(
    ("text", "field_values", "want"),
    [
        ("", {"x": "y"}, True),
        ("x=y", {"x": "y"}, True),
        ("x=y,z=w", {"x": "y", "z": "w"}, True),
        ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
        ("notin=in", {"notin": "in"}, True),
        ("x=y", {"x": "z"}, False),
        ("x=y,z=w", {"x": "w", "z": "w"}, False),
        ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
        ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False),
        ("x=", {}, True),  # a missing field reads as the empty string
        ("x!=", {}, False),
    ],
)
def test_matches(text: str, field_values: dict[str, str], want: bool) -> None:
    assert fields.parse_selector(text).matches(field_values) is want


def test_everything_one_term_and_sets() -> None:
    assert fields.everything().matches({"x": "y"}) and fields.everything().empty()
    assert fields.one_term_equal_selector("x", "y").matches({"x": "y"})
    assert not fields.one_term_equal_selector("x", "y").matches({"x": "z"})
    assert fields.selector_from_set(None).empty() and fields.selector_from_set({}).empty()
    labelset = {"foo": "bar", "baz": "blah"}
    assert fields.selector_from_set({"foo": "bar", "baz": "blah"}).matches(labelset)
    assert not fields.selector_from_set({"foo": "=blah"}).matches(labelset)
    assert str(fields.selector_from_set({"b": "1", "a": "x=y"})) == "a=x\\=y,b=1"
    both = fields.and_selectors(fields.everything(), fields.one_term_equal_selector("a", "b"))
    assert not both.empty() and both.requires_exact_match("a") == ("b", True)


def test_requires_exact_match() -> None:
    assert fields.selector_from_set({}).requires_exact_match("test") == ("", False)
    assert fields.parse_selector("a=b").requires_exact_match("test") == ("", False)
    assert fields.parse_selector("test=b").requires_exact_match("test") == ("b", True)
    assert fields.parse_selector("test=").requires_exact_match("test") == ("", True)
    assert fields.parse_selector("test!=b").requires_exact_match("test") == ("", False)
    assert fields.parse_selector("a=c,test=b").requires_exact_match("test") == ("b", True)


def test_transform_renames_and_drops_terms() -> None:
    def fn(field: str, value: str) -> tuple[str, str]:
        return ("", "") if field == "drop" else (field.upper(), value + "!")

    sel = fields.parse_and_transform_selector("a=1,drop=x,b!=2", fn)
    assert str(sel) == "A=1!,B!=2!"
    assert fields.parse_and_transform_selector("drop=x", fn).empty()


def test_escape_round_trip_examples() -> None:
    assert fields.escape_value("a\\b,c=d") == "a\\\\b\\,c\\=d"
    assert fields.unescape_value("a\\\\b\\,c\\=d") == "a\\b,c=d"
    assert fields.unescape_value("plain") == "plain"


# --- field label conversion ------------------------------------------------------


POD_FIELDS = {
    "metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
    "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
    "status.podIP", "status.podIPs", "status.nominatedNodeName",
}  # fmt: skip


@pytest.mark.parametrize(
    ("group", "kind", "supported"),
    [
        ("", "Pod", POD_FIELDS),
        ("", "Node", {"metadata.name", "spec.unschedulable"}),
        ("", "Namespace", {"metadata.name", "status.phase"}),
        ("", "Secret", {"metadata.name", "metadata.namespace", "type"}),
        ("", "Service", {"metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"}),
        ("apps", "ReplicaSet", {"metadata.name", "metadata.namespace", "status.replicas"}),
        ("", "ConfigMap", {"metadata.name", "metadata.namespace"}),
        ("apps", "Deployment", {"metadata.name", "metadata.namespace"}),
    ],
)
def test_supported_fields(group: str, kind: str, supported: set[str]) -> None:
    assert fields.supported_fields(group, "v1", kind) == supported
    for label in supported:
        assert fields.convert_field_label(group, "v1", kind, label, "v") == (label, "v")


def test_event_fields() -> None:
    got = fields.supported_fields("", "v1", "Event")
    assert {"reason", "reportingComponent", "source", "type", "involvedObject.uid"} <= got
    assert len(got) == 13


def test_conversion_errors() -> None:
    with pytest.raises(FieldSelectorError, match="^field label not supported: spec.foo$"):
        fields.convert_field_label("", "v1", "Pod", "spec.foo", "x")
    with pytest.raises(FieldSelectorError, match="^field label not supported: metadata.namespace$"):
        fields.convert_field_label("", "v1", "Node", "metadata.namespace", "x")
    with pytest.raises(FieldSelectorError) as info:
        fields.convert_field_label("", "v1", "ConfigMap", "data", "x")
    assert str(info.value) == (
        '"data" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )
    assert fields.convert_field_label("", "v1", "Pod", "spec.host", "n1") == ("spec.nodeName", "n1")


def test_selector_through_pod_conversion() -> None:
    def fn(f: str, v: str) -> tuple[str, str]:
        return fields.convert_field_label("", "v1", "Pod", f, v)

    sel = fields.parse_and_transform_selector("spec.host=node-1,status.phase!=Failed", fn)
    assert str(sel) == "spec.nodeName=node-1,status.phase!=Failed"
    with pytest.raises(FieldSelectorError, match="field label not supported: spec.bogus"):
        fields.parse_and_transform_selector("spec.bogus=1", fn)


# --- field sets from typed objects -------------------------------------------------


def test_pod_field_set_and_match() -> None:
    pod = Pod(
        metadata=ObjectMeta(name="web-0", namespace="prod"),
        spec=PodSpec(node_name="node-1", restart_policy="Always", scheduler_name="default-scheduler", service_account_name="default", host_network=True),
        status=PodStatus(phase="Running", pod_ips=[PodIP(ip="10.0.0.5"), PodIP(ip="fd00::5")], nominated_node_name=""),
    )  # fmt: skip
    got = fields.field_set("Pod", pod)
    assert got == {
        "metadata.name": "web-0",
        "metadata.namespace": "prod",
        "spec.nodeName": "node-1",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "default",
        "spec.hostNetwork": "true",
        "status.phase": "Running",
        "status.podIP": "10.0.0.5",
        "status.nominatedNodeName": "",
    }
    assert fields.parse_selector("spec.nodeName=node-1,status.phase=Running").matches(got)
    assert not fields.parse_selector("spec.nodeName=").matches(got)
    assert fields.field_set("Pod", Pod())["spec.hostNetwork"] == "false"


def test_other_kinds_field_sets() -> None:
    node = Node(metadata=ObjectMeta(name="n1"), spec=NodeSpec(unschedulable=True))
    assert fields.field_set("Node", node) == {"metadata.name": "n1", "spec.unschedulable": "true"}
    ns = Namespace(metadata=ObjectMeta(name="kube-system"), status=NamespaceStatus(phase="Active"))
    assert fields.field_set("Namespace", ns) == {
        "metadata.name": "kube-system",
        "status.phase": "Active",
        "name": "kube-system",  # kept upstream for backward compatibility
    }
    secret = Secret(metadata=ObjectMeta(name="s", namespace="d"), type="Opaque")
    assert fields.field_set("Secret", secret)["type"] == "Opaque"
    svc = Service(
        metadata=ObjectMeta(name="a", namespace="d"),
        spec=ServiceSpec(cluster_ip="10.96.0.1", type="ClusterIP"),
    )
    assert fields.field_set("Service", svc)["spec.clusterIP"] == "10.96.0.1"
    rs = ReplicaSet(
        metadata=ObjectMeta(name="r", namespace="d"), status=ReplicaSetStatus(replicas=3)
    )
    assert fields.field_set("ReplicaSet", rs)["status.replicas"] == "3"
    cm = ConfigMap(metadata=ObjectMeta(name="c", namespace="d"))
    assert fields.field_set("ConfigMap", cm) == {"metadata.name": "c", "metadata.namespace": "d"}
    assert fields.field_set("ClusterRole", cm, namespaced=False) == {"metadata.name": "c"}  # fmt: skip


def test_event_field_set() -> None:
    ev = Event(
        metadata=ObjectMeta(name="e", namespace="d"),
        involved_object=ObjectReference(kind="Pod", namespace="d", name="web-0", uid="u1", api_version="v1"),
        reason="Scheduled", type="Normal", reporting_component="default-scheduler",
    )  # fmt: skip
    got = fields.field_set("Event", ev)
    assert got["involvedObject.name"] == "web-0" and got["involvedObject.apiVersion"] == "v1"
    assert got["source"] == "default-scheduler"  # falls back to reportingComponent
    with_source = Event(source=EventSource(component="kubelet"), reporting_component="x")
    assert fields.field_set("Event", with_source)["source"] == "kubelet"
    assert fields.parse_selector("involvedObject.kind=Pod,reason=Scheduled").matches(got)


# --- properties ------------------------------------------------------------------

FIELD_NAMES = st.sampled_from(["metadata.name", "spec.nodeName", "status.phase", "a", "b.c"])
VALUES = st.text(alphabet="ab,=\\ !x", max_size=6)


@st.composite
def selectors(draw: st.DrawFn) -> fields.Selector:
    terms = draw(st.lists(st.tuples(FIELD_NAMES, st.booleans(), VALUES), max_size=4))
    text = ",".join(f"{f}{'=' if eq else '!='}{fields.escape_value(v)}" for f, eq, v in terms)
    return fields.parse_selector(text)


@settings(deadline=None, max_examples=60)
@given(VALUES)
def test_unescape_inverts_escape(value: str) -> None:
    assert fields.unescape_value(fields.escape_value(value)) == value


@settings(deadline=None, max_examples=60)
@given(selectors())
def test_string_round_trip(sel: fields.Selector) -> None:
    text = str(sel)
    assert str(fields.parse_selector(text)) == text
    assert fields.parse_selector(text).requirements() == sel.requirements()


@settings(deadline=None, max_examples=60)
@given(selectors(), st.dictionaries(FIELD_NAMES, VALUES))
def test_matches_agrees_with_requirements(sel: fields.Selector, values: dict[str, str]) -> None:
    def holds(r: fields.Requirement) -> bool:
        have = values.get(r.field, "")
        return have == r.value if r.operator == Operator.EQUALS else have != r.value

    assert sel.matches(values) == all(holds(r) for r in sel.requirements())
