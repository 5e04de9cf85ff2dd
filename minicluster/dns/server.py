"""Cluster DNS on sockets: UDP and TCP listeners around the pure handler, fed by informers.

Mirrors coredns/coredns core/dnsserver/server.go (ServeDNS over `dns://` UDP and
TCP on one port; REFUSED when no zone matches and nothing forwards) and
plugin/kubernetes/controller.go's informer wiring (Services, EndpointSlices and
Namespaces watched; the time of the last change is the SOA serial), with the
server block kubeadm writes into CoreDNS's Corefile: `kubernetes cluster.local
in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa; ttl 5 }`
and `forward . /etc/resolv.conf`.
Omitted: the health, ready, prometheus, cache, loop, reload and loadbalance plugins.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
import time
from dataclasses import replace

from miniapi.core.v1 import Namespace, Service
from miniapi.discovery.v1 import EndpointSlice
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.informers import SharedInformerFactory
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client
from minicluster.dns.controller import DNSControl
from minicluster.dns.forward import Forwarder, read_resolv_conf
from minicluster.dns.handler import Answer, Forward, handle_packet
from minicluster.dns.kubernetes import REVERSE_ZONES, Kubernetes
from minicluster.dns.message import (
    RCODE_REFUSED,
    RCODE_SERVFAIL,
    Message,
    pack,
    reply_to,
    truncate,
    unpack,
)
from minicluster.dns.wire import FormatError

__all__ = ["DNSServer", "run_dns", "serve"]

log = logging.getLogger("minicluster.dns")

# A TCP client that sends nothing for this long is disconnected (CoreDNS's idle timeout).
TCP_IDLE_TIMEOUT = 10.0


class DNSServer:
    """Turns a received packet into the bytes to send back, forwarding when needed."""

    def __init__(self, k: Kubernetes, forwarder: Forwarder | None) -> None:
        self.k = k
        self.forwarder = forwarder
        self.port = 0  # the bound port, once serve() has bound it

    async def respond(self, data: bytes, tcp: bool) -> bytes | None:
        """The reply to send for one packet (None: send nothing); SERVFAIL if we fail."""
        try:
            return await self._respond(data, tcp)
        except Exception:
            # A bug must cost one query, not the server: answer as CoreDNS does on a plugin error.
            log.exception("query failed")
            try:
                return pack(reply_to(unpack(data), RCODE_SERVFAIL))
            except FormatError:
                return None

    async def _respond(self, data: bytes, tcp: bool) -> bytes | None:
        outcome = handle_packet(self.k, data)
        if outcome is None:
            return None
        if isinstance(outcome, Forward):
            return await self._forward(outcome, data, tcp)
        message = await self._chase(outcome)
        # TCP replies are cut only at the 2-octet length limit; UDP ones at the client's size.
        return truncate(message, 0xFFFF if tcp else outcome.udp_size)

    async def _forward(self, outcome: Forward, data: bytes, tcp: bool) -> bytes:
        if not self.forwarder or not self.forwarder.upstreams:
            return pack(reply_to(outcome.request, RCODE_REFUSED))
        raw = await self.forwarder.forward(data, tcp)
        if raw is None:
            return pack(reply_to(outcome.request, RCODE_SERVFAIL))
        return raw

    async def _chase(self, outcome: Answer) -> Message:
        """Append the upstream's records for CNAME targets outside the zone (Upstream.Lookup).

        Upstream drops the CNAME when this lookup fails; here it stays, alone.
        """
        message = outcome.message
        if not outcome.chase or not self.forwarder:
            return message
        extra = []
        for name, qtype in outcome.chase:
            extra += await self.forwarder.lookup(name, qtype)
        return replace(message, answer=(*message.answer, *extra))


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._answer(data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self.server.respond(data, tcp=False)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)


async def _serve_tcp_conn(
    server: DNSServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Queries on one TCP connection, each with a 2-octet length prefix (RFC 1035 4.2.2)."""
    try:
        while True:
            prefix = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_TIMEOUT)
            data = await reader.readexactly(struct.unpack("!H", prefix)[0])
            reply = await server.respond(data, tcp=True)
            if reply is None:
                break
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(
    server: DNSServer, host: str, port: int, ready: asyncio.Event | None = None
) -> None:
    """Listen on UDP and TCP host:port (port 0: one free port for both) until cancelled.

    `server.port` is set to the bound port before ready is set.
    """
    loop = asyncio.get_running_loop()
    udp, tcp = await _bind_both(loop, server, host, port)
    try:
        server.port = udp.get_extra_info("sockname")[1]
        log.info("cluster DNS serving on udp+tcp %s:%d", host, server.port)
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        udp.close()
        tcp.close()
        await tcp.wait_closed()


async def _bind_both(loop: asyncio.AbstractEventLoop, server: DNSServer, host: str, port: int):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(20):
        udp, _proto = await loop.create_datagram_endpoint(
            lambda: _UDPProtocol(server), local_addr=(host, port), family=family
        )
        bound = udp.get_extra_info("sockname")[1]
        try:
            tcp = await asyncio.start_server(
                lambda r, w: _serve_tcp_conn(server, r, w), host, bound, family=family
            )
            return udp, tcp
        except OSError:
            udp.close()
            if port:
                raise
    raise OSError(f"no port free on {host} for both UDP and TCP")


def _local_ips(host: str) -> tuple[str, ...]:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return ()
    return () if ip.is_unspecified else (str(ip),)


async def run_dns(
    kubeconfig: str,
    host: str,
    port: int,
    cluster_domain: str = "cluster.local",
    ready: asyncio.Event | None = None,
) -> None:
    """Cluster DNS for the API server in kubeconfig on host:port; runs until cancelled.

    ready is set once the informers have synced and both sockets are bound.
    """
    async with Client(load_kubeconfig(kubeconfig)) as client:
        factory = SharedInformerFactory(client)
        informers = [factory.for_resource(kind) for kind in (Service, EndpointSlice, Namespace)]
        ctl = DNSControl(*(i.indexer for i in informers))

        def touch(*_: object) -> None:
            ctl.modified = int(time.time())

        for informer in informers:
            informer.add_event_handler(ResourceEventHandlerFuncs(touch, touch, touch))
        factory.start()
        try:
            await factory.wait_for_cache_sync()
            zones = [cluster_domain, *REVERSE_ZONES]
            k = Kubernetes(zones, ctl, local_ips=_local_ips(host))
            own = {(h, port) for h in _local_ips(host)}
            upstreams = [u for u in read_resolv_conf() if u not in own]
            await serve(DNSServer(k, Forwarder(upstreams)), host, port, ready)
        finally:
            with contextlib.suppress(Exception):
                await factory.shutdown()
