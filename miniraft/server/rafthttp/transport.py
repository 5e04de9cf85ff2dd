"""Peer transport: one outgoing TCP stream per peer, length-prefixed raftpb messages.

Plays the role of etcd server/etcdserver/api/rafthttp (Transport, peer,
streamWriter/streamReader, snapshotSender) with a simpler wire: a connection
opens with `R | u64 from | u64 cluster id`, then carries frames
`u32 length | raftpb.Message`. A writer drains everything queued for its peer
into one `writelines` — that is the batching: one syscall carries many appends
and acks — and the receiver steps every complete frame of each chunk it reads. `M` instead of `R` asks for the member list (JSON), which a
joining member uses the way etcd uses GET /members on a peer URL.
Dropped or failed sends report the peer unreachable (and a failed MsgSnap a
snapshot failure) so Raft probes again, as rafthttp does.
Omitted: HTTP, TLS, the pipeline fallback, per-peer rate statistics.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Protocol

from google.protobuf.message import DecodeError

from miniraft.api.raftpb import raft_pb2
from miniraft.raft import Message, MessageType
from miniraft.server.etcdserver.config import host_port
from miniraft.server.rafthttp.coalesce import coalesce
from miniraft.server.raftpb_wire import message_from_pb, message_to_pb

_FRAME = struct.Struct("<I")
_HELLO = struct.Struct("<QQ")
MAX_QUEUE = 4096  # messages waiting for the writer; more are dropped, as etcd does
MAX_FRAME = 512 << 20


class Raft(Protocol):
    """What the transport calls back into (etcd's rafthttp.Raft)."""

    cluster: object

    def process(self, m: Message) -> None: ...
    def report_unreachable(self, node_id: int) -> None: ...
    def report_snapshot(self, node_id: int, ok: bool) -> None: ...


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    (n,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
    if n > MAX_FRAME:
        raise ValueError("frame too large")
    return await reader.readexactly(n)


def frame(data: bytes) -> bytes:
    return _FRAME.pack(len(data)) + data


class Peer:
    """One remote member: a list of messages and a writer task that keeps a connection.

    `send` only appends and wakes the writer; the writer takes everything queued
    by the time it runs (often several Readies' worth), drops what a later queued
    message makes redundant (coalesce.py) and writes the rest with one
    `writelines`, so the receiver too handles many messages per wake-up.
    """

    def __init__(self, t: Transport, peer_id: int, urls: list[str]) -> None:
        self.t = t
        self.id = peer_id
        self.urls = urls
        self.pending: list[Message] = []
        self.writer: asyncio.StreamWriter | None = None
        self.wake = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"peer-{peer_id:x}")

    def send(self, msgs: list[Message]) -> None:
        room = MAX_QUEUE - len(self.pending)
        if room < len(msgs):
            for m in msgs[max(room, 0) :]:
                self._failed(m)  # etcd drops when the stream buffer is full
            msgs = msgs[: max(room, 0)]
        self.pending.extend(msgs)
        self.wake.set()

    def _failed(self, m: Message) -> None:
        self.t.raft.report_unreachable(self.id)
        if m.type == MessageType.MSG_SNAP:
            self.t.raft.report_snapshot(self.id, False)

    async def _connect(self) -> asyncio.StreamWriter:
        host, port = host_port(self.urls[0])
        _, writer = await asyncio.open_connection(host, port)
        writer.write(b"R" + _HELLO.pack(self.t.id, self.t.cluster_id()))
        return writer

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.pending = coalesce(self.pending), []
            if not batch:
                continue
            try:
                if self.writer is None:
                    self.writer = await asyncio.wait_for(self._connect(), 1.0)
                self.writer.writelines([frame(message_to_pb(m).SerializeToString()) for m in batch])
                await self.writer.drain()
            except (TimeoutError, OSError, ValueError):
                if self.writer is not None:
                    self.writer.close()
                self.writer = None
                for m in batch:
                    self._failed(m)
                await asyncio.sleep(0.05)
                continue
            for m in batch:
                if m.type == MessageType.MSG_SNAP:
                    self.t.raft.report_snapshot(self.id, True)

    def stop(self) -> None:
        self.task.cancel()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class Transport:
    def __init__(self, member_id: int, raft: Raft, log) -> None:
        self.id = member_id
        self.raft = raft
        self.log = log
        self.peers: dict[int, Peer] = {}
        self.servers: list[asyncio.AbstractServer] = []
        self.conns: set[asyncio.Transport] = set()

    def cluster_id(self) -> int:
        return self.raft.cluster.cid

    async def start(self, listen_urls: list[str]) -> None:
        for url in listen_urls:
            host, port = host_port(url)
            loop = asyncio.get_running_loop()
            self.servers.append(await loop.create_server(lambda: PeerConn(self), host, port))

    async def stop(self) -> None:
        for s in self.servers:
            s.close()
        for p in self.peers.values():
            p.stop()
        for conn in list(self.conns):
            conn.close()
        self.peers.clear()

    def add_peer(self, peer_id: int, urls: list[str]) -> None:
        old = self.peers.get(peer_id)
        if old is not None:
            if old.urls == urls:
                return
            old.stop()
        self.peers[peer_id] = Peer(self, peer_id, urls)

    def remove_peer(self, peer_id: int) -> None:
        p = self.peers.pop(peer_id, None)
        if p is not None:
            p.stop()

    def send(self, msgs) -> None:
        by_peer: dict[int, list[Message]] = {}
        for m in msgs:
            by_peer.setdefault(m.to, []).append(m)
        for to, ms in by_peer.items():
            p = self.peers.get(to)
            if p is not None:
                p.send(ms)


class PeerConn(asyncio.Protocol):
    """One inbound peer connection (etcd's streamReader): the hello, then raftpb frames.

    A protocol rather than a StreamReader task: every chunk the kernel hands over
    is parsed and stepped inside `data_received`, with no future or task wake-up
    between the socket and Raft.
    """

    def __init__(self, t: Transport) -> None:
        self.t = t
        self.buf = bytearray()  # grows in place: a large MsgSnap arrives in many chunks
        self.hello_done = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.t.conns.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.t.conns.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        try:
            if self.hello_done or self._hello():
                self._frames()
        except (ValueError, DecodeError):  # a stranger or a corrupt frame: hang up
            self.transport.close()

    def _hello(self) -> bool:
        """`M` asks for the member list; `R` + from + cluster ID opens a message stream."""
        kind = bytes(self.buf[:1])
        if kind == b"M":
            self.transport.write(frame(json.dumps(self.t.raft.cluster.to_dict()).encode()))
            self.transport.close()
            return False
        if kind != b"R":
            raise ValueError("unknown stream type")
        if len(self.buf) < 1 + _HELLO.size:
            return False
        frm, cid = _HELLO.unpack_from(self.buf, 1)
        mine = self.t.cluster_id()
        if cid and mine and cid != mine:
            self.t.log.warn("rejected peer from another cluster", peer=f"{frm:x}")
            raise ValueError("cluster ID mismatch")
        del self.buf[: 1 + _HELLO.size]
        self.hello_done = True
        return True

    def _frames(self) -> None:
        """Step every complete frame in the buffer; keep a partial one for later."""
        buf, off, end = self.buf, 0, len(self.buf)
        process = self.t.raft.process
        while end - off >= _FRAME.size:
            (n,) = _FRAME.unpack_from(buf, off)
            if n > MAX_FRAME:
                raise ValueError("frame too large")
            if end - off - _FRAME.size < n:
                break
            start = off + _FRAME.size
            off = start + n
            data = bytes(memoryview(buf)[start:off])
            process(message_from_pb(raft_pb2.Message.FromString(data)))
        del buf[:off]


async def fetch_cluster(peer_urls: list[str], timeout: float = 2.0) -> dict | None:
    """Ask any reachable peer for its member list (a joining member's first step)."""
    for url in peer_urls:
        try:
            host, port = host_port(url)
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            writer.write(b"M")
            await writer.drain()
            data = await asyncio.wait_for(read_frame(reader), timeout)
            writer.close()
            return json.loads(data)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            continue
    return None
