"""What the main process and a worker process say to each other, and the socket pair between them.

Plays the part of source/common/thread_local/thread_local_impl.cc (SlotImpl::set posts one
immutable value to every worker's dispatcher; workers only read it), of the cross-thread posts
in source/common/upstream/outlier_detection_impl.cc (a worker's result is handed to the main
thread, which owns the detector) and of source/common/stats/thread_local_store.cc (the admin
reads one merged view of every worker's stats). Envoy's workers are threads sharing memory;
ours are processes, so every one of those hand-overs is a message here: msgspec structs,
msgpack-encoded, each frame a 4-byte big-endian length and its bytes. A listen socket travels
as SCM_RIGHTS ancillary data next to the `ListenSocket` frame that names it, and so does the
shared-memory segment's memfd next to `SharedMemory`.
Omitted: flow control (frames are small and each side drains its end from its event loop).
"""

from __future__ import annotations

import socket
import struct

import msgspec

_LEN = struct.Struct(">I")


class HostState(msgspec.Struct, frozen=True, array_like=True):
    """One host of a cluster as the main process sees it (membership + health flags)."""

    address: str
    port: int
    weight: int
    hostname: str
    health_flags: int


class ClusterState(msgspec.Struct, frozen=True, array_like=True):
    config: bytes  # serialized envoy.config.cluster.v3.Cluster (deterministic)
    added_via_api: bool
    hosts: list[HostState]


class ListenerState(msgspec.Struct, frozen=True, array_like=True):
    config: bytes  # serialized envoy.config.listener.v3.Listener (deterministic)
    socket_key: str  # which of the worker's listen sockets serves it


class Snapshot(msgspec.Struct, frozen=True, tag="snapshot"):
    """Main → worker: the whole configuration; the worker rebuilds only what changed."""

    version: int
    clusters: dict[str, ClusterState]
    route_configs: dict[str, bytes]  # RDS name → serialized RouteConfiguration
    listeners: dict[str, ListenerState]
    blocks: dict[str, int]  # shared-segment key (cluster/<name>, ratelimit/<digest>) → block


class ListenSocket(msgspec.Struct, frozen=True, tag="socket"):
    """Main → worker: this worker's own SO_REUSEPORT socket (the fd rides with the frame)."""

    key: str


class SharedMemory(msgspec.Struct, frozen=True, tag="shm"):
    """Main → worker, once: the server's shared segment (its memfd rides with the frame)."""

    workers: int
    capacity: int


class StatsRequest(msgspec.Struct, frozen=True, tag="stats_request"):
    seq: int


class HistogramData(msgspec.Struct, frozen=True, array_like=True):
    counts: list[int]
    sum: float
    count: int
    samples: list[float]


class StatsReply(msgspec.Struct, frozen=True, tag="stats"):
    """Worker → main: every stat of the worker's store, and its per-host counters."""

    seq: int
    counters: dict[str, int]
    gauges: dict[str, int]
    derived: dict[str, int]
    histograms: dict[str, HistogramData]
    hosts: dict[str, dict[str, list[int]]]  # cluster → host address → HostStats fields


class OutlierResults(msgspec.Struct, frozen=True, tag="outlier"):
    """Worker → main: request outcomes for clusters with outlier_detection, batched per loop
    iteration: (cluster, host address, HTTP status | "connect_failure" | "timeout")."""

    results: list[tuple[str, str, int | str]]


class Applied(msgspec.Struct, frozen=True, tag="applied"):
    """Worker → main: the snapshot `version` now serves traffic on this worker."""

    version: int


Message = (
    Snapshot | ListenSocket | SharedMemory | StatsRequest | StatsReply | OutlierResults | Applied
)
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Message)


def encode(msg: Message) -> bytes:
    body = _encoder.encode(msg)
    return _LEN.pack(len(body)) + body


class FrameReader:
    """Cuts a byte stream into decoded messages (pure: feed bytes, get messages)."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[Message]:
        self.buf += data
        out = []
        while len(self.buf) >= 4:
            (n,) = _LEN.unpack_from(self.buf)
            if len(self.buf) < 4 + n:
                break
            out.append(_decoder.decode(self.buf[4 : 4 + n]))
            self.buf = self.buf[4 + n :]
        return out


class Channel:
    """One end of the socket pair, read from an event loop, written synchronously.

    Writes block: frames are small and the peer drains its end from its own loop, so a write
    never waits for long (and it keeps `send` callable from any callback)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setblocking(True)
        self.reader = FrameReader()
        self.fds: list[int] = []  # received descriptors, in arrival order

    def send(self, msg: Message, fds: list[int] | None = None) -> None:
        data = encode(msg)
        if fds:
            sent = socket.send_fds(self.sock, [data], fds)
            data = data[sent:]
        if data:
            self.sock.sendall(data)

    def read(self) -> list[Message] | None:
        """Called when readable: the messages now complete, or None at end of stream."""
        data, fds, _flags, _addr = socket.recv_fds(self.sock, 1 << 18, 16)
        self.fds.extend(fds)
        if not data:
            return None
        return self.reader.feed(data)

    def close(self) -> None:
        self.sock.close()
