"""PodSpec.schedulingGates: the wire form and validateSchedulingGates.

k8s.io/api/core/v1/types.go (PodSchedulingGate, PodSpec.SchedulingGates with
omitempty) and pkg/apis/core/validation/validation.go (validateSchedulingGates:
a qualified name per gate, no duplicates, at spec.schedulingGates[i]). Oracle for
the wire form: the `kubernetes` Python client's V1Pod reads and writes it back.
"""

from __future__ import annotations

from typing import Any

import kubernetes
from hypothesis import HealthCheck, given, settings

from miniapi import scheme, strategies
from miniapi.core.v1 import Pod, PodSchedulingGate
from miniapi.defaults import set_defaults
from miniapi.validation.validate import validate

QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def pod(gates: list[str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    if gates is not None:
        spec["schedulingGates"] = [{"name": g} for g in gates]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": spec,
    }


def causes(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    obj = set_defaults(scheme.decode(doc))
    return [(e.type, e.field, e.error_body()) for e in validate(obj)]


def test_round_trip_keeps_gates_in_order():
    doc = pod(["example.com/quota", "b"])
    obj = scheme.decode(doc, strict=True)
    assert isinstance(obj, Pod)
    assert obj.spec.scheduling_gates == [
        PodSchedulingGate(name="example.com/quota"),
        PodSchedulingGate(name="b"),
    ]
    assert scheme.encode(obj)["spec"]["schedulingGates"] == doc["spec"]["schedulingGates"]


def test_empty_gates_are_omitted_like_omitempty():
    assert "schedulingGates" not in scheme.encode(scheme.decode(pod([])))["spec"]
    assert "schedulingGates" not in scheme.encode(scheme.decode(pod(None)))["spec"]


def test_python_client_reads_and_writes_the_gates():
    obj = set_defaults(scheme.decode(pod(["a", "example.com/b"])))
    client = kubernetes.client.ApiClient()
    typed = client.deserialize(scheme.to_json(obj).decode(), "V1Pod", "application/json")
    assert [g.name for g in typed.spec.scheduling_gates] == ["a", "example.com/b"]
    assert scheme.decode(client.sanitize_for_serialization(typed)) == obj


def test_valid_gates_have_no_errors():
    assert causes(pod(["a", "example.com/b", "A.b-c_d"])) == []


def test_duplicate_gate():
    assert causes(pod(["foo", "bar", "foo"])) == [
        ("FieldValueDuplicate", "spec.schedulingGates[2]", 'Duplicate value: "foo"')
    ]


def test_invalid_name_part():
    assert causes(pod(["-foo"])) == [
        (
            "FieldValueInvalid",
            "spec.schedulingGates[0]",
            f'Invalid value: "-foo": {QUALIFIED_NAME_MSG}',
        )
    ]


def test_empty_name():
    assert causes(pod([""])) == [
        (
            "FieldValueInvalid",
            "spec.schedulingGates[0]",
            'Invalid value: "": name part must be non-empty',
        ),
        (
            "FieldValueInvalid",
            "spec.schedulingGates[0]",
            f'Invalid value: "": {QUALIFIED_NAME_MSG}',
        ),
    ]


def test_too_many_slashes_and_a_duplicate_both_reported():
    got = causes(pod(["a/b/c", "a/b/c"]))
    assert [(t, f) for t, f, _ in got] == [
        ("FieldValueInvalid", "spec.schedulingGates[0]"),
        ("FieldValueInvalid", "spec.schedulingGates[1]"),
        ("FieldValueDuplicate", "spec.schedulingGates[1]"),
    ]
    assert got[0][2].startswith('Invalid value: "a/b/c": a qualified name must consist of')
    assert got[0][2].endswith(
        "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    )


def test_bad_prefix():
    ((typ, path, msg),) = causes(pod(["Example.com/x"]))
    assert (typ, path) == ("FieldValueInvalid", "spec.schedulingGates[0]")
    assert msg.startswith(
        'Invalid value: "Example.com/x": prefix part a lowercase RFC 1123 subdomain'
    )


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.scheduling_gates())
def test_generated_gates_round_trip_and_validate(gates: list[PodSchedulingGate]):
    doc = pod([g.name for g in gates])
    obj = set_defaults(scheme.decode(doc))
    assert obj.spec.scheduling_gates == gates
    assert scheme.decode(scheme.encode(obj)) == obj
    assert [c for c in causes(doc) if "schedulingGates" in c[1]] == []
