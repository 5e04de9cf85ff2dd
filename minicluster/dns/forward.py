"""Send queries outside the cluster zone to the host's resolvers (`forward . /etc/resolv.conf`).

Mirrors coredns/coredns plugin/forward (forward.go: try the upstreams in turn,
SERVFAIL when none answers; connect.go: the same transport the client used, UDP
or TCP with the 2-octet length prefix of RFC 1035 section 4.2.2) and
plugin/pkg/parse's reading of resolv.conf `nameserver` lines. The client's
packet goes upstream unchanged, so the upstream's reply (same ID) goes back
unchanged too.
Omitted: health checks, the random/round_robin policies (this is `policy
sequential`), connection reuse, DNS over TLS, the loop plugin (an upstream equal
to our own listening address is skipped instead).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import struct
from pathlib import Path

from minicluster.dns.message import RR, Header, Message, Question, unpack
from minicluster.dns.message import pack as pack_message
from minicluster.dns.wire import FormatError

__all__ = ["Forwarder", "exchange_tcp", "exchange_udp", "parse_resolv_conf", "read_resolv_conf"]

DNS_PORT = 53
# How long one upstream gets before the next is tried (forward's default read timeout is 2 s).
DEFAULT_TIMEOUT = 2.0


def parse_resolv_conf(text: str) -> list[tuple[str, int]]:
    """The (address, 53) of every valid `nameserver` line, in order."""
    out = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            try:
                out.append((str(ipaddress.ip_address(fields[1].split("%", 1)[0])), DNS_PORT))
            except ValueError:
                continue
    return out


def read_resolv_conf(path: str = "/etc/resolv.conf") -> list[tuple[str, int]]:
    """parse_resolv_conf of a file; no file means no upstreams."""
    try:
        return parse_resolv_conf(Path(path).read_text())
    except OSError:
        return []


class _OneReply(asyncio.DatagramProtocol):
    def __init__(self, want_id: bytes) -> None:
        self.want_id = want_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        # Only a reply with our query's ID counts; stray datagrams are ignored.
        if data[:2] == self.want_id and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def exchange_udp(data: bytes, upstream: tuple[str, int], timeout: float) -> bytes:
    """One query over UDP to upstream; its reply or an OSError/TimeoutError."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _OneReply(data[:2]), remote_addr=upstream
    )
    try:
        transport.sendto(data)
        return await asyncio.wait_for(proto.reply, timeout)
    finally:
        transport.close()


async def exchange_tcp(data: bytes, upstream: tuple[str, int], timeout: float) -> bytes:
    """One query over TCP (length-prefixed) to upstream."""

    async def go() -> bytes:
        reader, writer = await asyncio.open_connection(*upstream)
        try:
            writer.write(struct.pack("!H", len(data)) + data)
            await writer.drain()
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            return await reader.readexactly(length)
        finally:
            writer.close()

    return await asyncio.wait_for(go(), timeout)


class Forwarder:
    """The upstream resolvers, asked in order until one answers."""

    def __init__(
        self,
        upstreams: list[tuple[str, int]],
        timeout: float = DEFAULT_TIMEOUT,
        rng: random.Random | None = None,
    ) -> None:
        self.upstreams = upstreams
        self.timeout = timeout
        self.rng = rng or random.Random()

    async def forward(self, data: bytes, tcp: bool) -> bytes | None:
        """The first upstream reply to the client's own packet, or None if all failed."""
        exchange = exchange_tcp if tcp else exchange_udp
        for upstream in self.upstreams:
            try:
                return await exchange(data, upstream, self.timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                continue
        return None

    async def lookup(self, name: str, qtype: int) -> list[RR]:
        """The answer records for name/qtype (Upstream.Lookup), [] when nobody answers."""
        query = Message(Header(id=self.rng.randrange(1 << 16), rd=True), (Question(name, qtype),))
        raw = await self.forward(pack_message(query), tcp=False)
        if raw is None:
            return []
        try:
            return list(unpack(raw).answer)
        except FormatError:
            return []
