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

from miniraft.api.raftpb import raft_pb2
from miniraft.raft import Message, MessageType
from miniraft.server.etcdserver.config import host_port
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
    by the time it runs (often several Readies' worth) and writes it with one
    `writelines`, so the receiver too handles many messages per wake-up.
    """

    def __init__(self, t: Transport, peer_id: int, urls: list[str]) -> None:
        self.t = t
        self.id = peer_id
        self.urls = urls
        self.pending: list[Message] = []
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
        writer = None
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.pending = self.pending, []
            if not batch:
                continue
            try:
                if writer is None:
                    writer = await asyncio.wait_for(self._connect(), 1.0)
                writer.writelines([frame(message_to_pb(m).SerializeToString()) for m in batch])
                await writer.drain()
            except (TimeoutError, OSError, ValueError):
                if writer is not None:
                    writer.close()
                writer = None
                for m in batch:
                    self._failed(m)
                await asyncio.sleep(0.05)
                continue
            for m in batch:
                if m.type == MessageType.MSG_SNAP:
                    self.t.raft.report_snapshot(self.id, True)

    def stop(self) -> None:
        self.task.cancel()


class Transport:
    def __init__(self, member_id: int, raft: Raft, log) -> None:
        self.id = member_id
        self.raft = raft
        self.log = log
        self.peers: dict[int, Peer] = {}
        self.servers: list[asyncio.AbstractServer] = []
        self.conns: set[asyncio.Task] = set()

    def cluster_id(self) -> int:
        return self.raft.cluster.cid

    async def start(self, listen_urls: list[str]) -> None:
        for url in listen_urls:
            host, port = host_port(url)
            self.servers.append(await asyncio.start_server(self._serve, host, port))

    async def stop(self) -> None:
        for s in self.servers:
            s.close()
        for p in self.peers.values():
            p.stop()
        for t in list(self.conns):
            t.cancel()
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

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.conns.add(task)
        try:
            kind = await reader.readexactly(1)
            if kind == b"M":
                body = json.dumps(self.raft.cluster.to_dict()).encode()
                writer.write(frame(body))
                await writer.drain()
                return
            if kind != b"R":
                return
            frm, cid = _HELLO.unpack(await reader.readexactly(_HELLO.size))
            mine = self.cluster_id()
            if cid and mine and cid != mine:
                self.log.warn("rejected peer from another cluster", peer=f"{frm:x}")
                return
            await self._read_messages(reader)
        except (asyncio.IncompleteReadError, OSError, ValueError):
            pass
        finally:
            self.conns.discard(task)
            writer.close()

    async def _read_messages(self, reader: asyncio.StreamReader) -> None:
        """Step every complete frame that arrived, one read (not two) per chunk."""
        buf = bytearray()  # grows in place: a large MsgSnap arrives in many chunks
        while True:
            chunk = await reader.read(1 << 18)
            if not chunk:
                return
            buf += chunk
            off, end = 0, len(buf)
            while end - off >= _FRAME.size:
                (n,) = _FRAME.unpack_from(buf, off)
                if n > MAX_FRAME:
                    raise ValueError("frame too large")
                if end - off - _FRAME.size < n:
                    break
                start = off + _FRAME.size
                off = start + n
                data = bytes(memoryview(buf)[start:off])
                self.raft.process(message_from_pb(raft_pb2.Message.FromString(data)))
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
