"""The peer transport over real loopback sockets: order, member-list fetch, bad input.

Two `Transport`s in one event loop; what a member would do with the messages
is recorded by a small receiver implementing rafthttp's `Raft` callbacks.
A stranger's hello (another cluster ID), an unknown stream type or a frame
that is not a raftpb.Message must close that connection without stepping
anything, and the member keeps serving its real peers.
"""

from __future__ import annotations

import asyncio
import io
import struct

from miniraft.raft import Entry, Message, MessageType
from miniraft.server.logutil import Logger
from miniraft.server.procs import free_ports
from miniraft.server.rafthttp.transport import Transport, fetch_cluster, frame


class Cluster:
    def __init__(self, cid: int) -> None:
        self.cid = cid

    def to_dict(self) -> dict:
        return {"cluster_id": self.cid}


class Receiver:
    """What EtcdServer does with the transport's callbacks, recorded."""

    def __init__(self, cid: int) -> None:
        self.cluster = Cluster(cid)
        self.got: list[Message] = []
        self.arrived = asyncio.Event()
        self.unreachable: list[int] = []

    def process(self, m: Message) -> None:
        self.got.append(m)
        self.arrived.set()

    def report_unreachable(self, node_id: int) -> None:
        self.unreachable.append(node_id)

    def report_snapshot(self, node_id: int, ok: bool) -> None:
        pass


async def until(pred, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def raw(port: int, payload: bytes) -> bytes:
    """Send bytes on a fresh connection; return what arrives until the member hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


async def scenario() -> None:
    pa, pb_ = free_ports(2)
    ra, rb = Receiver(7), Receiver(7)
    a = Transport(1, ra, Logger("a", io.StringIO()))
    b = Transport(2, rb, Logger("b", io.StringIO()))
    await a.start([f"http://127.0.0.1:{pa}"])
    await b.start([f"http://127.0.0.1:{pb_}"])
    try:
        a.add_peer(2, [f"http://127.0.0.1:{pb_}"])
        ents = tuple(Entry(term=3, index=i, data=b"x" * i) for i in range(1, 40))
        sent = [
            Message(type=MessageType.MSG_APP, to=2, frm=1, term=3, index=i, entries=ents[:i])
            for i in range(30)
        ] + [Message(type=MessageType.MSG_HEARTBEAT, to=2, frm=1, term=3, commit=5)]
        for i in range(0, len(sent), 7):  # several Readies' worth, queued back to back
            a.send(sent[i : i + 7])
        await until(lambda: len(rb.got) == len(sent))
        assert rb.got == sent

        assert await fetch_cluster([f"http://127.0.0.1:{pb_}"]) == {"cluster_id": 7}

        stranger = b"R" + struct.pack("<QQ", 9, 8)  # cluster 8 is not ours
        assert await raw(pb_, stranger + frame(b"\x08\x03")) == b""
        assert await raw(pb_, b"X" + b"\0" * 16) == b""
        corrupt = b"R" + struct.pack("<QQ", 9, 7) + frame(b"\xff\xff\xff")
        assert await raw(pb_, corrupt) == b""
        assert len(rb.got) == len(sent)  # none of that was stepped

        hb = Message(type=MessageType.MSG_HEARTBEAT, to=2, frm=1, term=3, commit=6)
        a.send([hb])
        await until(lambda: rb.got[-1] == hb)
    finally:
        await a.stop()
        await b.stop()


def test_transport_order_member_list_and_bad_input() -> None:
    asyncio.run(scenario())
