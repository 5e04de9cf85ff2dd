"""Watch events on the wire: newline-delimited JSON, or length-prefixed protobuf frames.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/watch.go (watchEncoder: the object is
encoded by the embedded encoder, then wrapped in a metav1.WatchEvent for the stream
encoder), apimachinery/pkg/apis/meta/v1/watch.go (WatchEvent{Type, Object RawExtension}),
apimachinery/pkg/runtime/serializer/codec_factory.go (the protobuf stream serializer is the
*raw* one: no `k8s\\x00` envelope around the WatchEvent, while the embedded object keeps
its envelope), protobuf.go's LengthDelimitedFramer (a 4-byte big-endian length before each
frame) and json's Framer (one document per line). With the cache event's serialization
cache (caching_object.go's CacheEncode), each event is encoded once per encoding and type,
and every watcher of it writes the same bytes.
Omitted: CBOR and websocket framing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from miniapiserver.endpoints import negotiation
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.rest import RequestScope
from miniapiserver.protobuf import envelope, wire
from miniapiserver.storage.interfaces import BOOKMARK, ERROR, Event

JSON_STREAM = "application/json"
PROTOBUF_STREAM = "application/vnd.kubernetes.protobuf;stream=watch"

_json = msgspec.json.Encoder()

Encoder = Callable[[Event, bool], bytes]  # (event, first of this watch) -> one frame


def watch_event_proto(kind: str, raw: bytes) -> bytes:
    """metav1.WatchEvent in protobuf: type = 1, object = 2 (a RawExtension, raw = 1)."""
    return wire.length_field(1, kind.encode()) + wire.length_field(2, wire.length_field(1, raw))


def length_delimited(frame: bytes) -> bytes:
    """LengthDelimitedFramer: the frame's length as 4 big-endian bytes, then the frame."""
    return len(frame).to_bytes(4, "big") + frame


def _bookmark_object(scope: RequestScope, ev: Event) -> dict[str, Any]:
    gvk = scope.resource.gvk
    return {
        "kind": gvk.kind,
        "apiVersion": f"{gvk.group}/{gvk.version}" if gvk.group else gvk.version,
        "metadata": ev.object["metadata"],
    }


def _shareable(scope: RequestScope, ev: Event) -> bool:
    """Whether ev's bytes are the same for every watcher (no per-request conversion)."""
    custom = getattr(scope.resource, "crd_name", "")
    return ev.cache is not None and ev.type not in (BOOKMARK, ERROR) and not custom


def json_encoder(scope: RequestScope) -> Encoder:
    def encode(ev: Event, first: bool) -> bytes:
        if not scope.output.convert and _shareable(scope, ev):
            key = "json " + ev.type
            frame = ev.cache.get(key)  # type: ignore[union-attr]
            if frame is None:
                frame = _json.encode({"type": ev.type, "object": ev.object}) + b"\n"
                ev.cache[key] = frame  # type: ignore[index]
            return frame
        if ev.type == BOOKMARK:
            obj = _bookmark_object(scope, ev)
        elif ev.type == ERROR:
            obj = ev.object
        else:
            obj = convert.event_object(scope, ev.object, first)
        return _json.encode({"type": ev.type, "object": obj}) + b"\n"

    return encode


def protobuf_encoder(scope: RequestScope) -> Encoder:
    def encode(ev: Event, first: bool) -> bytes:
        if _shareable(scope, ev):
            key = "protobuf " + ev.type
            frame = ev.cache.get(key)  # type: ignore[union-attr]
            if frame is None:
                raw = watch_event_proto(ev.type, envelope.encode(ev.object))
                frame = ev.cache[key] = length_delimited(raw)  # type: ignore[index]
            return frame
        obj = _bookmark_object(scope, ev) if ev.type == BOOKMARK else ev.object
        return length_delimited(watch_event_proto(ev.type, envelope.encode(obj)))

    return encode


def negotiate(scope: RequestScope) -> tuple[str, Encoder]:
    """The stream's content type and encoder (NegotiateOutputMediaTypeStream).

    Protobuf when the client asked for it and the kind has a protobuf message; a kind
    without one (a custom resource) is streamed as JSON, as responses are.
    """
    if scope.output.type == negotiation.PROTOBUF and not scope.output.convert:
        gvk = scope.resource.gvk
        api_version = f"{gvk.group}/{gvk.version}" if gvk.group else gvk.version
        try:
            envelope.message_name(api_version, gvk.kind)
        except envelope.CodecError:
            return JSON_STREAM, json_encoder(scope)
        if not getattr(scope.resource, "crd_name", ""):
            return PROTOBUF_STREAM, protobuf_encoder(scope)
    return JSON_STREAM, json_encoder(scope)
