"""Watch streams: protobuf framing over a real socket, one encoding per event, batching.

With `Accept: application/vnd.kubernetes.protobuf;stream=watch` the stream is what
client-go's protobuf watch decoder expects (apimachinery codec_factory.go: the stream
serializer is protobuf's RawSerializer with the LengthDelimitedFramer): each frame is a
4-byte big-endian length, then a metav1.WatchEvent in raw protobuf (no `k8s\\x00`
envelope) whose `object` RawExtension holds the object as the non-stream serializer
writes it (`k8s\\x00` + runtime.Unknown). Field numbers from upstream's generated.proto:
meta/v1 WatchEvent {type = 1; object = 2}, runtime RawExtension {raw = 1}.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl

import pytest
import urllib3

from miniapi.scheme import SCHEME
from miniapiserver.cacher.cache_watcher import CacheWatcher
from miniapiserver.cacher.watch_cache import WatchCache
from miniapiserver.endpoints import negotiation
from miniapiserver.endpoints.handlers import watch_encoder
from miniapiserver.endpoints.handlers.rest import RequestScope
from miniapiserver.endpoints.negotiation import MediaType
from miniapiserver.protobuf import envelope, wire
from miniapiserver.protobuf.codec import messages
from miniapiserver.storage.interfaces import ADDED, EVERYTHING

pytestmark = pytest.mark.tool("etcd")

PROTOBUF_WATCH = "application/vnd.kubernetes.protobuf;stream=watch"


def _request(apiserver, method: str, path: str, body: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    pool = urllib3.PoolManager(ca_certs=apiserver.ca, cert_reqs="CERT_REQUIRED")
    headers = {"Authorization": f"Bearer {apiserver.token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    r = pool.request(method, apiserver.url + path, body=data, headers=headers)
    assert r.status < 300, r.data
    return json.loads(r.data)


def _dechunk(raw: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = raw.index(b"\r\n", pos)
        size = int(raw[pos:end], 16)
        if size == 0:
            return bytes(out)
        out += raw[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


def _raw_watch(apiserver, path: str) -> tuple[bytes, bytes]:  # type: ignore[no-untyped-def]
    """GET path over TLS on a plain socket until the server ends the stream: (head, body)."""
    host, port = apiserver.url.removeprefix("https://").rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=apiserver.ca)
    plain = socket.create_connection((host, int(port)), timeout=30)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {apiserver.token}"
        f"\r\nAccept: {PROTOBUF_WATCH}\r\n\r\n"
    )
    data = bytearray()
    with plain, ctx.wrap_socket(plain, server_hostname=host) as tls:
        tls.sendall(request.encode())
        # until the last chunk (the server ends the watch at timeoutSeconds)
        while not data.endswith(b"\r\n0\r\n\r\n"):
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return head, _dechunk(body)


def _frames(stream: bytes) -> list[tuple[str, dict]]:
    """Length-delimited frames -> (type, object) pairs, decoded field by field."""
    out, pos = [], 0
    while pos < len(stream):
        size = int.from_bytes(stream[pos : pos + 4], "big")
        frame = stream[pos + 4 : pos + 4 + size]
        pos += 4 + size
        assert not frame.startswith(b"k8s\x00")  # the stream serializer is the raw one
        event = {n: v for n, _, v in wire.fields(frame)}
        assert set(event) == {1, 2}
        raw = dict((n, v) for n, _, v in wire.fields(event[2]))  # type: ignore[arg-type]
        assert set(raw) == {1}
        out.append((event[1].decode(), envelope.decode(raw[1])))  # type: ignore[union-attr, arg-type]
    return out


def test_watch_event_field_numbers_match_upstream() -> None:
    """generated.proto: WatchEvent{optional string type = 1; optional RawExtension object = 2}."""
    table = messages()["meta.v1.WatchEvent"]
    assert {n: (f.json_name, f.type) for n, f in table.items()} == {
        1: ("type", "string"),
        2: ("object", "RawExtension"),
    }


def test_protobuf_watch_frames_over_a_socket(apiserver) -> None:  # type: ignore[no-untyped-def]
    ns = f"pbwatch-{os.getpid()}"
    _request(apiserver, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    base = f"/api/v1/namespaces/{ns}/configmaps"
    rv = _request(apiserver, "GET", base)["metadata"]["resourceVersion"]
    _request(apiserver, "POST", base, {"metadata": {"name": "cm"}, "data": {"k": "v1"}})
    current = _request(apiserver, "GET", f"{base}/cm")
    current["data"] = {"k": "v2"}
    _request(apiserver, "PUT", f"{base}/cm", current)
    _request(apiserver, "DELETE", f"{base}/cm")
    query = f"?watch=1&resourceVersion={rv}&timeoutSeconds=2&allowWatchBookmarks=true"
    head, body = _raw_watch(apiserver, base + query)
    status, *headers = head.decode().split("\r\n")
    assert status.startswith("HTTP/1.1 200")
    assert f"Content-Type: {PROTOBUF_WATCH}" in headers
    events = _frames(body)
    changes = [(t, o["kind"], o["metadata"]["name"], o.get("data")) for t, o in events[:3]]
    assert changes == [
        ("ADDED", "ConfigMap", "cm", {"k": "v1"}),
        ("MODIFIED", "ConfigMap", "cm", {"k": "v2"}),
        ("DELETED", "ConfigMap", "cm", {"k": "v2"}),
    ]
    assert all(o["apiVersion"] == "v1" for _, o in events)
    # the rest are bookmarks (every 300 ms here): the kind, and only a resourceVersion
    assert events[3:], "no bookmark in 2 s"
    for t, o in events[3:]:
        assert t == "BOOKMARK" and o["kind"] == "ConfigMap"
        assert int(o["metadata"]["resourceVersion"]) >= int(
            events[2][1]["metadata"]["resourceVersion"]
        )


def test_protobuf_watch_too_old_is_an_error_frame(apiserver) -> None:  # type: ignore[no-untyped-def]
    """A watch from behind the 50-event cache: 200, then one ERROR frame holding a 410 Status."""
    ns = f"pbgone-{os.getpid()}"
    _request(apiserver, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    first = _request(
        apiserver, "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "c0"}}
    )
    for i in range(1, 55):
        _request(
            apiserver,
            "POST",
            f"/api/v1/namespaces/{ns}/configmaps",
            {"metadata": {"name": f"c{i}"}},
        )
    old = int(first["metadata"]["resourceVersion"]) - 1
    head, body = _raw_watch(
        apiserver, f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={old}"
    )
    assert head.startswith(b"HTTP/1.1 200")
    [(kind, status)] = _frames(body)
    assert kind == "ERROR" and status["kind"] == "Status"
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert "too old resource version" in status["message"]


def _scope(media: str):  # type: ignore[no-untyped-def]
    """The parts of a request scope the encoders read: the resource and the negotiated type."""
    info = next(i for i in SCHEME.resources() if i.resource == "configmaps")
    return RequestScope(None, None, info, None, MediaType(media))  # type: ignore[arg-type]


@pytest.mark.parametrize("media", [negotiation.JSON, negotiation.PROTOBUF])
def test_each_event_is_encoded_once_for_all_its_watchers(media: str) -> None:
    """cachingObject: a hundred watchers of one event write the very same bytes object."""
    cache = WatchCache(10)
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}
    ev = cache.process_event(ADDED, "configmaps/n/a", obj, 5)
    watchers = [CacheWatcher([], EVERYTHING, "configmaps/", 10) for _ in range(100)]
    for w in watchers:
        w.add(ev)
    content_type, encode = watch_encoder.negotiate(_scope(media))
    frames = [encode(e, True) for w in watchers for e in w.drain()]
    assert len(frames) == 100 and all(f is frames[0] for f in frames)
    if media == negotiation.PROTOBUF:
        assert content_type == PROTOBUF_WATCH
        assert _frames(frames[0]) == [("ADDED", obj)]
    else:
        assert content_type == "application/json"
        assert json.loads(frames[0]) == {"type": "ADDED", "object": obj}


def test_a_busy_stream_gathers_one_interval_of_events_and_a_quiet_one_does_not() -> None:
    """next_batch's linger: what handlers/watch.py's FLUSH_INTERVAL relies on."""
    cache = WatchCache(10)
    w = CacheWatcher([], EVERYTHING, "configmaps/", 10)

    def put(name: str, rv: int) -> None:
        obj = {"metadata": {"name": name, "namespace": "n"}}
        w.add(cache.process_event(ADDED, f"configmaps/n/{name}", obj, rv))

    async def run() -> tuple[list[str], list[str]]:
        loop = asyncio.get_running_loop()
        put("a", 1)
        quiet = await w.next_batch(linger=0.05, busy_until=loop.time() - 1)
        put("b", 2)
        loop.call_later(0.01, put, "c", 3)  # arrives while the busy stream lingers
        busy = await w.next_batch(linger=0.05, busy_until=loop.time() + 1)
        return [e.object["metadata"]["name"] for e in quiet], [
            e.object["metadata"]["name"] for e in busy
        ]

    assert asyncio.run(run()) == (["a"], ["b", "c"])
