"""Names outside the cluster zone go to the upstream resolvers (`forward . /etc/resolv.conf`).

Two cluster DNS servers on loopback sockets: the upstream serves the zone
`example.test`, the one under test serves `cluster.local` and forwards the rest to
it. `dig` asks over UDP and TCP. No packet leaves 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import pytest

from minicluster.dns.forward import Forwarder, parse_resolv_conf
from minicluster.dns.kubernetes import Kubernetes
from minicluster.dns.message import Header, Message, Question, pack, unpack
from minicluster.dns.rdata import TYPE_A
from minicluster.dns.server import DNSServer, serve

from .test_dns_e2e import dig
from .test_dns_records import make_cluster, service


def test_resolv_conf_nameservers_in_order() -> None:
    text = """# generated
search default.svc.cluster.local svc.cluster.local
nameserver 10.255.255.53
nameserver fe80::1%eth0 ; scoped
nameserver not-an-ip
options ndots:5
nameserver 127.0.0.1"""
    assert parse_resolv_conf(text) == [("10.255.255.53", 53), ("fe80::1", 53), ("127.0.0.1", 53)]
    assert parse_resolv_conf("") == []


def _dead_port() -> int:
    """A UDP port nobody listens on: the kernel answers with ICMP port unreachable."""
    with socket.socket(type=socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def running(server: DNSServer):
    ready = asyncio.Event()
    task = asyncio.ensure_future(serve(server, "127.0.0.1", 0, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield server.port
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _servers(upstreams: list[tuple[str, int]]) -> DNSServer:
    k, ctl = make_cluster()
    ctl.services.add(
        service(
            "default", "ext", [], type="ExternalName", external_name="web.default.svc.example.test"
        )
    )
    return DNSServer(k, Forwarder(upstreams, timeout=2.0))


@pytest.mark.tool("dig")
def test_out_of_zone_queries_are_forwarded_over_udp_and_tcp() -> None:
    async def scenario() -> None:
        k_up, _ = make_cluster()
        upstream = DNSServer(Kubernetes(["example.test"], k_up.api_conn), None)
        async with contextlib.AsyncExitStack() as stack:
            up_port = await stack.enter_async_context(running(upstream))
            port = await stack.enter_async_context(running(_servers([("127.0.0.1", up_port)])))
            for how in ("+notcp", "+tcp"):
                out = await dig(port, how, "web.default.svc.example.test", "A")
                assert out.status == "NOERROR" and out.rdata() == ["10.96.0.10"], out.out
            nx = await dig(port, "nope.default.svc.example.test", "A")
            assert nx.status == "NXDOMAIN" and nx.authority[0].startswith("example.test.")
            # ExternalName pointing outside the zone: CNAME, then the upstream's A.
            ext = await dig(port, "ext.default.svc.cluster.local", "A")
            assert ext.answer == [
                "ext.default.svc.cluster.local. 5 IN CNAME web.default.svc.example.test.",
                "web.default.svc.example.test. 5 IN A 10.96.0.10",
            ]
            # In-zone names are still answered locally.
            local = await dig(port, "web.default.svc.cluster.local", "A")
            assert local.rdata() == ["10.96.0.10"] and "aa" in local.flags

    asyncio.run(scenario())


@pytest.mark.tool("dig")
def test_no_upstream_refuses_and_a_dead_upstream_is_a_servfail() -> None:
    async def scenario() -> None:
        async with running(_servers([])) as port:
            out = await dig(port, "example.com", "A")
            assert out.status == "REFUSED" and out.answer == []
            ptr = await dig(port, "-x", "192.0.2.1")  # fallthrough in-addr.arpa, then nothing
            assert ptr.status == "REFUSED"
        async with running(_servers([("127.0.0.1", _dead_port())])) as port:
            out = await dig(port, "example.com", "A")
            assert out.status == "SERVFAIL"

    asyncio.run(scenario())


def test_tcp_connection_carries_several_queries_and_udp_garbage_gets_formerr() -> None:
    """RFC 1035 4.2.2 framing, two queries pipelined on one connection; then a bad datagram."""

    def query(qid: int, name: str) -> bytes:
        return pack(Message(Header(id=qid, rd=True), (Question(name, TYPE_A),)))

    async def scenario() -> None:
        async with running(_servers([])) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for qid, name in (
                (1, "web.default.svc.cluster.local."),
                (2, "db.default.svc.cluster.local."),
            ):
                q = query(qid, name)
                writer.write(struct.pack("!H", len(q)) + q)
            await writer.drain()
            replies = []
            for _ in range(2):
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                replies.append(unpack(await reader.readexactly(length)))
            writer.close()
            assert [r.header.id for r in replies] == [1, 2]
            assert [len(r.answer) for r in replies] == [1, 2]
            loop = asyncio.get_running_loop()
            with socket.socket(type=socket.SOCK_DGRAM) as s:
                s.setblocking(False)
                await loop.sock_connect(s, ("127.0.0.1", port))
                await loop.sock_sendall(s, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff")
                reply = unpack(await asyncio.wait_for(loop.sock_recv(s, 512), 10))
            assert reply.header.id == 0x1234 and reply.header.rcode == 1 and reply.header.qr

    asyncio.run(scenario())
