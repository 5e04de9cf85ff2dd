"""The Kubernetes protobuf envelope and the schema-driven message codec."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings

from miniapi import scheme, strategies
from miniapiserver.protobuf import envelope, wire
from miniapiserver.protobuf.codec import CodecError, decode_message

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "labels": {"app": "web"},
        "creationTimestamp": "2024-01-02T03:04:05Z",
    },
    "spec": {
        "replicas": 0,  # a pointer field set to zero must survive (it is not "absent")
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1},
        },
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "nginx",
                        "readinessProbe": {
                            "httpGet": {"path": "/", "port": 80},
                            "periodSeconds": 3,
                        },
                        "resources": {"limits": {"cpu": "100m"}},
                    }
                ],
                "volumes": [{"name": "v", "emptyDir": {}}],
            },
        },
    },
}


def test_envelope_layout() -> None:
    """k8s\\x00, then runtime.Unknown{typeMeta{apiVersion=1, kind=2}=1, raw=2}."""
    data = envelope.encode({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}})
    assert data[:4] == b"k8s\x00"
    fields = list(wire.fields(data[4:]))
    assert [f[0] for f in fields] == [1, 2]
    type_meta = dict((n, v) for n, _, v in wire.fields(fields[0][2]))
    assert type_meta == {1: b"v1", 2: b"Namespace"}
    # ObjectMeta is field 1 of Namespace, name is field 1 of ObjectMeta
    assert fields[1][2] == bytes([0x0A, 0x03, 0x0A, 0x01]) + b"n"


def test_round_trip_keeps_inlined_probe_handler_and_int_or_string() -> None:
    assert envelope.decode(envelope.encode(DEPLOYMENT)) == DEPLOYMENT


def test_hand_encoded_configmap_decodes() -> None:
    """A ConfigMap as gogo-protobuf writes it: metadata=1, data=2 as map entries."""
    meta = wire.length_field(1, b"cm")
    entry = wire.length_field(1, b"k") + wire.length_field(2, b"v")
    raw = wire.length_field(1, meta) + wire.length_field(2, entry)
    tm = wire.length_field(1, b"v1") + wire.length_field(2, b"ConfigMap")
    body = b"k8s\x00" + wire.length_field(1, tm) + wire.length_field(2, raw)
    assert envelope.decode(body) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm"},
        "data": {"k": "v"},
    }


@pytest.mark.parametrize(
    "body",
    [b"{}", b"k8s\x00\x0a", b"k8s\x00" + wire.length_field(2, b"")],
    ids=["no magic", "truncated", "no kind"],
)
def test_malformed_envelopes(body: bytes) -> None:
    with pytest.raises(CodecError):
        envelope.decode(body)


def test_unknown_field_is_an_error_not_dropped() -> None:
    with pytest.raises(CodecError, match="unknown field 99"):
        decode_message("core.v1.ConfigMap", wire.length_field(99, b"x"))


def test_negative_int32_is_ten_bytes() -> None:
    encoded = wire.varint(-1)
    assert len(encoded) == 10
    value, _ = wire.read_varint(encoded, 0)
    assert wire.signed(value, 32) == -1


@settings(max_examples=25, deadline=None)
@given(strategies.api_objects())
def test_every_builtin_object_round_trips(obj: object) -> None:
    """Typed object -> JSON -> protobuf -> JSON -> typed object is the identity.

    (Compared as typed values: protobuf cannot tell an empty list from an absent one,
    exactly as with gogo-protobuf upstream.)
    """
    as_json = scheme.encode(obj)
    # CustomResourceDefinition has no message here (its JSONSchemaProps is JSON-only).
    assume(as_json["kind"] != "CustomResourceDefinition")
    assert scheme.decode(envelope.decode(envelope.encode(as_json))) == obj
