"""The Kubernetes protobuf envelope: `k8s\\x00` + runtime.Unknown.

Mirrors k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go
(Serializer.Decode/Encode): a body of `application/vnd.kubernetes.protobuf`
starts with the 4-byte magic, then a runtime.Unknown whose typeMeta
(apiVersion, kind) names the message in raw. Omitted: the RawSerializer used
for streaming watch frames (watch events are served as JSON).
"""

from __future__ import annotations

from typing import Any

from miniapiserver.protobuf import wire
from miniapiserver.protobuf.codec import CodecError, decode_message, encode_message, messages

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

# API group -> the short package name used in messages.txt (k8s.io.api.<short>.<version>).
GROUP_PACKAGES = {
    "": "core",
    "apps": "apps",
    "batch": "batch",
    "policy": "policy",
    "autoscaling": "autoscaling",
    "rbac.authorization.k8s.io": "rbac",
    "authorization.k8s.io": "authorization",
    "authentication.k8s.io": "authentication",
    "coordination.k8s.io": "coordination",
    "discovery.k8s.io": "discovery",
    "networking.k8s.io": "networking",
    "scheduling.k8s.io": "scheduling",
    "events.k8s.io": "events",
    "meta.k8s.io": "meta",
}
META_KINDS = ("Status", "DeleteOptions", "WatchEvent", "APIResourceList", "APIGroupList")


def message_name(api_version: str, kind: str) -> str:
    """The protobuf message for a GVK, e.g. ("apps/v1", "Deployment") -> apps.v1.Deployment."""
    group, _, version = api_version.rpartition("/")
    if kind in META_KINDS:
        return f"meta.v1.{kind}"
    package = GROUP_PACKAGES.get(group)
    name = f"{package}.{version}.{kind}"
    if package is None or name not in messages():
        raise CodecError(f"no kind {kind!r} is registered for version {api_version!r}")
    return name


def _type_meta(data: bytes) -> tuple[str, str]:
    api_version, kind = "", ""
    for number, _, value in wire.fields(data):
        if number == 1:
            api_version = value.decode()  # type: ignore[union-attr]
        elif number == 2:
            kind = value.decode()  # type: ignore[union-attr]
    return api_version, kind


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body -> the object's JSON-shaped dict (with apiVersion/kind)."""
    if not body.startswith(MAGIC):
        raise CodecError(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    api_version, kind, raw = "", "", b""
    try:
        for number, _, value in wire.fields(body[len(MAGIC) :]):
            if number == 1:
                api_version, kind = _type_meta(value)  # type: ignore[arg-type]
            elif number == 2:
                raw = value  # type: ignore[assignment]
            elif number == 3 and value:
                raise CodecError(f"unsupported content encoding {value!r}")
    except wire.WireError as e:
        raise CodecError(str(e)) from None
    if not kind:
        raise CodecError("Object 'Kind' is missing in protobuf envelope")
    obj = decode_message(message_name(api_version, kind), raw)
    return {"apiVersion": api_version, "kind": kind, **obj}


def encode(obj: dict[str, Any]) -> bytes:
    """The object's dict -> `k8s\\x00` + Unknown{typeMeta, raw}."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    raw = encode_message(message_name(api_version, kind), obj)
    type_meta = wire.length_field(1, api_version.encode()) + wire.length_field(2, kind.encode())
    unknown = wire.length_field(1, type_meta) + wire.length_field(2, raw)
    return MAGIC + unknown
